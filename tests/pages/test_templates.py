"""The template pages in Chromium: the list, the live preview as the text is typed (a script
file of the service's own, allowed by the CSP), an unknown placeholder refused at its field,
saving and going back to the default, editing by keyboard alone with the Preview button, and an
edit the upgrade to Notify's language could not move. axe-core on each state. Every edit is
reset at the end, so other tests meet the defaults."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from service.db import make_engine
from tests.notify.templates.builders import reset_by_upgrade
from tests.pages.browser import (
    PASSWORD,
    Site,
    accessibility_problems,
    screenshot,
    sign_in,
    summary_links,
)

pytestmark = pytest.mark.slow

FOCUSED = "() => document.activeElement.id || document.activeElement.textContent.trim()"


def _check(page: Any, name: str, problems: list[str]) -> None:
    page.wait_for_load_state()
    screenshot(page, name)
    problems.extend(accessibility_problems(page, name))


def test_editing_a_template_with_the_live_preview(site: Site, tab: Any) -> None:
    site.make_user("p3-templates-coordinator", "coordinator", name="Kwame Adeyemi")
    page = tab.page
    problems: list[str] = []
    sign_in(page, "p3-templates-coordinator", PASSWORD)
    page.click(".govuk-service-navigation__link:has-text('Templates')")
    _check(page, "templates-list", problems)
    page.goto("/templates/reminder/email")
    assert "Priya Raman" in page.locator("#template-preview").inner_text()
    _check(page, "templates-edit", problems)

    page.fill("#body", "Hello ((contact.name)), the deadline ((deadline.label)) is near.")
    page.wait_for_function(
        "() => document.getElementById('template-preview').textContent"
        ".includes('Hello Priya Raman, the deadline Written statement')"
    )
    page.fill("#body", "Hello ((contact.nmae))")
    page.wait_for_function(
        "() => document.getElementById('template-preview').textContent.includes('No preview')"
    )
    page.click("button:has-text('Save')")
    page.wait_for_load_state()
    assert [href for href, _ in summary_links(page)] == ["#body"]
    assert "contact.nmae" in summary_links(page)[0][1]
    _check(page, "templates-edit-errors", problems)

    page.fill("#subject", "Deadline near: ((deadline.label))")
    page.fill("#body", "Dear ((contact.name)), ((deadline.label)) is due ((deadline.due)).")
    page.click("button:has-text('Save')")
    page.wait_for_load_state()
    assert "saved" in page.locator(".govuk-notification-banner").inner_text()
    _check(page, "templates-saved", problems)
    page.click("button:has-text('Reset to the default')")
    page.wait_for_load_state()
    assert "is the default again" in page.content()
    assert page.locator("button:has-text('Reset to the default')").count() == 0
    assert problems == [] and tab.problems == []


def test_previewing_a_text_message_by_keyboard_alone(site: Site, tab: Any) -> None:
    site.make_user("p3-templates-keyboard", "admin", name="Aled Rhys")
    page = tab.page
    sign_in(page, "p3-templates-keyboard", PASSWORD)
    page.goto("/templates/reminder/sms")
    keys = page.keyboard
    for _ in range(60):
        keys.press("Tab")
        if page.evaluate(FOCUSED) == "body":
            break
    else:
        pytest.fail("Tab never reached the message")
    keys.press("Control+A")
    keys.type("Reminder for ((contact.name)): ((deadline.label))")
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "contact"
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "Preview"
    screenshot(page, "templates-keyboard-focus")
    with page.expect_navigation():
        keys.press("Enter")
    preview = page.locator("#template-preview").inner_text()
    assert "Reminder for Priya Raman: Written statement of action published" in preview
    assert "sent as 1 text message" in preview
    assert "Customised" not in page.content()  # previewing saved nothing
    assert accessibility_problems(page, "templates-keyboard") == [] and tab.problems == []


def test_a_viewer_sees_the_template_without_a_form(site: Site, tab: Any) -> None:
    site.make_user("p3-templates-viewer", "viewer", name="Zoë Pritchard")
    page = tab.page
    sign_in(page, "p3-templates-viewer", PASSWORD)
    page.goto("/templates/announcement/sms")
    assert page.locator("#template-form").count() == 0
    assert "sent as" in page.locator("#template-preview").inner_text()
    problems = accessibility_problems(page, "templates-view")
    screenshot(page, "templates-view")
    assert problems == [] and tab.problems == []


def test_an_edit_the_upgrade_could_not_move_is_shown_with_its_old_words(
    site: Site, tab: Any
) -> None:
    """Migration 0006 left an audit entry for an edit it could not convert: the list names it,
    its page shows the old words, and keeping the shipped words ends the notice."""
    engine = make_engine(site.server.env["DATABASE_URL"])
    with Session(engine) as session:
        reset_by_upgrade(
            session,
            "task_overdue",
            "email",
            "{% for task in tasks %}\n  - {{ task.title }}\n{% endfor %}",
            subject="Overdue: {{ task.title | upper }}",
        )
    engine.dispose()
    site.make_user("p3-templates-upgrade", "coordinator", name="Nia Evans")
    page = tab.page
    problems: list[str] = []
    sign_in(page, "p3-templates-upgrade", PASSWORD)
    page.goto("/templates")
    assert "Task overdue (e-mail)" in page.locator("#reset-on-upgrade").inner_text()
    _check(page, "templates-list-upgrade", problems)
    page.click("#reset-on-upgrade a:has-text('Task overdue (e-mail)')")
    page.wait_for_load_state()
    assert page.locator("#old-body").inner_text() == (
        "{% for task in tasks %}\n  - {{ task.title }}\n{% endfor %}"
    )
    assert page.locator("#old-subject").inner_text() == "Overdue: {{ task.title | upper }}"
    _check(page, "templates-edit-upgrade", problems)
    page.click("button:has-text('Keep the shipped words')")
    page.wait_for_load_state()
    assert "is the default again" in page.content()
    assert page.locator("#reset-on-upgrade").count() == 0
    assert problems == [] and tab.problems == []
