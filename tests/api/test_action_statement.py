"""The written statement of action through HTTP on both databases: draft, approval at a meeting,
publication meeting the 70-working-day deadline (the milestone recorded with it), and every
out-of-order step or bad input refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.payloads import announce_body

APPROVAL = {"approved_by": "Cabinet", "approved_on": "2025-10-14", "meeting": "Cabinet, 14 October"}
PUBLICATION = {"published_on": "2025-10-20", "url": "https://www.example.org/wsoa"}


@pytest.fixture
def inspection(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post("/api/v1/inspections", json=announce_body(), headers=writer)
    assert response.status_code == 201, response.text
    return f"/api/v1/inspections/{response.json()['id']}"


def report_published(client: TestClient, url: str, writer: dict[str, str]) -> None:
    response = client.post(
        f"{url}/milestones", json={"key": "report_published", "date": "2025-08-01"}, headers=writer
    )
    assert response.status_code == 200, response.text


def step(client: TestClient, url: str, writer: dict[str, str], name: str, body: Any) -> Any:
    path = f"{url}/action-statement" + (f"/{name}" if name else "")
    method = client.put if not name else client.post
    return method(path, json=body, headers=writer)


def kinds(client: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    return [e["kind"] for e in client.get(f"{url}/timeline", headers=headers).json()["items"]]


def test_draft_approve_publish_meets_the_deadline(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    report_published(client, inspection, writer)
    none = client.get(f"{inspection}/action-statement", headers=reader).json()
    assert none["stage"] == "none"
    assert none["deadline"]["due"] == "2025-11-10" and none["deadline"]["met_on"] is None
    assert none["deadline"]["working_days"] == 70
    assert none["deadline"]["working_days_left"] < 0  # the call was in 2025

    drafted = step(client, inspection, writer, "", {"draft_url": "https://intranet.example.org/d3"})
    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["stage"] == "draft"
    assert drafted.json()["title"] == "Written statement of action"

    approved = step(client, inspection, writer, "approve", APPROVAL).json()
    assert (approved["stage"], approved["approved_by"], approved["meeting"]) == (
        "approved",
        "Cabinet",
        "Cabinet, 14 October",
    )
    assert step(client, inspection, writer, "", {"title": "Late edit"}).status_code == 409

    published = step(client, inspection, writer, "publish", PUBLICATION)
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["stage"] == "published" and body["url"] == "https://www.example.org/wsoa"
    assert body["deadline"]["met_on"] == "2025-10-20"
    assert body["deadline"]["working_days_left"] is None
    shown = client.get(inspection, headers=reader).json()
    assert shown["milestones"]["action_statement_published"] == "2025-10-20"
    assert shown["status"] == "action_statement_published"
    assert [
        k for k in kinds(client, inspection, reader) if "statement" in k or "milestone" in k
    ] == [
        "milestone_recorded",
        "action_statement_drafted",
        "action_statement_approved",
        "action_statement_published",
        "milestone_recorded",
    ]
    assert step(client, inspection, writer, "approve", APPROVAL).status_code == 409


def statement_tasks(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    items = client.get(f"{url}/tasks", params={"limit": 100}, headers=headers).json()["items"]
    return {t["key"]: t["status"] for t in items if t["key"].startswith("action_statement_")}


def test_each_stage_moves_the_plans_statement_tasks_on_and_never_back(
    client: TestClient, inspection: str, writer: dict[str, str], admin: dict[str, str]
) -> None:
    report_published(client, inspection, writer)
    assert statement_tasks(client, inspection, admin) == {
        "action_statement_draft": "to_do",
        "action_statement_approve": "to_do",
        "action_statement_publish": "to_do",
    }
    assert step(client, inspection, writer, "", {}).status_code == 200
    assert statement_tasks(client, inspection, admin)["action_statement_draft"] == "in_progress"
    # Someone marks the publish task done by hand early: publishing leaves it done.
    tasks = client.get(f"{inspection}/tasks", params={"limit": 100}, headers=admin).json()
    publish_task = next(t for t in tasks["items"] if t["key"] == "action_statement_publish")
    by_hand = client.patch(
        f"{inspection}/tasks/{publish_task['id']}", json={"status": "done"}, headers=admin
    )
    assert by_hand.status_code == 200, by_hand.text
    assert step(client, inspection, writer, "approve", APPROVAL).status_code == 200
    assert statement_tasks(client, inspection, admin) == {
        "action_statement_draft": "done",
        "action_statement_approve": "done",
        "action_statement_publish": "done",
    }
    assert step(client, inspection, writer, "publish", PUBLICATION).status_code == 200
    assert set(statement_tasks(client, inspection, admin).values()) == {"done"}


def test_out_of_order_steps_are_409_and_change_nothing(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    assert step(client, inspection, writer, "approve", APPROVAL).status_code == 409
    assert step(client, inspection, writer, "publish", PUBLICATION).status_code == 409
    assert step(client, inspection, writer, "", {}).status_code == 200
    refused = step(client, inspection, writer, "publish", PUBLICATION)
    assert refused.status_code == 409 and "not approved" in refused.json()["detail"]
    assert client.get(f"{inspection}/action-statement", headers=reader).json()["stage"] == "draft"


def test_publishing_before_the_report_is_422_on_published_on_and_writes_nothing(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    step(client, inspection, writer, "", {})
    step(client, inspection, writer, "approve", APPROVAL)
    refused = step(client, inspection, writer, "publish", PUBLICATION)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "published_on"]
    assert "report_published" in refused.json()["detail"][0]["msg"]
    after = client.get(f"{inspection}/action-statement", headers=reader).json()
    assert after["stage"] == "approved" and after["published_on"] is None
    assert "action_statement_published" not in kinds(client, inspection, reader)


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("approve", APPROVAL | {"approved_on": "2099-01-01"}, "approved_on"),
        ("approve", APPROVAL | {"approved_on": "2025-06-01"}, "approved_on"),
        ("approve", APPROVAL | {"meeting": "  "}, "meeting"),
        ("approve", APPROVAL | {"approved_by": "x" * 201}, "approved_by"),
        ("approve", {k: v for k, v in APPROVAL.items() if k != "meeting"}, "meeting"),
        ("publish", PUBLICATION | {"url": "javascript:alert(1)"}, "url"),
        ("publish", PUBLICATION | {"url": "https://example.org/" + "a" * 2000}, "url"),
        ("publish", PUBLICATION | {"published_on": "2025-10-01"}, "published_on"),
        ("publish", PUBLICATION | {"published_on": "2099-01-01"}, "published_on"),
        ("", {"notes": "x" * 5001}, "notes"),
        ("", {"title": "ok\x00"}, "title"),
        ("", {"draft_url": "ftp://example.org/d"}, "draft_url"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient,
    inspection: str,
    writer: dict[str, str],
    reader: dict[str, str],
    name: str,
    body: dict[str, Any],
    field: str,
) -> None:
    report_published(client, inspection, writer)
    step(client, inspection, writer, "", {})
    if name == "publish":
        step(client, inspection, writer, "approve", APPROVAL)
    before = client.get(f"{inspection}/action-statement", headers=reader).json()
    response = step(client, inspection, writer, name, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert client.get(f"{inspection}/action-statement", headers=reader).json() == before


def test_closed_unknown_and_scopes(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    missing = "/api/v1/inspections/7d0f6f61-2d43-4d39-9d47-7d5b7a1f0c11"
    assert client.get(f"{missing}/action-statement", headers=reader).status_code == 404
    assert step(client, missing, writer, "", {}).status_code == 404
    assert step(client, inspection, reader, "", {}).status_code == 403
    assert client.get(f"{inspection}/action-statement").status_code == 401
    client.post(
        f"{inspection}/milestones", json={"key": "closed", "date": "2025-08-01"}, headers=writer
    )
    assert step(client, inspection, writer, "", {}).status_code == 409
