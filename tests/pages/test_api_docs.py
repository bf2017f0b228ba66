"""The API documentation in Chromium: Swagger UI, from this service's own files, draws every
operation of the schema under the page policy, with no script error and no refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.browser import Site, screenshot

pytestmark = pytest.mark.slow


def test_swagger_ui_draws_the_schema_under_the_page_policy(site: Site, tab: Any) -> None:
    page = tab.page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(site.url) else outside.append(request.url),
    )

    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/inspections" in [path.replace("\u200b", "") for path in paths]
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body", timeout=10_000)
    screenshot(page, "api-documentation")
    assert outside == []
    assert tab.problems == []
