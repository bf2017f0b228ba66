"""Announcing, rehearsing, the timeline, the audit log, the rehearsal report and the closure
days in Chromium: each page in its states (empty, with data, with errors) checked by axe-core
(and screenshotted with SCREENSHOTS=1), and the announce flow done by keyboard alone."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.pages.browser import (
    PASSWORD,
    Site,
    accessibility_problems,
    screenshot,
    sign_in,
    summary_links,
)

pytestmark = pytest.mark.slow

LONDON = ZoneInfo("Europe/London")
FOCUSED = """() => {
  const e = document.activeElement;
  return e.id || e.getAttribute('href') || e.textContent.trim();
}"""
INSPECTION_URL = re.compile(r"/inspections/([0-9a-f-]{36})$")


def close_live(site: Site) -> None:
    """Only one real inspection can be live; another test may have left one."""
    today = datetime.now(LONDON).date().isoformat()
    with site.api() as api:
        listed = api.get("/api/v1/inspections", params={"drill": "false", "limit": 500})
        assert listed.status_code == 200, listed.text
        for item in listed.json()["items"]:
            if item["status"] != "closed":
                api.post(
                    f"/api/v1/inspections/{item['id']}/milestones",
                    json={"key": "closed", "date": today},
                )


def check(page: Any, name: str) -> None:
    screenshot(page, name)
    assert accessibility_problems(page, name) == []


def tab_to(page: Any, wanted: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == wanted:
            return
    pytest.fail(f"Tab never reached {wanted}")


def test_announcing_by_keyboard_alone(site: Site, tab: Any) -> None:
    close_live(site)
    site.make_user("announce-keys", "lead", name="Priya Natarajan")
    page = tab.page
    sign_in(page, "announce-keys", PASSWORD)
    page.goto("/announce")
    check(page, "announce-form")
    keys = page.keyboard
    tab_to(page, "framework")
    tab_to(page, "lead-inspector")
    keys.type("Harriet Oyelaran")
    tab_to(page, "continue")
    keys.press("Enter")
    page.locator("h1:has-text('Check before announcing the inspection')").wait_for()
    check(page, "announce-confirm")
    tab_to(page, "start")
    screenshot(page, "announce-confirm-focus")
    try:
        keys.press("Enter")
        page.wait_for_url(INSPECTION_URL)
    finally:
        close_live(site)
    assert tab.problems == []


def test_announce_errors_and_a_rehearsal(site: Site, tab: Any) -> None:
    site.make_user("announce-mouse", "admin", name="Tomasz Wójcik")
    page = tab.page
    sign_in(page, "announce-mouse", PASSWORD)
    page.goto("/announce")
    page.fill("#call-date-month", "13")
    page.fill("#call-time", "later")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert [href for href, _ in summary_links(page)] == ["#call-date-day", "#call-time"]
    check(page, "announce-errors")
    page.click(".govuk-error-summary__list a[href='#call-time']")
    assert page.evaluate(FOCUSED) == "call-time"

    page.goto("/rehearsal")
    assert "EXERCISE" in page.content()
    check(page, "rehearsal-form")
    page.get_by_label("Lead inspector").fill("Amelia Brooks")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    check(page, "rehearsal-confirm")
    page.get_by_role("button", name="Start the rehearsal").click()
    page.wait_for_url(INSPECTION_URL)
    drill_id = INSPECTION_URL.search(page.url).group(1)  # type: ignore[union-attr]

    page.goto(f"/inspections/{drill_id}/timeline")
    assert "Drill announced" in page.content()
    check(page, "timeline")
    page.click("#report-link")
    page.wait_for_url(f"**/inspections/{drill_id}/report")
    assert "Rehearsal report" in page.content()
    check(page, "rehearsal-report")
    page.goto("/timeline")
    check(page, "timeline-latest")
    page.goto("/audit-log")
    assert "Signed in" in page.content()
    check(page, "audit-log")
    assert tab.problems == []


def test_closure_days(site: Site, tab: Any) -> None:
    site.make_user("closure-keeper", "coordinator", name="Femi Adeyemi")
    page = tab.page
    sign_in(page, "closure-keeper", PASSWORD)
    page.goto("/settings")
    check(page, "settings")
    page.get_by_role("button", name="Add closure day").click()
    page.wait_for_load_state()
    assert [href for href, _ in summary_links(page)] == ["#date-day", "#reason"]
    check(page, "settings-errors")
    page.fill("#date-day", "29")
    page.fill("#date-month", "12")
    page.fill("#date-year", "2031")
    page.fill("#reason", "Christmas closure")
    page.get_by_role("button", name="Add closure day").click()
    page.wait_for_load_state()
    assert "29 December 2031 added as a closure day" in page.content()
    check(page, "settings-with-closure-day")
    page.click("#remove-2031-12-29")
    page.wait_for_load_state()
    check(page, "settings-remove-confirm")
    page.get_by_role("button", name="Remove closure day").click()
    page.wait_for_load_state()
    assert "29 December 2031 is no longer a closure day" in page.content()
    assert tab.problems == []
