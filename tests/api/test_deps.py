"""API keys at the door: every route that takes a key refuses a missing, malformed, unknown or
revoked one with 401, and a key without the route's scope with 403."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import api_keys
from service.db import utcnow

pytestmark = pytest.mark.sqlite_only

INSPECTIONS = "/api/v1/inspections"
SAMPLE_PATH_VALUES = {
    "inspection_id": "7b0f3c52-3a4e-4f7e-9a53-0c2e1b1d9e10",
    "key": "sif-2013",
    "day": "2025-12-29",
}


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation in the app's OpenAPI schema, with sample values in its path."""
    found = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        concrete = re.sub(
            r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "sample"), path
        )
        for method, operation in methods.items():
            found.append((method.upper(), concrete, operation))
    return found


def takes_a_key(operation: dict[str, Any]) -> bool:
    return any("HTTPBearer" in requirement for requirement in operation.get("security", []))


def test_every_route_that_takes_a_key_is_401_without_one_or_with_a_wrong_one(
    client: TestClient,
) -> None:
    keyed = [(m, p) for m, p, op in operations(client) if takes_a_key(op)]
    assert len(keyed) >= 16  # the inspections, frameworks and working-days routes at least
    bad_headers = [
        {},
        {"Authorization": "Basic aGFycmlldDpwYXNzd29yZA=="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer iw_not-a-key-anyone-was-given"},
    ]

    wrong = [
        f"{method} {path} with {headers}: {status}"
        for method, path in keyed
        for headers in bad_headers
        if (status := client.request(method, path, headers=headers).status_code) != 401
    ]

    assert not wrong, "\n".join(wrong)


def test_no_api_route_serves_an_anonymous_request(client: TestClient) -> None:
    """Routes outside the key scheme (the notification provider's callbacks) must refuse a
    request that carries nothing: no route under /api/v1 answers 2xx to it."""
    served = [
        f"{method} {path}: {status}"
        for method, path, _ in operations(client)
        if path.startswith("/api/v1/")
        and (status := client.request(method, path).status_code) < 400
    ]

    assert not served, "\n".join(served)


def test_the_scheme_name_is_case_insensitive(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    raw = make_key("inspections:read")

    response = client.get(INSPECTIONS, headers={"Authorization": f"bearer {raw}"})

    assert response.status_code == 200


def test_a_revoked_key_is_401(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    raw = make_key("inspections:read", name="old-intranet")
    assert client.get(INSPECTIONS, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    with Session(engine) as session:
        api_keys.revoke(session, name="old-intranet", actor="test", now=utcnow())
        session.commit()

    response = client.get(INSPECTIONS, headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_key_is_checked_whole_not_by_its_prefix(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    raw = make_key("admin")

    for altered in (raw[:10], raw[:-1], raw + "x", raw.upper()):
        response = client.get(INSPECTIONS, headers={"Authorization": f"Bearer {altered}"})
        assert response.status_code == 401, altered


OTHER_SCOPES = [
    scope for scope in api_keys.SCOPES if scope != "admin" and not scope.startswith("inspections:")
]


@pytest.mark.parametrize("scope", OTHER_SCOPES)
def test_another_resources_scope_is_403_on_inspections(
    client: TestClient, auth: Callable[..., dict[str, str]], scope: str
) -> None:
    headers = auth(scope)

    read = client.get(INSPECTIONS, headers=headers)
    write = client.post(INSPECTIONS, json={}, headers=headers)

    assert (read.status_code, write.status_code) == (403, 403)
    assert "inspections:read" in read.json()["detail"]
