"""Signing in by keyboard alone: the skip link, the fields and the button are reached with Tab
in a sensible order and used with typing and Enter; no mouse."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.browser import PASSWORD, Site, screenshot

pytestmark = pytest.mark.slow

FOCUSED = """() => {
  const e = document.activeElement;
  return e.id || e.getAttribute('href') || e.textContent.trim();
}"""


def test_signing_in_and_out_by_keyboard_alone(site: Site, tab: Any) -> None:
    site.make_user("keyboard-user", "lead", name="Priya Natarajan")
    page = tab.page
    page.goto("/login")
    keys = page.keyboard

    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "#main-content"  # the skip link comes first
    keys.press("Enter")
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "username"
    keys.type("Keyboard-User")
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "password"
    keys.type(PASSWORD)
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "Show"  # the password reveal button
    keys.press("Enter")
    assert page.get_attribute("#password", "type") == "text"
    keys.press("Tab")
    assert page.evaluate(FOCUSED) == "Sign in"
    screenshot(page, "keyboard-sign-in-focus")
    keys.press("Enter")
    page.wait_for_url(site.url + "/")
    assert "Signed in as Priya Natarajan (lead)" in page.content()

    # Sign out is reachable from the navigation by Tab, and works with Enter.
    for _ in range(40):
        keys.press("Tab")
        if page.evaluate(FOCUSED) == "Sign out":
            break
    else:
        pytest.fail("Tab never reached Sign out")
    keys.press("Enter")
    page.wait_for_url(site.url + "/login")
    assert tab.problems == []
