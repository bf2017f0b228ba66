"""The Calendar page in Chromium against the real service: a lead makes the inspection's feed, the
address shown once is fetched over HTTP on loopback as a calendar app would, parsed by
`icalendar` and `vobject`; revoking it from the page makes the address answer 404. axe-core
checks the page before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import icalendar
import pytest
import vobject

from tests.pages.browser import PASSWORD, Site, accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow


def test_a_lead_makes_a_feed_a_calendar_reads_it_and_revoking_stops_it(
    site: Site, tab: Any
) -> None:
    with site.api() as api:
        reply = api.post(
            "/api/v1/inspections",
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
        assert reply.status_code == 201, reply.text
        inspection = reply.json()
    site.make_user("cal-lead", "lead", name="Harriet Oyelaran")
    page = tab.page
    sign_in(page, "cal-lead", PASSWORD)
    problems: list[str] = []

    page.goto(f"/inspections/{inspection['id']}")
    page.click("a:has-text('Calendar feeds')")
    page.wait_for_load_state()
    screenshot(page, "calendar-feeds")
    problems += accessibility_problems(page, "calendar feeds")

    page.select_option("#contact-id", "")  # the whole inspection
    page.click("button:has-text('Make feed')")
    page.wait_for_load_state()
    screenshot(page, "calendar-feed-made")
    problems += accessibility_problems(page, "calendar feed made")
    url = page.locator("#feed-url").inner_text()
    assert url.startswith(site.url + "/calendar/") and url.endswith(".ics")
    webcal = page.locator("#feed-webcal").get_attribute("href")
    assert webcal == "webcal://" + url.split("://", 1)[1]

    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(fetched.content)
    on_site = {
        event["DTSTART"].dt
        for event in calendar.walk("VEVENT")
        if str(event["UID"]).startswith("onsite-")
    }
    expected = {
        datetime.fromisoformat(day).date()
        for phase in inspection["phases"]
        if phase["on_site"]
        for day in phase["days"]
    }
    assert on_site == expected and len(expected) == inspection["on_site_days"]
    parsed = vobject.readOne(fetched.text)
    assert parsed.x_wr_calname.value.startswith("Rehearsal from")
    assert {e.uid.value for e in parsed.vevent_list} == {
        str(e["UID"]) for e in calendar.walk("VEVENT")
    }
    assert all(str(e["SUMMARY"]).startswith("EXERCISE: ") for e in calendar.walk("VEVENT"))

    page.goto(f"/inspections/{inspection['id']}/calendar")
    assert url not in page.content()
    page.locator("form[action$='/revoke'] button").first.click()
    page.wait_for_load_state()
    assert "The feed is revoked" in page.content()
    assert httpx.get(url, timeout=10).status_code == 404

    assert problems == [] and tab.problems == [], "\n".join(problems + tab.problems)
