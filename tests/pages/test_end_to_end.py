"""The whole morning in Chromium: sign in, import the tree, map a role, announce, watch the
dashboard reach everyone on the outbox channel, acknowledge one message from its link, see the
dashboard change, and mark a task done. A screenshot of every step with SCREENSHOTS=1."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.pages.browser import PASSWORD, Site, accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow

LONDON = ZoneInfo("Europe/London")
TREE = """id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes
e2e-lead,Harriet Oyelaran,Director,e2e-lead@example.org,07700 900123,,,steering_group,email,0
e2e-hos,Tomasz Wójcik,Head of service,e2e-hos@example.org,07700 900124,e2e-lead,,,email,0
e2e-sm1,Priya Natarajan,Service manager,e2e-sm1@example.org,07700 900125,e2e-hos,,,email,0
e2e-sm2,Amelia Brooks,Service manager,e2e-sm2@example.org,07700 900126,e2e-hos,,,email,0
e2e-tm1,Precious Okafor,Team manager,e2e-tm1@example.org,07700 900127,e2e-sm1,,,email,0
e2e-tm2,Daniel Achterberg,Team manager,e2e-tm2@example.org,07700 900128,e2e-sm2,,,email,0
"""
PEOPLE = 6
ACK_LINK = re.compile(r"/ack/[A-Za-z0-9_.~=-]+")


def close_any_live_inspection(site: Site) -> None:
    """Another test may have announced a real inspection; only one can be live at a time."""
    today = datetime.now(LONDON).date().isoformat()
    with site.api() as api:
        listed = api.get("/api/v1/inspections", params={"drill": "false", "limit": 500})
        assert listed.status_code == 200, listed.text
        for item in listed.json()["items"]:
            api.post(
                f"/api/v1/inspections/{item['id']}/milestones",
                json={"key": "closed", "date": today},
            )


def figure(page: Any, element_id: str) -> int:
    return int(page.locator(f"#{element_id}").inner_text().strip())


def wait_for(page: Any, element_id: str, wanted: int, seconds: float = 60) -> None:
    """Reload until the dashboard shows the figure (the page updates itself too)."""
    deadline = time.monotonic() + seconds
    while figure(page, element_id) != wanted:
        assert time.monotonic() < deadline, f"#{element_id} stayed {figure(page, element_id)}"
        page.wait_for_timeout(1000)
        page.reload()


def test_the_whole_morning(site: Site, new_tab: Any, tmp_path: Path) -> None:
    close_any_live_inspection(site)
    site.make_user("e2e-admin", "admin", name="Harriet Oyelaran")
    tab = new_tab()
    page = tab.page
    sign_in(page, "e2e-admin", PASSWORD)
    screenshot(page, "e2e-01-signed-in")

    # Import the tree: a preview first, then the import.
    tree = tmp_path / "tree.csv"
    tree.write_text(TREE, encoding="utf-8")
    page.goto("/contacts/import")
    page.get_by_label("Contacts file").set_input_files(str(tree))
    page.get_by_label("Deactivate people missing from this file").check()
    page.get_by_role("button", name="Preview changes").click()
    page.wait_for_load_state()
    screenshot(page, "e2e-02-import-preview")
    assert accessibility_problems(page, "e2e import preview") == []
    page.get_by_role("button", name="Import these contacts").click()
    page.wait_for_load_state()
    screenshot(page, "e2e-03-imported")

    # Map a role to a person on the roles page.
    page.goto("/roles")
    page.select_option("#contact-logistics_lead", "e2e-hos")
    page.click("#save-logistics_lead")
    page.wait_for_load_state()
    assert "is now Tomasz Wójcik" in page.content()
    screenshot(page, "e2e-04-role-mapped")

    # Announce.
    now = datetime.now(LONDON)
    page.goto("/announce")
    page.fill("input[name='call_date-day']", str(now.day))
    page.fill("input[name='call_date-month']", str(now.month))
    page.fill("input[name='call_date-year']", str(now.year))
    page.get_by_label("Time of the call").fill(now.strftime("%H:%M"))
    page.get_by_label("Lead inspector").fill("Harriet Oyelaran")
    screenshot(page, "e2e-05-announce")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    screenshot(page, "e2e-06-announce-confirm")
    page.get_by_role("button", name="Announce the inspection").click()
    page.wait_for_load_state()
    found = re.search(r"/inspections/([0-9a-f-]{36})", page.url)
    assert found, page.url
    inspection_id = found.group(1)
    if not page.url.rstrip("/").endswith(inspection_id):
        page.goto(f"/inspections/{inspection_id}")

    # The dashboard reaches everyone on the outbox channel.
    assert figure(page, "cascade-total") == PEOPLE
    wait_for(page, "cascade-reached", PEOPLE)
    acknowledged = figure(page, "cascade-acknowledged")
    screenshot(page, "e2e-07-dashboard-reached")
    assert accessibility_problems(page, "e2e dashboard") == []

    # One person acknowledges from the link in their message.
    page.goto("/outbox")
    screenshot(page, "e2e-08-outbox")
    links = ACK_LINK.findall(page.content())
    assert links, "no acknowledgement link on the outbox page"
    person = new_tab().page
    person.goto(links[0])
    person.get_by_role("button", name="I have received this").click()
    person.wait_for_load_state()
    screenshot(person, "e2e-09-acknowledged")

    page.goto(f"/inspections/{inspection_id}")
    wait_for(page, "cascade-acknowledged", acknowledged + 1)
    screenshot(page, "e2e-10-dashboard-acknowledged")

    # Mark a task done.
    page.goto(f"/inspections/{inspection_id}/tasks")
    screenshot(page, "e2e-11-tasks")
    button = page.get_by_role("button", name="Mark done").first
    row_id = button.locator("xpath=ancestor::tr").get_attribute("id")
    button.click()
    page.wait_for_load_state()
    assert "is done" in page.locator(".govuk-notification-banner").inner_text()
    assert page.locator(f"#{row_id}").get_attribute("data-status") == "done"
    screenshot(page, "e2e-12-task-done")
    assert tab.problems == []
