"""Action plans through HTTP on both databases: agencies, a plan per key judgement and per
partner, recommendations, actions (a task underneath each), RAG changes with reasons, progress
updates with evidence links, the filtered and paged list of actions, and bad input refused with
nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.config import Settings
from tests.conftest import make_settings
from tests.plan.small_plan import announce_over_api, write_plan


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    write_plan(tmp_path / "plans")
    return make_settings(database_url=database_url, plans_dir=tmp_path / "plans")


@pytest.fixture
def planner(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:write", "inspections:write")


@pytest.fixture
def plan_reader(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:read")


@pytest.fixture
def inspection(client: TestClient, session: Session, planner: dict[str, str]) -> str:
    return announce_over_api(client, session, planner)


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def make_plan(client: TestClient, url: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Help and protection")
    return created(client.post(f"{url}/action-plans", json=body, headers=headers))


def recommend(
    client: TestClient, url: str, plan_id: int, headers: dict[str, str]
) -> dict[str, Any]:
    body = {"text": "Review every child-in-need plan within timescales."}
    return created(
        client.post(f"{url}/action-plans/{plan_id}/recommendations", json=body, headers=headers)
    )


ACTION = {
    "title": "Audit 20 child-in-need plans a month",
    "agency": "childrens-services",
    "owner_contact_id": "twojcik",
    "due_on": "2025-09-30",
}


def act(client: TestClient, url: str, rec_id: int, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        f"{url}/recommendations/{rec_id}/actions", json=ACTION | body, headers=headers
    )


def test_a_plan_fills_up_and_its_counts_follow(
    client: TestClient, inspection: str, planner: dict[str, str], plan_reader: dict[str, str]
) -> None:
    plan = make_plan(client, inspection, planner, judgement="help_and_protection")
    assert plan["judgement"] == "help_and_protection" and plan["recommendations"] == []
    rec = recommend(client, inspection, plan["id"], planner)
    assert rec["judgement"] == "help_and_protection"  # the plan's, when not given
    first = created(
        act(client, inspection, rec["id"], planner, rag="amber", rag_reason="Vacancies")
    )
    assert (first["owner_name"], first["agency_name"], first["due_on"]) == (
        "Tomasz Wójcik",
        "Children's services",
        "2025-09-30",
    )
    assert (first["rag"], first["rag_reason"], first["done"]) == ("amber", "Vacancies", False)
    task = client.get(f"{inspection}/tasks/{first['task_id']}", headers=plan_reader).json()
    assert task["category"] == "action_plan"
    assert task["due_at"] == "2025-09-30T16:00:00Z"  # 17:00 British Summer Time
    assert task["reminder_rule"] == "5 working days before"
    created(act(client, inspection, rec["id"], planner, owner_contact_id="aokafor"))

    changed = client.patch(
        f"{inspection}/actions/{first['id']}",
        json={"rag": "red", "rag_reason": "No audits in August", "done": True},
        headers=planner,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["rag"], changed.json()["done"]) == ("red", True)
    update = created(
        client.post(
            f"{inspection}/actions/{first['id']}/updates",
            json={
                "on": "2025-08-29",
                "text": "12 audited",
                "evidence_url": "https://intranet.example.org/a",
            },
            headers=planner,
        )
    )
    assert update["evidence_url"] == "https://intranet.example.org/a"
    detail = client.get(f"{inspection}/actions/{first['id']}", headers=plan_reader).json()
    assert [u["text"] for u in detail["updates"]] == ["12 audited"]
    assert detail["update_count"] == 1 and detail["last_update"]["on"] == "2025-08-29"

    listed = client.get(f"{inspection}/action-plans", headers=plan_reader).json()
    assert listed["next_cursor"] is None
    [summary] = listed["items"]
    assert summary["counts"] == {
        "recommendations": 1,
        "actions": 2,
        "done": 1,
        "overdue": 1,  # the open one was due in 2025
        "red": 1,
        "amber": 0,
        "green": 1,
    }
    whole = client.get(f"{inspection}/action-plans/{plan['id']}", headers=plan_reader).json()
    assert [len(r["actions"]) for r in whole["recommendations"]] == [2]
    kinds = [
        e["kind"]
        for e in client.get(f"{inspection}/timeline?limit=500", headers=planner).json()["items"]
    ]
    for kind in (
        "action_plan_created",
        "recommendation_added",
        "task_added",
        "action_rag_changed",
        "action_progress",
    ):
        assert kind in kinds


def test_a_partners_plan_and_a_councils_own_agency(
    client: TestClient, inspection: str, planner: dict[str, str], plan_reader: dict[str, str]
) -> None:
    unknown = client.post(
        f"{inspection}/action-plans",
        json={"title": "YJS", "partner": "youth-justice"},
        headers=planner,
    )
    assert unknown.status_code == 422
    assert (
        "the agencies are: childrens-services, health, police" in unknown.json()["detail"][0]["msg"]
    )
    created(
        client.post(
            "/api/v1/agencies",
            json={"key": "youth-justice", "name": "Youth Justice Service"},
            headers=planner,
        )
    )
    again = client.post("/api/v1/agencies", json={"key": "health", "name": "NHS"}, headers=planner)
    assert again.status_code == 409
    page = client.get("/api/v1/agencies?limit=4", headers=plan_reader).json()
    assert [a["key"] for a in page["items"]] == [
        "childrens-services",
        "health",
        "police",
        "education",
    ]
    rest = client.get(f"/api/v1/agencies?cursor={page['next_cursor']}", headers=plan_reader).json()
    assert [(a["key"], a["builtin"]) for a in rest["items"]] == [
        ("safeguarding-partnership", True),
        ("youth-justice", False),
    ]
    assert rest["next_cursor"] is None
    plan = make_plan(client, inspection, planner, title="YJS plan", partner="youth-justice")
    assert plan["partner"] == "youth-justice"


def test_the_actions_list_pages_and_filters(
    client: TestClient, inspection: str, planner: dict[str, str], plan_reader: dict[str, str]
) -> None:
    plan = make_plan(client, inspection, planner)
    rec = recommend(client, inspection, plan["id"], planner)
    for n in range(5):
        extra = {"rag": "red", "rag_reason": "late"} if n % 2 else {}
        created(act(client, inspection, rec["id"], planner, title=f"Action {n}", **extra))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{inspection}/actions", params=params, headers=plan_reader).json()
        seen += [a["title"] for a in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [f"Action {n}" for n in range(5)]
    red = client.get(f"{inspection}/actions?rag=red", headers=plan_reader).json()["items"]
    assert [a["title"] for a in red] == ["Action 1", "Action 3"]
    mine = client.get(f"{inspection}/actions?owner=aokafor", headers=plan_reader).json()["items"]
    assert mine == []
    overdue = client.get(f"{inspection}/actions?overdue=true", headers=plan_reader).json()["items"]
    assert len(overdue) == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agency": "fire"}, "agency"),
        ({"owner_contact_id": "nobody"}, "owner_contact_id"),
        ({"owner_contact_id": "sllewellyn"}, "owner_contact_id"),
        ({"rag": "red"}, "rag_reason"),
        ({"rag": "purple"}, "rag"),
        ({"due_on": "31/09/2025"}, "due_on"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_actions_are_422_naming_the_field_and_write_nothing(
    client: TestClient,
    inspection: str,
    planner: dict[str, str],
    plan_reader: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    plan = make_plan(client, inspection, planner)
    rec = recommend(client, inspection, plan["id"], planner)
    tasks_before = len(client.get(f"{inspection}/tasks", headers=plan_reader).json()["items"])
    response = act(client, inspection, rec["id"], planner, **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]
    assert client.get(f"{inspection}/actions", headers=plan_reader).json()["items"] == []
    after = len(client.get(f"{inspection}/tasks", headers=plan_reader).json()["items"])
    assert after == tasks_before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("action-plans", {"title": "P", "judgement": "safeguarding"}, "judgement"),
        ("action-plans", {"title": " "}, "title"),
        ("updates", {"on": "2099-01-01", "text": "t"}, "on"),
        (
            "updates",
            {"on": "2025-08-01", "text": "t", "evidence_url": "javascript:x"},
            "evidence_url",
        ),
        ("updates", {"on": "2025-08-01", "text": "x" * 2001}, "text"),
        ("patch", {"rag_reason": "why"}, "rag"),
        ("patch", {"rag": "amber"}, "rag_reason"),
    ],
)
def test_other_bad_input_is_422(
    client: TestClient,
    inspection: str,
    planner: dict[str, str],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    plan = make_plan(client, inspection, planner)
    rec = recommend(client, inspection, plan["id"], planner)
    action = created(act(client, inspection, rec["id"], planner))
    if path == "action-plans":
        response = client.post(f"{inspection}/action-plans", json=body, headers=planner)
    elif path == "updates":
        response = client.post(
            f"{inspection}/actions/{action['id']}/updates", json=body, headers=planner
        )
    else:
        response = client.patch(f"{inspection}/actions/{action['id']}", json=body, headers=planner)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]
    again = client.get(f"{inspection}/actions/{action['id']}", headers=planner).json()
    assert (again["rag"], again["updates"]) == ("green", [])


def test_unknown_ids_closed_inspections_and_scopes(
    client: TestClient, inspection: str, planner: dict[str, str], plan_reader: dict[str, str]
) -> None:
    plan = make_plan(client, inspection, planner)
    rec = recommend(client, inspection, plan["id"], planner)
    assert client.get(f"{inspection}/action-plans/999", headers=plan_reader).status_code == 404
    assert act(client, inspection, 999, planner).status_code == 404
    assert client.get(f"{inspection}/actions/999", headers=plan_reader).status_code == 404
    other = "/api/v1/inspections/7d0f6f61-2d43-4d39-9d47-7d5b7a1f0c11"
    assert client.get(f"{other}/action-plans/{plan['id']}", headers=plan_reader).status_code == 404
    assert client.get(f"{other}/actions", headers=plan_reader).status_code == 404
    assert (
        client.post(
            f"{inspection}/action-plans", json={"title": "P"}, headers=plan_reader
        ).status_code
        == 403
    )
    assert client.get(f"{inspection}/action-plans").status_code == 401
    closed = client.post(
        f"{inspection}/milestones", json={"key": "closed", "date": "2025-08-01"}, headers=planner
    )
    assert closed.status_code == 200, closed.text
    assert act(client, inspection, rec["id"], planner).status_code == 409
    assert (
        client.post(f"{inspection}/action-plans", json={"title": "P"}, headers=planner).status_code
        == 409
    )
