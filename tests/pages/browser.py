"""Browser-test helpers: the real service as a process on a fresh SQLite file, Debian's Chromium
driven by playwright (the Python package, pointed at /usr/bin/chromium: no browser download),
axe-core from node_modules, and screenshots under test-output/screenshots/: of every page a test
names when SCREENSHOTS=1, otherwise only of a failing test's tabs."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import Server, run_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
GOVUK_CSS = (
    PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk" / "govuk-frontend.min.css"
)
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
SCREENSHOTS_WANTED = os.environ.get("SCREENSHOTS", "").lower() in {"1", "true", "yes"}
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
PASSWORD = "violet teapot harbour"


def missing_parts() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (scripts/test installs Debian's chromium package)"
    if not AXE.is_file() or not GOVUK_CSS.is_file():
        return "node_modules is not installed (scripts/test runs npm ci)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@dataclass
class Site:
    """The service under test, started once for the browser tests."""

    server: Server
    admin_key: str
    admin_one_time_password: str
    _made: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.server.url

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """An `inspection-week` command on the site's database (run in this process)."""
        return run_cli(*args, env=self.server.env, cwd=self.server.workdir, stdin=stdin)

    def make_user(
        self,
        username: str,
        role: str,
        name: str = "Harriet Oyelaran",
        password: str | None = PASSWORD,
    ) -> str:
        """Create a user with the CLI; the password to sign in with."""
        assert username not in self._made, f"{username} is already used by another test"
        self._made.add(username)
        args = ["users", "create", "--username", username, "--name", name, "--role", role]
        if password is None:
            return self.cli(*args).strip().splitlines()[-1]
        self.cli(*args, "--password-stdin", stdin=password)
        return password

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=10
        )


def first_start_secrets(log: str) -> tuple[str, str]:
    """The admin API key and the admin's one-time password, as `serve` printed them."""
    key = re.search(r"admin API key.*\n(iw_\S+)", log)
    password = re.search(r"one-time password.*\n(\S+)", log)
    assert key and password, log
    return key.group(1), password.group(1)


def screenshot(page: Any, name: str) -> Path | None:
    """A picture of the page as `name`, when SCREENSHOTS=1 asks for one of every page (a full
    page costs a noticeable part of a second; a failing test's tabs are saved anyway)."""
    return save_screenshot(page, name) if SCREENSHOTS_WANTED else None


def save_screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


def accessibility_problems(page: Any, name: str) -> list[str]:
    """Serious and critical WCAG 2.2 AA violations axe-core finds on the page, one line each.
    axe is injected by the context's init script (not a <script> tag: the pages' CSP would
    rightly refuse one)."""
    violations = page.evaluate(AXE_RUN, WCAG_22_AA)
    return [
        f"{name}: {v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'][:5])}"
        for v in violations
        if v["impact"] in BLOCKING
    ]


def sign_in(page: Any, username: str, password: str) -> None:
    """Through the form, as a person would (by mouse: the keyboard has a test of its own)."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button.govuk-button:has-text('Sign in')")
    page.wait_for_load_state()


def summary_links(page: Any) -> list[tuple[str, str]]:
    """(href, text) of the links in the GOV.UK error summary."""
    links = page.locator(".govuk-error-summary__list a")
    return [
        (links.nth(i).get_attribute("href"), links.nth(i).inner_text().strip())
        for i in range(links.count())
    ]
