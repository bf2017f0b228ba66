"""The roles API end to end through HTTP on both databases: the list, giving and taking a role
(with the role's open tasks following), validation, 404s and scopes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from tests.conftest import make_settings
from tests.plan.small_plan import announce_over_api, write_plan
from tests.snapshots import assert_unchanged, snapshot

URL = "/api/v1/roles"
ROLE_KEYS = {"role", "label", "contact_id", "contact_name", "active", "deputy_id", "open_tasks"}
OUR_ROLES = {
    "steering_group_lead",
    "logistics_lead",
    "it_lead",
    "performance_data_lead",
    "communications_lead",
    "audit_lead",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    write_plan(tmp_path / "plans")
    return make_settings(database_url=database_url, plans_dir=tmp_path / "plans")


@pytest.fixture
def planner(make_key: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('plan:write', name='coordinator')}"}


@pytest.fixture
def viewer(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:read")


@pytest.fixture
def inspection(client: TestClient, session: Session, writer: dict[str, str]) -> str:
    return announce_over_api(client, session, writer)


def roles(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    return {item["role"]: item for item in response.json()["items"]}


def owners(client: TestClient, inspection: str, headers: dict[str, str]) -> dict[str, Any]:
    items = client.get(f"{inspection}/tasks", headers=headers).json()["items"]
    return {item["key"]: (item["owner_contact_id"], item["owner_source"]) for item in items}


def test_every_role_is_listed_with_its_person(
    client: TestClient, inspection: str, viewer: dict[str, str]
) -> None:
    found = roles(client, viewer)

    # the shipped plans of other frameworks add their own roles
    assert set(found) >= OUR_ROLES
    assert all(set(item) == ROLE_KEYS for item in found.values())
    assert found["logistics_lead"] == {
        "role": "logistics_lead",
        "label": "Logistics lead",
        "contact_id": "twojcik",
        "contact_name": "Tomasz Wójcik",
        "active": True,
        "deputy_id": "aokafor",
        "open_tasks": 2,
    }
    assert found["communications_lead"]["contact_id"] is None
    assert found["communications_lead"]["open_tasks"] == 1


def test_put_gives_the_role_and_its_open_tasks_to_the_person(
    client: TestClient,
    inspection: str,
    viewer: dict[str, str],
    planner: dict[str, str],
    writer: dict[str, str],
) -> None:
    response = client.put(
        f"{URL}/communications_lead", json={"contact_id": "praman"}, headers=planner
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "role": "communications_lead",
        "label": "Communications lead",
        "contact_id": "praman",
        "contact_name": "Priya Raman",
        "active": True,
        "deputy_id": None,
        "open_tasks": 1,
    }
    assert owners(client, inspection, viewer)["brief_members"] == ("praman", "role")
    timeline = client.get(f"{inspection}/timeline", headers=writer).json()["items"]
    [entry] = [e for e in timeline if e["kind"] == "role_changed"]
    assert entry["actor"] == "api-key:coordinator"
    assert entry["data"]["tasks"] == {
        "brief_members": {"from": "hoyelaran", "to": "praman", "source": "role"}
    }
    warnings = client.get(f"{inspection}/tasks", headers=viewer).json()["warnings"]
    assert not any("Communications lead" in warning for warning in warnings)


def test_a_reassigned_task_does_not_follow_the_role(
    client: TestClient, inspection: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    items = client.get(f"{inspection}/tasks", headers=viewer).json()["items"]
    car_parking = next(item["id"] for item in items if item["key"] == "car_parking")
    pinned = client.patch(
        f"{inspection}/tasks/{car_parking}", json={"owner_contact_id": "aokafor"}, headers=planner
    )
    assert pinned.status_code == 200, pinned.text

    client.put(f"{URL}/logistics_lead", json={"contact_id": "praman"}, headers=planner)

    found = owners(client, inspection, viewer)
    assert found["car_parking"] == ("aokafor", "reassigned")
    assert found["book_base_room"] == ("praman", "role")


def test_delete_unmaps_and_the_tasks_go_to_the_steering_group_lead(
    client: TestClient, inspection: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    response = client.delete(f"{URL}/logistics_lead", headers=planner)

    assert response.status_code == 204
    assert roles(client, viewer)["logistics_lead"]["contact_id"] is None
    assert owners(client, inspection, viewer)["book_base_room"] == (
        "hoyelaran",
        "steering_group_lead",
    )
    warnings = client.get(f"{inspection}/tasks", headers=viewer).json()["warnings"]
    assert (
        "No one holds the role 'Logistics lead': its 2 tasks went to the steering-group lead"
        in warnings
    )
    assert client.delete(f"{URL}/logistics_lead", headers=planner).status_code == 204


@pytest.mark.sqlite_only
def test_an_unknown_role_is_404_naming_the_known_ones(
    client: TestClient, inspection: str, planner: dict[str, str]
) -> None:
    for response in (
        client.put(f"{URL}/catering_lead", json={"contact_id": "praman"}, headers=planner),
        client.delete(f"{URL}/catering_lead", headers=planner),
        client.delete(f"{URL}/catering%00lead", headers=planner),
        client.delete(f"{URL}/Catering Lead", headers=planner),
    ):
        assert response.status_code == 404
        assert "; known roles: " in response.json()["detail"]
        assert "logistics_lead" in response.json()["detail"]


@pytest.mark.sqlite_only
def test_a_bad_person_is_422_on_contact_id_and_changes_nothing(
    client: TestClient, inspection: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    for body, says in (
        ({"contact_id": "sllewellyn"}, "inactive"),
        ({"contact_id": "nobody"}, "no contact 'nobody'"),
        ({"contact_id": ""}, ""),
        ({"contact_id": None}, ""),
        ({}, ""),
        ({"contact_id": "praman", "since": "today"}, ""),
    ):
        response = client.put(f"{URL}/logistics_lead", json=body, headers=planner)
        assert response.status_code == 422, body
        error = response.json()["detail"][0]
        assert error["loc"] == (["body", "since"] if "since" in body else ["body", "contact_id"])
        assert says in error["msg"]
    assert roles(client, viewer)["logistics_lead"]["contact_id"] == "twojcik"
    assert (
        client.put(f"{URL}/{'r' * 65}", json={"contact_id": "praman"}, headers=planner).status_code
        == 422
    )


@pytest.mark.sqlite_only
def test_each_route_needs_its_scope(
    client: TestClient, engine: Engine, auth: Callable[..., dict[str, str]]
) -> None:
    keys = {scope: auth(scope) for scope in ("plan:read", "plan:write", "inspections:write")}
    for method, path, body, scope in (
        ("GET", URL, None, "plan:read"),
        ("PUT", f"{URL}/catering_lead", {"contact_id": "praman"}, "plan:write"),
        ("DELETE", f"{URL}/catering_lead", None, "plan:write"),
    ):
        lacking = "inspections:write" if scope == "plan:read" else "plan:read"
        before = snapshot(engine)
        assert client.request(method, path, json=body).status_code == 401
        refused = client.request(method, path, json=body, headers=keys[lacking])
        assert refused.status_code == 403, (method, path)
        assert scope in refused.json()["detail"]
        assert_unchanged(engine, before)
        allowed = client.request(method, path, json=body, headers=keys[scope])
        assert allowed.status_code == (200 if method == "GET" else 404), (method, path)
