"""The outbox in Chromium: after a rehearsal announced over the API, an admin filters the
outbox to it, opens a message and finds its acknowledgement link; a viewer sees the list with
addresses masked. axe-core on each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow


def _rehearsal(site: Site) -> str:
    with site.api() as api:
        made = api.post(
            "/api/v1/contacts",
            json={"id": "p3o-femi", "name": "Femi Adeyemi", "email": "p3o-femi@example.org"},
        )
        assert made.status_code == 201, made.text
        drill = api.post(
            "/api/v1/inspections",
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
        assert drill.status_code == 201, drill.text
        return drill.json()["id"]


def test_an_admin_opens_a_message_and_a_viewer_sees_it_masked(site: Site, new_tab: Any) -> None:
    inspection_id = _rehearsal(site)
    site.make_user("p3-outbox-admin", "admin", name="Harriet Oyelaran")
    site.make_user("p3-outbox-viewer", "viewer", name="Owen Baird")
    admin = new_tab()
    page = admin.page
    problems: list[str] = []
    sign_in(page, "p3-outbox-admin", PASSWORD)
    page.click(".govuk-service-navigation__link:has-text('Outbox')")
    page.wait_for_load_state()
    page.select_option("#inspection", inspection_id)
    page.select_option("#medium", "email")
    page.click("button:has-text('Show messages')")
    page.wait_for_load_state()
    row = page.locator("#messages tbody tr", has_text="p3o-femi@example.org")
    assert row.count() == 1
    screenshot(page, "outbox")
    problems += accessibility_problems(page, "outbox")
    row.locator("th a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Message to Femi Adeyemi"
    link = page.locator("#message-body a[href*='/ack/']")
    assert link.count() >= 1
    screenshot(page, "outbox-message")
    problems += accessibility_problems(page, "outbox-message")

    viewer = new_tab()
    sign_in(viewer.page, "p3-outbox-viewer", PASSWORD)
    viewer.page.goto("/outbox")
    content = viewer.page.content()
    assert "p3o-femi@example.org" not in content and "p***@example.org" in content
    screenshot(viewer.page, "outbox-masked")
    problems += accessibility_problems(viewer.page, "outbox-masked")
    assert problems == [] and admin.problems == [] and viewer.problems == []
