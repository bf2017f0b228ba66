"""The contacts pages in Chromium: a coordinator previews a file with problems (every one in the
error summary, linking to the file field), then a good file, imports exactly it, finds the
people, and walks the tree down a group; a viewer sees addresses masked. axe-core on each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

HEADER = "id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes\n"
GOOD = HEADER + (
    "p3c-hoy,Harriet Oyelaran,Director of Children's Services,p3c-hoy@example.org,"
    "07700 900123,,,p3c-steering,,\n"
    "p3c-twoj,Tomasz Wójcik,Head of Service,p3c-twoj@example.org,07700 900124,p3c-hoy,,,,\n"
    "p3c-pnat,Priya Natarajan,Team Manager,p3c-pnat@example.org,,p3c-twoj,,,,\n"
    "p3c-opri,Owen Pritchard,Social Worker,p3c-opri@example.org,,p3c-pnat,,,,\n"
)
BAD = HEADER + (
    "p3c-bad1,,Head of Service,not-an-address,12345,,,,,\n"
    "p3c-bad2,Femi Adeyemi,,p3c-bad2@example.org,,p3c-nobody,,,fax,\n"
)


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _check(page: Any, name: str, problems: list[str]) -> None:
    page.wait_for_load_state()
    screenshot(page, name)
    problems.extend(accessibility_problems(page, name))


def test_a_coordinator_previews_and_imports_a_file_then_walks_the_tree(
    site: Site, tab: Any, tmp_path: Path
) -> None:
    site.make_user("p3-contacts-coordinator", "coordinator", name="Morag Baird")
    page = tab.page
    problems: list[str] = []
    sign_in(page, "p3-contacts-coordinator", PASSWORD)
    page.click(".govuk-service-navigation__link:has-text('Contacts')")
    _check(page, "contacts-list", problems)
    page.click("a:has-text('import a contacts file')")
    assert page.url.endswith("/contacts/import")
    _check(page, "contacts-import", problems)

    page.get_by_label("Contacts file").set_input_files(_file(tmp_path, "bad.csv", BAD))
    page.click("button:has-text('Preview changes')")
    page.wait_for_load_state()
    links = summary_links(page)
    assert {href for href, _ in links} == {"#contacts-file"}
    texts = [text for _, text in links]
    assert any(t.startswith("Line 2, column name") for t in texts), texts
    assert any(t.startswith("Line 3, column reports_to") for t in texts), texts
    assert page.locator("#problems tbody tr").count() == len(links)
    _check(page, "contacts-import-errors", problems)
    page.locator(".govuk-error-summary__list a").first.click()
    assert page.evaluate("document.activeElement.id") == "contacts-file"

    page.get_by_label("Contacts file").set_input_files(_file(tmp_path, "good.csv", GOOD))
    page.click("button:has-text('Preview changes')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Check the changes before importing"
    assert "Tomasz Wójcik" in page.locator("#import-added").inner_text()
    _check(page, "contacts-import-preview", problems)
    page.click("button:has-text('Import these contacts')")
    page.wait_for_url(site.url + "/contacts")
    assert "Contacts imported: 4 added" in page.locator(".govuk-notification-banner").inner_text()

    page.fill("#q", "p3c-")
    page.click("button:has-text('Search')")
    page.wait_for_load_state()
    assert page.locator("#contacts tbody tr").count() == 4
    assert "p3c-hoy@example.org" in page.content()  # a coordinator sees addresses in full
    _check(page, "contacts-search", problems)

    page.click("a:has-text('See the tree')")
    page.wait_for_load_state()
    assert page.locator("#person-p3c-twoj").count() == 1
    _check(page, "contacts-tree", problems)
    page.click("#person-p3c-twoj >> a:has-text('people below Tomasz')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Tomasz Wójcik's group"
    assert page.locator("#person-p3c-opri").is_visible()
    _check(page, "contacts-subtree", problems)
    assert problems == [] and tab.problems == []


def test_a_viewer_sees_contacts_masked_and_cannot_import(site: Site, tab: Any) -> None:
    site.make_user("p3-contacts-viewer", "viewer", name="Ines Rhys")
    page = tab.page
    sign_in(page, "p3-contacts-viewer", PASSWORD)
    page.goto("/contacts?q=no-such-person-p3")
    assert "No contacts match the search" in page.content()
    problems = accessibility_problems(page, "contacts-empty")
    screenshot(page, "contacts-empty")
    page.goto("/contacts/import")
    assert "You cannot use this page" in page.content()
    assert problems == [] and tab.problems == []
