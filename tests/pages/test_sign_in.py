"""Signing in, in Chromium: the admin's first sign-in with the password `serve` printed, a wrong
password, the lock after repeated failures, and signing out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, screenshot, sign_in, summary_links

pytestmark = pytest.mark.slow


def test_the_first_sign_in_with_the_printed_password_asks_for_a_new_one(
    site: Site, tab: Any
) -> None:
    page = tab.page
    page.goto("/")
    assert page.url.endswith("/login")
    screenshot(page, "sign-in")
    sign_in(page, "admin", site.admin_one_time_password)
    assert page.url.endswith("/account/password")
    assert page.locator("h1").inner_text() == "Create a new password"
    screenshot(page, "create-a-new-password")

    page.fill("#current-password", site.admin_one_time_password)
    page.fill("#new-password", "amber lantern orchard")
    page.fill("#confirm-password", "amber lantern orchard")
    page.click("button:has-text('Save password')")
    page.wait_for_load_state()
    assert page.url == site.url + "/"
    assert (
        "Your password has been changed" in page.locator(".govuk-notification-banner").inner_text()
    )
    assert "Signed in as Administrator (admin)" in page.content()
    screenshot(page, "dashboard")
    assert tab.problems == []


def test_a_wrong_password_shows_an_error_summary_that_leads_to_the_field(
    site: Site, tab: Any
) -> None:
    site.make_user("wrong-password-user", "viewer")
    page = tab.page
    sign_in(page, "wrong-password-user", "not the password")
    assert page.title().startswith("Error: Sign in")
    [(href, text)] = summary_links(page)
    assert href == "#username" and "not right" in text
    # GOV.UK Frontend focuses the summary; its link moves focus to the field.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    page.click(".govuk-error-summary__list a")
    assert page.evaluate("document.activeElement.id") == "username"
    screenshot(page, "sign-in-error")
    assert tab.problems == []


def test_repeated_failures_lock_the_username_and_say_until_when(site: Site, tab: Any) -> None:
    site.make_user("locked-user", "viewer")
    page = tab.page
    for _ in range(5):
        sign_in(page, "locked-user", "a wrong guess")
    message = page.locator("#username-error").inner_text()
    assert "Too many failed attempts" in message and "locked until" in message
    screenshot(page, "sign-in-locked")
    sign_in(page, "locked-user", PASSWORD)  # the right password, too late
    assert page.url.endswith("/login") and "locked until" in page.content()


def test_signing_out_needs_a_fresh_sign_in(site: Site, tab: Any) -> None:
    site.make_user("sign-out-user", "lead")
    page = tab.page
    sign_in(page, "sign-out-user", PASSWORD)
    assert page.url == site.url + "/"
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    assert page.url.endswith("/login")
    assert "You have signed out" in page.content()
    page.goto("/")
    assert page.url.endswith("/login")
