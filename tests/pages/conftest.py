"""Fixtures for the browser tests. They skip, saying why, when Chromium or node_modules is
missing; under CI=true that is a failure instead. A failing test's open tabs are saved as
screenshots (test-output/screenshots/failed-<test>-<n>.png)."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.pages.browser import (
    AXE,
    CHROMIUM,
    Site,
    first_start_secrets,
    missing_parts,
    save_screenshot,
)
from tests.processes import Server, server_env

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, Any]:
    """Note a failed test on its item, for `new_tab` to save pictures of its tabs."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def browser_parts() -> None:
    problem = missing_parts()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true but the browser tests cannot run: {problem}")
        pytest.skip(problem)


@contextmanager
def started_site(workdir: Path, name: str) -> Iterator[Site]:
    """The real service (`inspection-week serve`) on a fresh SQLite file, as a person would
    start it; its first start prints the admin's one-time password, which the tests use."""
    server = Server(
        # Webhook targets on loopback only (a ping from the pages must never leave the machine).
        server_env(
            f"sqlite:///{workdir}/inspection-week.db",
            SCHEDULER_TICK_SECONDS=1,
            WEBHOOK_ALLOW_HTTP="true",
            WEBHOOK_ALLOW_PRIVATE="true",
        ),
        workdir,
        name=name,
    )
    server.env["PUBLIC_BASE_URL"] = server.url
    try:
        server.start()
        key, password = first_start_secrets(server.log())
        yield Site(server=server, admin_key=key, admin_one_time_password=password)
    except BaseException:
        print(f"--- {server.log_path.name} ---\n{server.log()}")
        raise
    finally:
        server.close()


@pytest.fixture(scope="session")
def site(browser_parts: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One service shared by the browser tests (each test makes users and data of its own)."""
    with started_site(tmp_path_factory.mktemp("pages-site"), "pages") as started:
        yield started


@pytest.fixture(scope="session")
def browser(browser_parts: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


class Tab:
    """One browser tab of its own (fresh cookies), noting script errors and CSP refusals."""

    def __init__(self, browser: Any, site: Site):
        self.context = browser.new_context(
            base_url=site.url, viewport={"width": 1280, "height": 900}
        )
        self.context.add_init_script(path=str(AXE))
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused" in text):
            self.problems.append(f"{self.page.url}: {text}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def new_tab(request: pytest.FixtureRequest, browser: Any, site: Site) -> Iterator[Any]:
    """Opens tabs for a test (each its own browser profile), closed at the end; pictures of them
    first when the test failed."""
    opened: list[Tab] = []

    def open_tab() -> Tab:
        tab = Tab(browser, site)
        opened.append(tab)
        return tab

    yield open_tab
    if request.node.stash.get(FAILED, False):
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        for number, tab in enumerate(opened, start=1):
            try:
                save_screenshot(tab.page, f"failed-{test}-{number}")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of tab {number}: {exc}")
    for tab in opened:
        tab.close()


@pytest.fixture
def tab(new_tab: Any) -> Any:
    return new_tab()
