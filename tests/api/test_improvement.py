"""The improvement pathway over HTTP on both databases: a clear 404 until an inadequate outcome
opens it, its shape once open, the board's members and meeting times changed, and bad input
refused naming the field with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.payloads import announce_body

INADEQUATE = {
    "help_and_protection": "inadequate",
    "looked_after": "requires_improvement",
    "leadership": "requires_improvement",
    "overall": "inadequate",
}


@pytest.fixture
def inspection(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post("/api/v1/inspections", json=announce_body(), headers=writer)
    assert response.status_code == 201, response.text
    return f"/api/v1/inspections/{response.json()['id']}"


@pytest.fixture
def opened(client: TestClient, inspection: str, writer: dict[str, str]) -> dict[str, Any]:
    response = client.put(
        f"{inspection}/judgements", json={"judgements": INADEQUATE}, headers=writer
    )
    assert response.status_code == 200, response.text
    found = client.get(f"{inspection}/improvement", headers=writer)
    assert found.status_code == 200, found.text
    return found.json()


def test_not_opened_is_a_404_saying_what_opens_it(
    client: TestClient, inspection: str, reader: dict[str, str]
) -> None:
    response = client.get(f"{inspection}/improvement", headers=reader)
    assert response.status_code == 404
    assert "opens when the overall judgement is recorded as inadequate" in response.text


def test_an_inadequate_outcome_opens_the_board_meetings_and_tasks(
    client: TestClient,
    inspection: str,
    reader: dict[str, str],
    auth: Callable[..., dict[str, str]],
    opened: dict[str, Any],
) -> None:
    assert set(opened) == {"opened_at", "grade", "board", "meetings", "tasks"}
    assert opened["grade"] == "inadequate"
    assert opened["board"] == {
        "name": "Improvement board",
        "members": ["improvement_board_chair", "dcs_office", "lead_member", "partnerships_lead"],
    }
    count = len(opened["meetings"])  # monthly for twelve months from today: 11 or 12
    assert count in (11, 12)
    assert [m["number"] for m in opened["meetings"]] == list(range(1, count + 1))
    year_on = datetime.fromisoformat(opened["opened_at"]) + timedelta(days=366)
    assert all(datetime.fromisoformat(m["starts_at"]) < year_on for m in opened["meetings"])
    assert {m["status"] for m in opened["meetings"]} == {"scheduled"}
    keys = {task["key"] for task in opened["tasks"]}
    assert {"improvement-board_terms", "improvement-improvement_plan"} <= keys
    assert opened["meetings"][0]["report_task_id"] in {task["id"] for task in opened["tasks"]}
    assert client.get(f"{inspection}/improvement", headers=reader).json() == opened
    plan = auth("plan:read")
    tasks = client.get(f"{inspection}/tasks?category=improvement", headers=plan).json()
    assert len(tasks["items"]) == len(opened["tasks"]) == 2 + count
    timeline = client.get(f"{inspection}/timeline", headers=reader).json()["items"]
    assert [e["kind"] for e in timeline].count("improvement_pathway_opened") == 1


def test_members_and_a_meeting_time_change(
    client: TestClient, inspection: str, writer: dict[str, str], opened: dict[str, Any]
) -> None:
    first = opened["meetings"][0]
    moved = datetime.fromisoformat(first["starts_at"]) + timedelta(days=1, hours=4)
    response = client.put(
        f"{inspection}/improvement/board",
        json={
            "members": ["improvement_board_chair", "dcs_office"],
            "meetings": [{"id": first["id"], "starts_at": moved.isoformat()}],
        },
        headers=writer,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["board"]["members"] == ["improvement_board_chair", "dcs_office"]
    changed = next(m for m in body["meetings"] if m["id"] == first["id"])
    assert datetime.fromisoformat(changed["starts_at"]) == moved
    report = next(t for t in body["tasks"] if t["id"] == first["report_task_id"])
    before = next(t for t in opened["tasks"] if t["id"] == first["report_task_id"])
    assert report["due_at"] != before["due_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"members": ["mayor"]}, "members.0"),
        ({"members": []}, "members"),
        ({"members": ["dcs_office", "dcs_office"]}, "members"),
        ({"meetings": [{"id": 999999, "starts_at": "2030-01-01T10:00:00+00:00"}]}, "id"),
        ({"meetings": [{"id": "FIRST", "starts_at": "2030-01-01T10:00:00"}]}, "starts_at"),
        ({"meetings": [{"id": "FIRST", "starts_at": "2020-01-01T10:00:00+00:00"}]}, "starts_at"),
        ({"chair": "someone"}, "chair"),
    ],
)
def test_bad_board_changes_are_422_naming_the_field_and_change_nothing(
    client: TestClient,
    inspection: str,
    writer: dict[str, str],
    opened: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    for meeting in body.get("meetings", []):
        if meeting["id"] == "FIRST":
            meeting["id"] = opened["meetings"][0]["id"]
    # a good change sent with the bad one must not be written either
    if "members" not in body:
        body = {**body, "members": ["dcs_office"]}
    response = client.put(f"{inspection}/improvement/board", json=body, headers=writer)
    assert response.status_code == 422, response.text
    locations = [".".join(str(p) for p in item["loc"]) for item in response.json()["detail"]]
    assert any(field in location for location in locations), locations
    assert client.get(f"{inspection}/improvement", headers=writer).json() == opened


def test_the_board_of_a_pathway_not_opened_is_a_404(
    client: TestClient, inspection: str, writer: dict[str, str]
) -> None:
    response = client.put(
        f"{inspection}/improvement/board", json={"members": ["dcs_office"]}, headers=writer
    )
    assert response.status_code == 404


def test_reading_needs_a_key_and_changing_needs_write(
    client: TestClient, inspection: str, reader: dict[str, str], opened: dict[str, Any]
) -> None:
    assert client.get(f"{inspection}/improvement").status_code == 401
    response = client.put(
        f"{inspection}/improvement/board", json={"members": ["dcs_office"]}, headers=reader
    )
    assert response.status_code == 403
