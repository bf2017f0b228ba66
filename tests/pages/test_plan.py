"""The plan pages in Chromium: tasks, one task with an error, roles and the case audit with an
error, each checked with axe-core (and screenshotted with SCREENSHOTS=1); marking a task done by
keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow


def test_the_plan_pages_are_accessible_and_work_by_keyboard(site: Site, tab: Any) -> None:
    with site.api() as api:
        reply = api.post(
            "/api/v1/inspections",
            json={
                "framework": "sif-2013",
                "notified_at": datetime.now(UTC).isoformat(),
                "lead_inspector": "Harriet Oyelaran",
                "drill": True,
            },
        )
        assert reply.status_code == 201, reply.text
        inspection_id = reply.json()["id"]
    site.make_user("plan-coordinator", "coordinator", name="Tomasz Wójcik")
    page = tab.page
    sign_in(page, "plan-coordinator", PASSWORD)
    problems: list[str] = []

    page.goto("/roles")
    screenshot(page, "plan-roles")
    problems += accessibility_problems(page, "roles")

    page.goto(f"/inspections/{inspection_id}/tasks")
    screenshot(page, "plan-tasks")
    problems += accessibility_problems(page, "tasks")
    page.click("button:has-text('Add the task')")  # nothing filled in
    assert page.locator(".govuk-error-summary a[href='#new-title']").count() == 1
    screenshot(page, "plan-tasks-errors")
    problems += accessibility_problems(page, "tasks with errors")

    page.goto(f"/inspections/{inspection_id}/tasks")
    page.locator(".app-task-table a.govuk-link").first.click()
    page.wait_for_load_state()
    page.check("input[name=status][value=blocked]")
    page.click("button:has-text('Save the status')")
    assert page.locator(".govuk-error-summary a[href='#blocked-reason']").count() == 1
    screenshot(page, "plan-task-errors")
    problems += accessibility_problems(page, "task with errors")

    page.goto(f"/inspections/{inspection_id}/audit")
    screenshot(page, "plan-audit")
    problems += accessibility_problems(page, "audit")
    page.fill("#references", "Amelia Jones")
    page.click("button:has-text('Add the cases')")
    assert page.locator(".govuk-error-summary a[href='#references']").count() == 1
    screenshot(page, "plan-audit-errors")
    problems += accessibility_problems(page, "audit with errors")
    page.fill("#references", "CIN-004512")
    page.click("button:has-text('Add the cases')")
    page.goto(f"/inspections/{inspection_id}/audit/report")
    assert page.locator("#report-cases").get_by_text("CIN-004512").count() == 1
    screenshot(page, "plan-audit-report")
    problems += accessibility_problems(page, "audit report")
    assert problems == []

    # Keyboard only: focus the first "Mark done" button and press Enter.
    page.goto(f"/inspections/{inspection_id}/tasks")
    button = page.get_by_role("button", name="Mark done").first
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "is done" in page.locator(".govuk-notification-banner").inner_text()
    assert tab.problems == []
