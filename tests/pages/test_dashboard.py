"""The home page, the inspections list and the dashboard in Chromium: each page in its states
passes axe-core, the dashboard's figures change by themselves when someone acknowledges (server-
sent events, announced politely to screen readers), and its Refresh link works by keyboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow


def rehearsal_with(site: Site, contact_id: str, name: str) -> tuple[str, str]:
    """A steering-group member, a drill announced over the API, and that person's link."""
    with site.api() as api:
        made = api.post(
            "/api/v1/contacts",
            json={"id": contact_id, "name": name, "email": f"{contact_id}@example.org"},
        )
        assert made.status_code == 201, made.text
        drill = api.post(
            "/api/v1/inspections",
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
        assert drill.status_code == 201, drill.text
        messages = api.get("/api/v1/outbox", params={"contact_id": contact_id}).json()
    mine = [m for m in messages["items"] if m.get("inspection_id") == drill.json()["id"]]
    link = re.search(r"(/ack/[A-Za-z0-9._-]+)", (mine or messages["items"])[0]["body"])
    assert link is not None
    return drill.json()["id"], link.group(1)


def number(page: Any, element_id: str) -> int:
    return int(page.locator(f"#{element_id}").inner_text().strip())


def test_the_dashboard_pages_pass_axe_and_update_by_themselves(site: Site, new_tab: Any) -> None:
    site.make_user("dash-viewer", "viewer", name="Amelia Brooks")
    tab = new_tab()
    page = tab.page
    sign_in(page, "dash-viewer", PASSWORD)
    problems: list[str] = []

    def check(name: str) -> None:
        page.wait_for_load_state()
        screenshot(page, name)
        problems.extend(accessibility_problems(page, name))

    page.goto("/inspections")
    check("dashboard-inspections-list")

    inspection_id, link = rehearsal_with(site, "dash-sg-lead", "Kwame Baird")
    page.goto("/")
    check("dashboard-home")
    page.goto("/inspections")
    assert page.locator(f"a[href='/inspections/{inspection_id}']").count() == 1
    check("dashboard-inspections-list-with-data")

    page.goto(f"/inspections/{inspection_id}")
    assert "EXERCISE" in page.locator(".govuk-notification-banner").inner_text()
    for week in (1, 2, 3, 4):
        assert page.locator(f"#week-{week} th[scope=col]").count() == 5
    check("dashboard-rehearsal")
    # The stream has connected when the script marks the section live.
    page.wait_for_selector("#cascade[data-live=on]", timeout=10_000)
    acknowledged = number(page, "cascade-acknowledged")

    other = new_tab()
    other.page.goto(link)
    other.page.click("button:has-text('I have received this')")
    other.page.wait_for_load_state()

    # No reload: the figure and the polite live region change by themselves.
    page.wait_for_function(
        "n => Number(document.getElementById('cascade-acknowledged').textContent) > n",
        arg=acknowledged,
        timeout=15_000,
    )
    assert number(page, "cascade-acknowledged") == acknowledged + 1
    live = page.locator("#cascade-live")
    assert live.get_attribute("aria-live") == "polite"
    page.wait_for_function(
        "() => document.getElementById('cascade-live').textContent.includes('acknowledged')",
        timeout=5_000,
    )
    # The chart drawn on the server is fetched again and put in place: one more acknowledged.
    page.wait_for_selector("#cascade-over-time-slot[data-redrawn]", timeout=10_000)
    share = round(100 * number(page, "cascade-acknowledged") / number(page, "cascade-total"))
    page.wait_for_function(
        "text => document.getElementById('cascade-over-time-summary').textContent.includes(text)",
        arg=f"{share}% acknowledged within 15 minutes",
        timeout=10_000,
    )
    assert page.locator("#cascade-over-time svg.app-chart title").count() == 1
    check("dashboard-rehearsal-after-an-acknowledgement")

    page.goto(f"/inspections/{inspection_id}/broken")
    check("dashboard-broken-people")
    page.goto("/inspections/no-such-inspection")
    check("dashboard-not-found")
    assert problems == []
    assert tab.problems == [] and other.problems == []


def test_the_refresh_link_works_by_keyboard_alone(site: Site, new_tab: Any) -> None:
    site.make_user("dash-keyboard", "viewer", name="Owen Pritchard")
    inspection_id, _ = rehearsal_with(site, "dash-keyboard-sg", "Ines Rhys")
    page = new_tab().page
    sign_in(page, "dash-keyboard", PASSWORD)
    page.goto(f"/inspections/{inspection_id}")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        if focused == "cascade-refresh":
            break
    else:
        pytest.fail("the Refresh link cannot be reached with the Tab key")
    # Focus is visible: GOV.UK's yellow focus state.
    background = page.evaluate("getComputedStyle(document.activeElement).backgroundColor")
    assert background == "rgb(255, 221, 0)"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/inspections/{inspection_id}\?at=\d+#cascade$"))
    assert page.locator("#cascade-reached").is_visible()
