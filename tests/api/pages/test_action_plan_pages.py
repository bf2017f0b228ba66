"""Action plan pages: a coordinator starts a plan, adds a recommendation and an action (a task
underneath), records progress, changes the status and marks it done; every problem is shown at
its field with nothing written; a viewer reads only."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.actions.models import ActionPlan, ActionUpdate, PlanAction, Recommendation
from service.plan.models import Task
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return len(session.exec(select(table)).all())


def when(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(day.day),
        f"{prefix}-month": str(day.month),
        f"{prefix}-year": str(day.year),
    }


def test_a_coordinator_builds_a_plan_and_moves_an_action_on(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    plans = f"/inspections/{inspection_id}/action-plans"
    assert f'href="{plans}"' in client.get(f"/inspections/{inspection_id}").text
    refused = post_form(client, plans, {"title": ""}, page=plans)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#title", "Enter a title")]
    started = post_form(
        client,
        plans,
        {"title": "Help and protection", "judgement": "help_and_protection"},
        page=plans,
    )
    assert started.status_code == 303, started.text
    [plan_id] = re.findall(r'href="/inspections/[^/]+/action-plans/(\d+)"', client.get(plans).text)
    page = f"{plans}/{plan_id}"
    added = post_form(
        client, f"{page}/recommendations", {"text": "Review plans on time."}, page=page
    )
    assert added.status_code == 303
    with Session(engine) as session:
        [rec] = session.exec(select(Recommendation)).all()

    action_url = f"/inspections/{inspection_id}/recommendations/{rec.id}/actions"
    tasks_before = count(engine, Task)
    missing = post_form(client, action_url, {"rag": "red"}, page=page)
    assert missing.status_code == 422
    assert [href for href, _ in error_summary(missing.text)] == [
        "#due_on-day",
        "#title",
        "#agency",
        "#owner-contact-id",
    ]  # the reason a red status needs is asked for once these are right
    assert (count(engine, PlanAction), count(engine, Task)) == (0, tasks_before)
    due = date.today() + timedelta(days=60)
    made = post_form(
        client,
        action_url,
        {
            "title": "Audit 20 plans a month",
            "agency": "health",
            "owner_contact_id": "twojcik",
            "rag": "green",
        }
        | when("due_on", due),
        page=page,
    )
    assert made.status_code == 303, made.text
    shown = client.get(page).text
    assert "Audit 20 plans a month" in shown and "Health" in shown and "Tomasz Wójcik" in shown
    with Session(engine) as session:
        [action] = session.exec(select(PlanAction)).all()
    action_page = f"/inspections/{inspection_id}/actions/{action.id}"

    no_reason = post_form(
        client, action_page, {"change": "status", "rag": "amber"}, page=action_page
    )
    assert error_summary(no_reason.text) == [("#rag-reason", "Say why the action is amber")]
    amber = post_form(
        client,
        action_page,
        {"change": "status", "rag": "amber", "rag_reason": "Vacancies"},
        page=action_page,
    )
    assert amber.status_code == 303
    future = post_form(
        client,
        action_page,
        {"change": "progress", "text": "12 audited"} | when("on", date.today() + timedelta(days=2)),
        page=action_page,
    )
    assert future.status_code == 422 and error_summary(future.text)[0][0] == "#on-day"
    progress = post_form(
        client,
        action_page,
        {
            "change": "progress",
            "text": "12 audited",
            "evidence_url": "https://intranet.example.org/a",
        }
        | when("on", date.today()),
        page=action_page,
    )
    assert progress.status_code == 303
    finished = post_form(client, action_page, {"change": "done"}, page=action_page)
    assert finished.status_code == 303
    text = client.get(action_page).text
    assert "Marked done" in text and "12 audited" in text and "Vacancies" in text
    assert count(engine, ActionUpdate) == 1
    with Session(engine) as session:
        task = session.get(Task, action.task_id)
        assert task is not None and task.status == "done" and task.category == "action_plan"


def test_a_viewer_reads_but_cannot_change(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "viewer")
    plans = f"/inspections/{inspection_id}/action-plans"
    shown = client.get(plans)
    assert shown.status_code == 200 and 'id="start-plan"' not in shown.text
    assert post_form(client, plans, {"title": "P"}, page=plans).status_code == 403
    assert count(engine, ActionPlan) == 0
    assert client.get(f"{plans}/999").status_code == 404
    assert client.get(f"/inspections/{inspection_id}/actions/abc").status_code == 404
