"""Managing users in Chromium: an admin adds a user and hands over the one-time password, the
new user chooses their own, and deactivation signs them out at once. A viewer is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, screenshot, sign_in, summary_links

pytestmark = pytest.mark.slow


def test_an_admin_adds_a_user_who_signs_in_and_is_then_deactivated(
    site: Site, new_tab: Any
) -> None:
    site.make_user("users-admin", "admin", name="Tomasz Wójcik")
    admin = new_tab()
    page = admin.page
    sign_in(page, "users-admin", PASSWORD)
    page.click(".govuk-service-navigation__link:has-text('Users')")
    assert page.url.endswith("/users")
    page.click("a:has-text('Add a user')")

    page.click("button:has-text('Add user')")  # nothing filled in
    assert [href for href, _ in summary_links(page)] == ["#username", "#display-name", "#role"]
    screenshot(page, "add-a-user-errors")

    page.fill("#username", "POkafor")
    page.fill("#display-name", "Precious Okafor")
    page.check("input[name=role][value=coordinator]")
    page.click("button:has-text('Add user')")
    page.wait_for_load_state()
    assert page.locator(".govuk-panel__title").inner_text().strip() == "User added"
    one_time = page.locator("#one-time-password").inner_text().strip()
    screenshot(page, "user-added")

    newcomer = new_tab()
    sign_in(newcomer.page, "pokafor", one_time)
    assert newcomer.page.url.endswith("/account/password")
    newcomer.page.fill("#current-password", one_time)
    newcomer.page.fill("#new-password", "copper kettle meadow")
    newcomer.page.fill("#confirm-password", "copper kettle meadow")
    newcomer.page.click("button:has-text('Save password')")
    newcomer.page.wait_for_load_state()
    assert "Signed in as Precious Okafor (coordinator)" in newcomer.page.content()

    page.goto("/users")
    page.click("#deactivate-pokafor")
    page.wait_for_load_state()
    assert "Precious Okafor has been deactivated" in page.content()
    screenshot(page, "users")
    newcomer.page.reload()
    assert newcomer.page.url.endswith("/login")
    assert admin.problems == [] and newcomer.problems == []


def test_an_admin_resets_a_password(site: Site, new_tab: Any) -> None:
    site.make_user("reset-admin", "admin")
    site.make_user("forgetful", "lead", name="Priya Natarajan")
    page = new_tab().page
    sign_in(page, "reset-admin", PASSWORD)
    page.goto("/users")
    page.click("#reset-forgetful")
    page.wait_for_load_state()
    assert page.locator(".govuk-panel__title").inner_text().strip() == "Password reset"
    one_time = page.locator("#one-time-password").inner_text().strip()
    screenshot(page, "password-reset")
    other = new_tab().page
    sign_in(other, "forgetful", one_time)
    assert other.url.endswith("/account/password")


def test_a_viewer_is_refused_the_users_pages_and_not_shown_them(site: Site, tab: Any) -> None:
    site.make_user("just-looking", "viewer", name="Amelia Brooks")
    page = tab.page
    sign_in(page, "just-looking", PASSWORD)
    nav = page.locator(".govuk-service-navigation__list").inner_text()
    assert "Contacts" in nav and "Users" not in nav and "Announce" not in nav
    response = page.goto("/users")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "You cannot use this page"
    screenshot(page, "forbidden")


def test_a_form_posted_without_its_token_is_refused_with_a_clear_page(site: Site, tab: Any) -> None:
    site.make_user("csrf-admin", "admin")
    page = tab.page
    sign_in(page, "csrf-admin", PASSWORD)
    page.goto("/users/new")
    page.fill("#username", "never-made")
    page.fill("#display-name", "Never Made")
    page.check("input[name=role][value=viewer]")
    page.evaluate("document.querySelector('main input[name=csrf_token]').remove()")
    with page.expect_response(lambda r: r.url.endswith("/users")) as posted:
        page.click("button:has-text('Add user')")
    assert posted.value.status == 403
    assert page.locator("h1").inner_text() == "Your form was not sent"
    screenshot(page, "form-not-sent")
    assert "never-made" not in site.cli("users", "list")
