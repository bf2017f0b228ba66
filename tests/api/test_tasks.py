"""The tasks API end to end through HTTP on both databases: shape, order, filters, changes,
comments, ad-hoc tasks, every validation error with its `loc`, 404s, 409s and scopes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.config import Settings
from tests.conftest import make_settings
from tests.plan.small_plan import (
    DUE,
    LUNCHTIME,
    ORDER_AT_LUNCHTIME,
    announce_over_api,
    write_plan,
)

TASK_KEYS = {
    "id", "key", "title", "description", "category", "owner_role", "owner_contact_id",
    "owner_name", "owner_source", "status", "blocked_reason", "due_rule", "due_at",
    "reminder_rule", "depends_on", "waiting_on", "overdue", "ad_hoc", "done_at", "done_by",
    "comment_count", "created_at", "updated_at",
}  # fmt: skip
SOME_ID = "7b0f3c52-3a4e-4f7e-9a53-0c2e1b1d9e10"


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
def base(client: TestClient, session: Session, writer: dict[str, str]) -> str:
    """The tasks URL of a Tuesday-call inspection with the small plan and tree."""
    return announce_over_api(client, session, writer) + "/tasks"


def listed(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def task_url(client: TestClient, base: str, headers: dict[str, str], key: str) -> str:
    items = listed(client, base, headers)["items"]
    return f"{base}/{next(item['id'] for item in items if item['key'] == key)}"


def loc(response: Any) -> list[Any]:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


# --- reading ---------------------------------------------------------------------------------


def test_the_list_has_the_contract_shape_in_order_with_warnings(
    client: TestClient, base: str, viewer: dict[str, str]
) -> None:
    with time_machine.travel(LUNCHTIME, tick=False):
        body = listed(client, base, viewer)

    assert set(body) == {"items", "next_cursor", "warnings"}
    assert all(set(item) == TASK_KEYS for item in body["items"])
    assert [item["key"] for item in body["items"]] == ORDER_AT_LUNCHTIME
    for item in body["items"]:
        due = DUE[item["key"]]
        assert (datetime.fromisoformat(item["due_at"]) if item["due_at"] else None) == due
        assert item["overdue"] is (item["key"] in {"book_base_room", "car_parking"})
    first = body["items"][0]
    assert first["owner_name"] == "Tomasz Wójcik" and first["category"] == "logistics"
    assert datetime.fromisoformat(first["due_at"]).utcoffset() is not None
    assert body["warnings"] == [
        "No one holds the role 'Audit lead': its 1 task went to the steering-group lead",
        "No one holds the role 'Communications lead': its 1 task went to the steering-group lead",
    ]


def test_filters_combine_and_status_repeats_or_takes_a_comma_list(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    client.patch(
        task_url(client, base, viewer, "book_base_room"), json={"status": "done"}, headers=planner
    )
    client.patch(
        task_url(client, base, viewer, "annex_a"),
        json={"status": "blocked", "blocked_reason": "Waiting for the data feed"},
        headers=planner,
    )

    def keys(**params: Any) -> list[str]:
        with time_machine.travel(LUNCHTIME, tick=False):
            return [item["key"] for item in listed(client, base, viewer, **params)["items"]]

    assert keys(status=["done", "blocked"]) == ["book_base_room", "annex_a"]
    assert keys(status="done,blocked") == ["book_base_room", "annex_a"]
    assert keys(owner="twojcik") == ["car_parking", "book_base_room"]
    assert keys(category="logistics", status="to_do") == ["car_parking", "it_access"]
    assert keys(overdue="true") == ["car_parking"]
    assert keys(overdue="false", category="logistics") == ["book_base_room", "it_access"]


BAD_FILTERS: list[tuple[dict[str, str], list[str]]] = [
    ({"status": "to_do,finished"}, ["query", "status"]),
    ({"category": "catering"}, ["query", "category"]),
    ({"overdue": "perhaps"}, ["query", "overdue"]),
    ({"owner": "x" * 65}, ["query", "owner"]),
    ({"owner": "twojcik\x00"}, ["query", "owner"]),
]


@pytest.mark.sqlite_only
def test_a_bad_filter_is_422_naming_it(
    client: TestClient, base: str, viewer: dict[str, str]
) -> None:
    for params, where in BAD_FILTERS:
        assert loc(client.get(base, params=params, headers=viewer)) == where, params


@pytest.mark.sqlite_only
def test_unknown_inspection_or_task_is_404_and_a_bad_id_422(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    other = f"/api/v1/inspections/{SOME_ID}/tasks"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", other, None),
        ("GET", f"{base}/{SOME_ID}", None),
        ("PATCH", f"{base}/{SOME_ID}", {"status": "done"}),
        ("POST", f"{base}/{SOME_ID}/comments", {"text": "Hi"}),
        ("POST", other, {"title": "Lunch", "category": "data"}),
    ]
    for method, url, body in requests:
        headers = viewer if method == "GET" else planner
        assert client.request(method, url, json=body, headers=headers).status_code == 404, url
    assert loc(client.get(f"{base}/not-a-uuid", headers=viewer)) == ["path", "task_id"]


# --- changing --------------------------------------------------------------------------------


def test_marking_done_records_who_and_is_on_the_timeline(
    client: TestClient,
    base: str,
    viewer: dict[str, str],
    planner: dict[str, str],
    writer: dict[str, str],
) -> None:
    url = task_url(client, base, viewer, "car_parking")
    before = datetime.now(UTC)

    response = client.patch(url, json={"status": "done"}, headers=planner)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TASK_KEYS | {"comments"}
    assert (body["status"], body["done_by"], body["overdue"]) == (
        "done",
        "api-key:coordinator",
        False,
    )
    assert datetime.fromisoformat(body["done_at"]) >= before
    timeline = client.get(base.removesuffix("/tasks") + "/timeline", headers=writer).json()["items"]
    [entry] = [e for e in timeline if e["kind"] == "task_updated"]
    assert entry["actor"] == "api-key:coordinator"
    assert entry["data"]["changes"] == {"status": {"from": "to_do", "to": "done"}}

    reopened = client.patch(url, json={"status": "in_progress"}, headers=planner).json()
    assert (reopened["done_at"], reopened["done_by"]) == (None, None)


def test_reassign_and_due_time_by_hand(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    url = task_url(client, base, viewer, "it_access")

    body = client.patch(
        url,
        json={"owner_contact_id": "praman", "due_at": "2025-06-11T09:15:00+01:00"},
        headers=planner,
    ).json()

    assert (body["owner_contact_id"], body["owner_name"], body["owner_source"]) == (
        "praman",
        "Priya Raman",
        "reassigned",
    )
    assert datetime.fromisoformat(body["due_at"]) == datetime(2025, 6, 11, 8, 15, tzinfo=UTC)
    assert body["due_rule"] is None

    back = client.patch(url, json={"owner_contact_id": None}, headers=planner).json()
    assert (back["owner_contact_id"], back["owner_source"]) == ("aokafor", "role")


BAD_CHANGES: list[tuple[dict[str, Any], list[str]]] = [
    ({"status": "blocked"}, ["body", "blocked_reason"]),
    ({"status": "blocked", "blocked_reason": "   "}, ["body", "blocked_reason"]),
    ({"blocked_reason": "No data"}, ["body", "blocked_reason"]),
    ({"status": "finished"}, ["body", "status"]),
    ({"status": None}, ["body", "status"]),
    ({"owner_contact_id": "sllewellyn"}, ["body", "owner_contact_id"]),
    ({"owner_contact_id": "nobody"}, ["body", "owner_contact_id"]),
    ({"owner_contact_id": ""}, ["body", "owner_contact_id"]),
    ({"due_at": "2025-06-11T09:00:00"}, ["body", "due_at"]),
    ({"due_at": "2025-06-11"}, ["body", "due_at"]),
    ({"due_at": 1749628800}, ["body", "due_at"]),
    ({"due_at": "0001-01-01T00:00:00+14:00"}, ["body", "due_at"]),
    ({"due_at": "9999-12-31T23:59:59-14:00"}, ["body", "due_at"]),
    ({"due_at": None}, ["body", "due_at"]),
    ({"title": "Another title"}, ["body", "title"]),
    ({"description": "Another text"}, ["body", "description"]),
    ({"colour": "red"}, ["body", "colour"]),
    ({"blocked_reason": "x" * 501, "status": "blocked"}, ["body", "blocked_reason"]),
]


@pytest.mark.sqlite_only
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    url = task_url(client, base, viewer, "annex_a")
    before = client.get(url, headers=viewer).json()

    for body, where in BAD_CHANGES:
        assert loc(client.patch(url, json=body, headers=planner)) == where, body
    assert client.get(url, headers=viewer).json() == before


def test_comments_are_added_and_shown_on_the_task(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    url = task_url(client, base, viewer, "annex_a")

    response = client.post(f"{url}/comments", json={"text": " Feed requested "}, headers=planner)

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"at", "author", "text"}
    assert response.json()["text"] == "Feed requested"
    detail = client.get(url, headers=viewer).json()
    assert [c["text"] for c in detail["comments"]] == ["Feed requested"]
    assert detail["comment_count"] == 1
    for bad in ({"text": ""}, {"text": "  "}, {"text": "x" * 2001}, {}):
        assert loc(client.post(f"{url}/comments", json=bad, headers=planner)) == ["body", "text"]


# --- ad-hoc tasks ----------------------------------------------------------------------------


def test_an_ad_hoc_task_is_201_with_its_location(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    response = client.post(
        base,
        json={
            "title": "Order lunch for the set-up meeting",
            "category": "meetings",
            "owner_role": "logistics_lead",
            "due_at": "2025-06-11T11:00:00+01:00",
            "depends_on": ["book_base_room"],
        },
        headers=planner,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{base}/{body['id']}"
    assert (body["key"], body["ad_hoc"], body["owner_contact_id"]) == (
        "order-lunch-for-the-set-up-meeting",
        True,
        "twojcik",
    )
    assert body["waiting_on"] == ["book_base_room"]
    assert client.get(response.headers["Location"], headers=viewer).json()["id"] == body["id"]
    assert len(listed(client, base, viewer)["items"]) == len(DUE) + 1


BAD_TASKS: list[tuple[dict[str, Any], list[str], str]] = [
    (
        {"title": "Lunch", "category": "meetings", "owner_role": "caterer"},
        ["body", "owner_role"],
        "known roles:",
    ),
    (
        {"title": "Lunch", "category": "meetings", "depends_on": ["lunch"]},
        ["body", "depends_on"],
        "'lunch'",
    ),
    ({"title": "Lunch", "category": "food"}, ["body", "category"], ""),
    ({"title": "", "category": "meetings"}, ["body", "title"], ""),
    ({"category": "meetings"}, ["body", "title"], ""),
    ({"title": "Lunch", "category": "meetings", "key": "Lunch!"}, ["body", "key"], ""),
    (
        {"title": "Lunch", "category": "meetings", "reminder_rule": "soon"},
        ["body", "reminder_rule"],
        "not a reminder rule",
    ),
    (
        {"title": "Lunch", "category": "meetings", "owner_contact_id": "sllewellyn"},
        ["body", "owner_contact_id"],
        "inactive",
    ),
]


@pytest.mark.sqlite_only
def test_a_bad_ad_hoc_task_is_422_and_adds_nothing(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    for body, where, says in BAD_TASKS:
        response = client.post(base, json=body, headers=planner)
        assert loc(response) == where, body
        assert says in response.json()["detail"][0]["msg"], body
    assert len(listed(client, base, viewer)["items"]) == len(DUE)


def test_an_ad_hoc_task_with_a_taken_key_is_409(
    client: TestClient, base: str, viewer: dict[str, str], planner: dict[str, str]
) -> None:
    response = client.post(
        base, json={"key": "annex_a", "title": "Annex A again", "category": "data"}, headers=planner
    )

    assert response.status_code == 409
    assert f"{base}/{response.json()['task_id']}" == task_url(client, base, viewer, "annex_a")


# --- closed inspections and scopes -----------------------------------------------------------


def test_a_closed_inspection_s_tasks_are_409(
    client: TestClient,
    base: str,
    viewer: dict[str, str],
    planner: dict[str, str],
    writer: dict[str, str],
) -> None:
    url = task_url(client, base, viewer, "annex_a")
    closed = client.post(
        base.removesuffix("/tasks") + "/milestones",
        json={"key": "closed", "date": "2025-06-10"},
        headers=writer,
    )
    assert closed.status_code == 200, closed.text

    assert client.patch(url, json={"status": "done"}, headers=planner).status_code == 409
    assert client.post(f"{url}/comments", json={"text": "Hi"}, headers=planner).status_code == 409
    added = client.post(base, json={"title": "Late", "category": "data"}, headers=planner)
    assert added.status_code == 409
    assert "closed" in added.json()["detail"]
    assert client.get(url, headers=viewer).json()["status"] == "to_do"


ROUTES = [
    ("GET", "", None, "plan:read"),
    ("GET", f"/{SOME_ID}", None, "plan:read"),
    ("PATCH", f"/{SOME_ID}", {"status": "done"}, "plan:write"),
    ("POST", f"/{SOME_ID}/comments", {"text": "Hi"}, "plan:write"),
    ("POST", "", {"title": "Lunch", "category": "meetings"}, "plan:write"),
]


@pytest.mark.sqlite_only
def test_each_route_needs_its_scope(
    client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    for method, path, body, scope in ROUTES:
        url = f"/api/v1/inspections/{SOME_ID}/tasks{path}"
        lacking = "inspections:write" if scope == "plan:read" else "plan:read"

        assert client.request(method, url, json=body).status_code == 401
        refused = client.request(method, url, json=body, headers=auth(lacking))
        assert refused.status_code == 403, (method, path)
        assert scope in refused.json()["detail"]
        # with the scope the request passes the check, to a 404 for the unknown inspection
        assert client.request(method, url, json=body, headers=auth(scope)).status_code == 404
