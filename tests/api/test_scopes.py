"""Every route's scope, from the app's own OpenAPI schema: each operation that takes an API key
names its scope there (`security: [{"HTTPBearer": [scope]}]`, written by `require()`), and is
called with no key (401), with a key holding every scope except those that grant it (403) and
with a key holding just that scope (neither). Routes that take no key are listed below, each
with the reason; a new route must do one or the other, or this fails."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from service import api_keys

pytestmark = pytest.mark.sqlite_only

NO_KEY: dict[str, str] = {
    "GET /healthz": "liveness for load balancers and Docker; answers only `ok`",
    "GET /readyz": "readiness for load balancers; says only whether the database answers",
    "POST /api/v1/notify/receipts": "GOV.UK Notify's callback: its own token, "
    "NOTIFY_CALLBACK_TOKEN",
    "POST /api/v1/notify/inbound-sms": "GOV.UK Notify's callback: its own token, "
    "NOTIFY_CALLBACK_TOKEN",
    "GET /calendar/{token}.ics": "a calendar feed: its URL is the credential, since Outlook and "
    "Google Calendar cannot send a header",
    "GET /openapi.json": "the API's public description",
    "GET /docs": "the API's documentation page, built from the public description",
    "MOUNT /assets": "GOV.UK Frontend's styles, scripts, fonts and images",
    "MOUNT /assets/frontend": "GOV.UK Frontend's styles, scripts, fonts and images",
    "MOUNT /static": "the service's own styles and scripts",
    "GET /docs/assets/{name}": "the documentation page's scripts and styles",
}
PAGES = "service.api.pages"
"""Web pages take no key: staff sign in (a session cookie and a role's permission), and the
acknowledgement links carry a signature. tests/api/pages/test_access.py walks them."""
SAMPLE_PATH_VALUES = {
    "inspection_id": "7b0f3c52-3a4e-4f7e-9a53-0c2e1b1d9e10",
    "key": "sif-2013",
    "day": "2025-12-29",
}


def operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation in the app's OpenAPI schema."""
    schema = client.app.openapi()  # type: ignore[attr-defined]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def scope_of(operation: dict[str, Any]) -> str | None:
    scopes = [
        scope
        for requirement in operation.get("security", [])
        for scope in requirement.get("HTTPBearer", [])
    ]
    assert len(scopes) <= 1, scopes
    return scopes[0] if scopes else None


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "sample"), path)


def scoped(client: TestClient) -> list[tuple[str, str, str]]:
    found = [
        (method, concrete(path), scope)
        for method, path, operation in operations(client)
        if (scope := scope_of(operation)) is not None
    ]
    assert len(found) >= 60  # the schema was read, and scopes were found in it
    return found


def every_route(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The app's routes, looking inside included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from every_route(included.routes)
        else:
            yield route


def names(route: BaseRoute) -> list[str]:
    if isinstance(route, Mount):
        return [f"MOUNT {route.path}"]
    methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
    return [f"{method} {route.path}" for method in methods]  # type: ignore[attr-defined]


def lacking(scope: str) -> list[str]:
    """Every scope that does not grant `scope` (for `admin`: every other one)."""
    return [other for other in api_keys.SCOPES if not api_keys.grants([other], scope)]


def test_every_route_in_the_schema_has_a_scope_or_is_listed_as_taking_no_key(
    client: TestClient,
) -> None:
    problems = []
    for method, path, operation in operations(client):
        scope, listed = scope_of(operation), f"{method} {path}" in NO_KEY
        if scope is None and not listed:
            problems.append(f"{method} {path}: no scope in the schema, and not in NO_KEY")
        if scope is not None and listed:
            problems.append(f"{method} {path}: takes {scope} but is listed in NO_KEY")
        if scope is not None and scope not in api_keys.SCOPES:
            problems.append(f"{method} {path}: unknown scope {scope}")

    assert not problems, "\n".join(problems)


def test_every_route_outside_the_schema_is_a_page_or_listed(client: TestClient) -> None:
    in_schema = {f"{method} {path}" for method, path, _ in operations(client)}
    seen: set[str] = set()
    unlisted = []
    for route in every_route(client.app.routes):  # type: ignore[attr-defined]
        for name in names(route):
            seen.add(name)
            endpoint = getattr(route, "endpoint", None)
            is_page = isinstance(route, APIRoute) and endpoint.__module__.startswith(PAGES)
            if name not in in_schema and name not in NO_KEY and not is_page:
                unlisted.append(name)

    assert not unlisted, "\n".join(unlisted)
    assert set(NO_KEY) <= seen, set(NO_KEY) - seen  # no stale entries


def test_every_scoped_route_is_401_without_a_key(client: TestClient) -> None:
    wrong = [
        f"{method} {path}: {status}"
        for method, path, _ in scoped(client)
        if (status := client.request(method, path).status_code) != 401
    ]

    assert not wrong, "\n".join(wrong)


def test_every_scoped_route_is_403_to_a_key_lacking_its_scope(
    client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    routes = scoped(client)
    headers = {scope: auth(*lacking(scope)) for scope in {scope for _, _, scope in routes}}

    wrong = []
    for method, path, scope in routes:
        response = client.request(method, path, headers=headers[scope])
        if response.status_code != 403 or scope not in response.json()["detail"]:
            wrong.append(f"{method} {path} ({scope}) with {lacking(scope)}: {response.text}")

    assert not wrong, "\n".join(wrong)


def test_every_scoped_route_admits_a_key_with_just_its_scope(
    client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    """The scope in the schema is the one the route checks, not a stricter one."""
    routes = scoped(client)
    headers = {scope: auth(scope) for scope in {scope for _, _, scope in routes}}

    refused = [
        f"{method} {path} ({scope}): {status}"
        for method, path, scope in routes
        if (status := client.request(method, path, headers=headers[scope]).status_code)
        in (401, 403)
    ]

    assert not refused, "\n".join(refused)
