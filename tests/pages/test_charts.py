"""Every chart in each of its states, in Chromium, on a service of its own (the shared one has
rehearsals from other tests, and "nothing yet" is a state a council sees first): empty, in
progress and complete. Each state passes axe-core, says in its sentence what it draws, and is
photographed (test-output/screenshots/chart-*.png) so a person can look at the pictures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.pages.browser import (
    PASSWORD,
    SCREENSHOTS,
    Site,
    accessibility_problems,
    sign_in,
)
from tests.pages.conftest import started_site

pytestmark = pytest.mark.slow

STEERING = (("chart-sg-lead", "Marisol Quayle"), ("chart-sg-dcs", "Dafydd Penhallow"))


@pytest.fixture(scope="module")
def site(browser_parts: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A service of this module's own, with nobody in it yet."""
    with started_site(tmp_path_factory.mktemp("charts-site"), "charts") as started:
        yield started


def picture(page: Any, selector: str, name: str) -> None:
    """A picture of one chart's frame (its sentence, the chart and its figures)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"chart-{name}.png"
    page.locator(selector).screenshot(path=str(path))
    assert path.stat().st_size > 1000, path


def announce(site: Site, *, drill: bool, ago: timedelta = timedelta(0)) -> str:
    with site.api() as api:
        made = api.post(
            "/api/v1/inspections",
            json={"notified_at": (datetime.now(UTC) - ago).isoformat(), "drill": drill},
        )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def ack_links(site: Site, inspection_id: str) -> dict[str, str]:
    links = {}
    with site.api() as api:
        for contact_id, _ in STEERING:
            messages = api.get("/api/v1/outbox", params={"contact_id": contact_id}).json()
            mine = [m for m in messages["items"] if m.get("inspection_id") == inspection_id]
            found = re.search(r"(/ack/[A-Za-z0-9._-]+)", mine[0]["body"])
            assert found is not None
            links[contact_id] = found.group(1)
    return links


def acknowledge(tab: Any, link: str) -> None:
    tab.page.goto(link)
    tab.page.click("button:has-text('I have received this')")
    tab.page.wait_for_load_state()


def test_each_chart_empty_in_progress_and_complete(site: Site, new_tab: Any) -> None:
    site.make_user("chart-viewer", "viewer", name="Rosalind Achterberg")
    tab = new_tab()
    page = tab.page
    sign_in(page, "chart-viewer", PASSWORD)
    problems: list[str] = []

    def state(path: str, selector: str, name: str, sentence: str, *, drawn: bool) -> None:
        page.goto(path)
        page.wait_for_load_state()
        frame = page.locator(selector)
        assert sentence in frame.inner_text(), (name, frame.inner_text())
        assert frame.locator("svg.app-chart").count() == (1 if drawn else 0), name
        if drawn:
            assert frame.locator("svg.app-chart > title").count() == 1
            assert frame.locator("svg.app-chart > desc").count() == 1
        picture(page, selector, name)
        problems.extend(accessibility_problems(page, name))

    def cascade(inspection_id: str, name: str, sentence: str, *, drawn: bool) -> None:
        """The cascade's chart in one state, on the dashboard and on the report."""
        for path, where in (
            (f"/inspections/{inspection_id}", "dashboard"),
            (f"/inspections/{inspection_id}/report", "report"),
        ):
            state(path, "#cascade-over-time", f"cascade-{where}-{name}", sentence, drawn=drawn)
            series = page.locator("#cascade-over-time g#series-steering-acknowledged")
            assert series.count() == (1 if drawn else 0)

    # Empty: no rehearsal yet; then a rehearsal of a tree with nobody in it.
    state(
        "/rehearsals",
        "#rehearsals-trend",
        "rehearsals-empty",
        "No rehearsal has been run yet.",
        drawn=False,
    )
    nobody = announce(site, drill=True)
    cascade(nobody, "empty", "Nobody is in this cascade yet.", drawn=False)

    # In progress: two in the steering group, messaged, one of them acknowledged.
    with site.api() as api:
        for contact_id, name in STEERING:
            made = api.post(
                "/api/v1/contacts",
                json={"id": contact_id, "name": name, "email": f"{contact_id}@example.org"},
            )
            assert made.status_code == 201, made.text
    drill = announce(site, drill=True)
    links = ack_links(site, drill)
    other = new_tab()
    acknowledge(other, links["chart-sg-lead"])
    cascade(drill, "in-progress", "50% acknowledged within 15 minutes", drawn=True)
    state(
        "/rehearsals",
        "#rehearsals-trend",
        "rehearsals-in-progress",
        "2 rehearsals; in the latest, 50% acknowledged within 15 minutes (up from 0%).",
        drawn=True,
    )

    # Complete: everyone acknowledged.
    acknowledge(other, links["chart-sg-dcs"])
    cascade(drill, "complete", "All 2 people reached in", drawn=True)
    assert "100% acknowledged within 15 minutes" in page.inner_text("#cascade-over-time")
    state(
        f"/inspections/{drill}/report",
        "#rehearsals-trend",
        "rehearsals-in-a-report",
        "in the latest, 100% acknowledged within 15 minutes (up from 0%)",
        drawn=True,
    )
    assert page.locator("#rehearsals-table tr[aria-current=true]").count() == 1

    # The plan at a glance: an inspection called nine days ago, nothing done: tasks overdue.
    late = announce(site, drill=False, ago=timedelta(days=9))
    state(
        f"/inspections/{late}", "#plan-burndown", "plan-burndown-in-progress", "0 of ", drawn=True
    )
    state(
        f"/inspections/{late}",
        "#plan-overdue",
        "plan-overdue-in-progress",
        "overdue; most with",
        drawn=True,
    )
    # Complete: every task done, so nothing is overdue and the bars go.
    with site.api() as api:
        tasks = api.get(f"/api/v1/inspections/{late}/tasks", params={"limit": 200}).json()
        assert tasks["next_cursor"] is None
        for task in tasks["items"]:
            done = api.patch(
                f"/api/v1/inspections/{late}/tasks/{task['id']}", json={"status": "done"}
            )
            assert done.status_code == 200, done.text
    total = len(tasks["items"])
    state(
        f"/inspections/{late}",
        "#plan-burndown",
        "plan-burndown-complete",
        f"{total} of {total} tasks done",
        drawn=True,
    )
    assert page.locator("#plan-overdue").count() == 0
    assert problems == []
    assert tab.problems == [] and other.problems == []
