"""axe-core (WCAG 2.2 A and AA rules) over every page, in each state a person meets it (with
errors, after a change, refused), in Chromium: no serious or critical violation, no script
error, no Content-Security-Policy refusal. Each page is saved as a screenshot with SCREENSHOTS=1."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.pages.browser import (
    PASSWORD,
    Site,
    accessibility_problems,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.slow


def ack_path(site: Site) -> str:
    """A real acknowledgement link: a contact, a drill announced over the API, the link from
    the message in the outbox."""
    with site.api() as api:
        made = api.post(
            "/api/v1/contacts",
            json={"id": "a11y-contact", "name": "Harriet Oyelaran", "email": "ho@example.org"},
        )
        assert made.status_code == 201, made.text
        drill = api.post(
            "/api/v1/inspections",
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
        assert drill.status_code == 201, drill.text
        messages = api.get("/api/v1/outbox", params={"contact_id": "a11y-contact"}).json()
    link = re.search(r"(/ack/[A-Za-z0-9._-]+)", messages["items"][0]["body"])
    assert link is not None
    return link.group(1)


def test_every_page_passes_axe(site: Site, new_tab: Any) -> None:
    problems: list[str] = []
    visited: list[str] = []

    def check(page: Any, name: str) -> None:
        page.wait_for_load_state()
        visited.append(name)
        screenshot(page, name)
        problems.extend(accessibility_problems(page, name))

    def submit(page: Any, button: str) -> None:
        page.click(f"button:has-text('{button}')")

    # Signed out, and the public acknowledgement pages.
    public = new_tab()
    page = public.page
    page.goto("/login")
    check(page, "a11y-sign-in")
    submit(page, "Sign in")
    check(page, "a11y-sign-in-errors")
    link = ack_path(site)
    page.goto(link)
    check(page, "a11y-ack-confirm")
    submit(page, "I have received this")
    check(page, "a11y-ack-thank-you")
    page.goto("/ack/not-a-real-link")
    check(page, "a11y-ack-not-valid")

    # A new admin: first password, then every admin page.
    one_time = site.make_user("a11y-admin", "admin", name="Tomasz Wójcik", password=None)
    admin = new_tab()
    page = admin.page
    sign_in(page, "a11y-admin", one_time)
    check(page, "a11y-create-a-new-password")
    submit(page, "Save password")
    check(page, "a11y-create-a-new-password-errors")
    page.fill("#current-password", one_time)
    page.fill("#new-password", PASSWORD)
    page.fill("#confirm-password", PASSWORD)
    submit(page, "Save password")
    check(page, "a11y-dashboard-after-password")
    page.goto("/account/password")
    check(page, "a11y-change-password")
    page.goto("/users")
    check(page, "a11y-users")
    page.goto("/users/new")
    check(page, "a11y-add-a-user")
    submit(page, "Add user")
    check(page, "a11y-add-a-user-errors")
    page.fill("#username", "a11y-new")
    page.fill("#display-name", "Precious Okafor")
    page.check("input[name=role][value=viewer]")
    submit(page, "Add user")
    check(page, "a11y-user-added")
    page.goto("/users")
    page.click("#reset-a11y-new")
    check(page, "a11y-password-reset")
    page.goto("/users")
    page.click("#deactivate-a11y-new")
    check(page, "a11y-users-after-deactivating")
    page.evaluate(
        "document.querySelector('form[action$=\"/reset-password\"]').action = "
        "'/users/nobody/reset-password'"
    )
    page.locator("form[action$='/reset-password'] button").first.click()
    check(page, "a11y-not-found")
    page.goto("/users/new")
    page.evaluate("document.querySelector('main input[name=csrf_token]').value = 'forged'")
    submit(page, "Add user")
    check(page, "a11y-form-not-sent")
    with site.api() as api:
        drill = api.post(
            "/api/v1/inspections",
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
    # The charts: a drill just announced (nothing reached yet), and the first drill, which
    # the acknowledgement above completed, through the rehearsals compared.
    page.goto(f"/inspections/{drill.json()['id']}")
    assert page.locator("#cascade-over-time svg.app-chart title").count() == 1
    check(page, "a11y-dashboard-cascade-chart-started")
    page.goto(f"/inspections/{drill.json()['id']}/report")
    check(page, "a11y-rehearsal-report-in-progress")
    page.goto("/rehearsals")
    assert page.locator("#rehearsals-trend svg.app-chart title").count() == 1
    check(page, "a11y-rehearsals-compared")
    page.click("#rehearsals-table tbody tr:first-child a")
    assert "The 1 person reached in 1 minute" in page.inner_text("#cascade-over-time-summary")
    page.click("#cascade-over-time-data summary")
    check(page, "a11y-rehearsal-report-complete")
    page.goto(f"/inspections/{drill.json()['id']}/calendar")
    check(page, "a11y-calendar-feeds")
    submit(page, "Make feed")
    check(page, "a11y-calendar-feed-made")
    page.goto("/webhooks")
    check(page, "a11y-webhooks")
    submit(page, "Add webhook")
    check(page, "a11y-webhooks-errors")
    page.fill("#url", "http://127.0.0.1:9/hooks")  # loopback, where nothing listens
    page.check("input[name=events][value='task.overdue']")
    submit(page, "Add webhook")
    check(page, "a11y-webhook-made")
    page.click("#webhooks-heading ~ table a")
    page.click("#ping")
    check(page, "a11y-webhook-delivery-log")
    page.click("#rotate")
    check(page, "a11y-webhook-secret-rotated")
    page.goto(f"/inspections/{drill.json()['id']}/improvement")
    check(page, "a11y-improvement-not-open")
    page.goto(f"/inspections/{drill.json()['id']}/judgements")
    page.check("input[name=grade-help_and_protection][value=inadequate]")
    page.check("input[name=grade-overall][value=good]")
    submit(page, "Save judgements")
    check(page, "a11y-judgements-errors")
    page.check("input[name=grade-overall][value=inadequate]")
    submit(page, "Save judgements")
    check(page, "a11y-judgements")
    page.click("#improvement-link a")
    check(page, "a11y-improvement")
    page.goto(f"/inspections/{drill.json()['id']}/action-statement")
    submit(page, "Save draft")
    check(page, "a11y-statement-draft")
    submit(page, "Record approval")
    check(page, "a11y-statement-approval-errors")
    page.goto(f"/inspections/{drill.json()['id']}/action-plans")
    page.fill("#title", "Help and protection")
    submit(page, "Start plan")
    check(page, "a11y-action-plans")
    page.click("#plans a")
    page.fill("#text", "Review every child-in-need plan within timescales.")
    submit(page, "Add recommendation")
    page.click("summary:has-text('Add an action')")
    submit(page, "Add action")
    check(page, "a11y-action-plan-errors")
    page.fill("#title", "Audit 20 plans a month")
    page.select_option("#agency", "health")
    page.select_option("#owner-contact-id", index=1)
    page.fill("#due_on-day", "30")
    page.fill("#due_on-month", "4")
    page.fill("#due_on-year", "2030")
    submit(page, "Add action")
    check(page, "a11y-action-plan")
    page.click("a:has-text('Audit 20 plans a month')")
    check(page, "a11y-action")
    page.goto(f"/inspections/{drill.json()['id']}/scrutiny")
    page.fill("#name", "Children's Services Scrutiny")
    page.check("input[name=kind][value=scrutiny]")
    submit(page, "Add the committee")
    submit(page, "Add the meeting")
    check(page, "a11y-scrutiny-errors")
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date()
    page.select_option("#committee-id", index=1)
    page.fill("#meets_on-day", str(today.day))
    page.fill("#meets_on-month", str(today.month))
    page.fill("#meets_on-year", str(today.year))
    submit(page, "Add the meeting")
    check(page, "a11y-scrutiny")
    page.click("#meetings a:has-text('Report')")
    assert page.locator("svg.app-chart title").count() == 1
    check(page, "a11y-scrutiny-report")
    page.goto("/history")
    check(page, "a11y-history")
    page.goto("/api-keys/new")
    check(page, "a11y-api-key-new")
    submit(page, "Make key")
    check(page, "a11y-api-key-new-errors")
    page.fill("#name", "a11y-intranet")
    page.check("input[name=scopes][value='plan:read']")
    submit(page, "Make key")
    check(page, "a11y-api-key-made")
    page.goto("/api-keys")
    check(page, "a11y-api-keys")
    page.locator("tr:has-text('a11y-intranet') button:has-text('Revoke')").click()
    check(page, "a11y-api-keys-after-revoking")

    # A viewer meets the refusal page.
    site.make_user("a11y-viewer", "viewer", name="Amelia Brooks")
    viewer = new_tab()
    sign_in(viewer.page, "a11y-viewer", PASSWORD)
    check(viewer.page, "a11y-dashboard-viewer")
    viewer.page.goto("/users")
    check(viewer.page, "a11y-forbidden")

    assert len(visited) == 49
    problems += public.problems + admin.problems + viewer.problems
    assert problems == [], "\n".join(problems)


def test_the_axe_check_finds_a_real_violation(site: Site, tab: Any) -> None:
    """The check itself can fail: an input stripped of its label is reported."""
    page = tab.page
    page.goto("/login")
    page.evaluate("document.querySelector('label[for=username]').remove()")
    problems = accessibility_problems(page, "broken-sign-in")
    assert any("label" in problem for problem in problems), problems
