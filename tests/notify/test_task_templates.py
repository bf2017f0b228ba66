"""The message templates of plan tasks (task_reminder, task_overdue, task_digest) in use: previews
through the templates API, and a council's edit reaching the reminder a task's due row sends.
The wording, placeholders and validation are tested in tests/notify/templates/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.notify.models import Medium
from service.notify.templates.placeholders import TASK_PURPOSES
from service.rules import Rules
from tests.builders import make_inspection
from tests.plan.reminder_plan import (
    BASE_ROOM_REMINDER,
    CALL,
    add_people,
    plan_settings,
    run_due_rows,
    task_messages,
)

pytestmark = pytest.mark.sqlite_only

TASK_ONES = sorted(TASK_PURPOSES)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path)


def test_the_templates_api_previews_a_reminder_with_this_server_s_links(
    client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("templates:read")

    listed = client.get("/api/v1/templates", headers=headers).json()["items"]
    assert {(i["purpose"], i["medium"]) for i in listed} >= {
        (purpose.value, medium.value) for purpose in TASK_ONES for medium in Medium
    }
    response = client.post(
        "/api/v1/templates/task_reminder/email/preview", json={}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"].startswith("Reminder: Book the base room and car parking")
    assert "https://inspections.example.org/tasks/done/" in body["body"]
    assert body["html_body"].count("<a href=") == 1


def test_a_council_edit_is_what_the_owner_receives(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    session: Session,
    engine: Engine,
    rules: Rules,
) -> None:
    saved = client.put(
        "/api/v1/templates/task_reminder/email",
        json={
            "subject": "Plan reminder: ((task.title))",
            "body": "((contact.name)), by ((task.due)) please. Done? ((task.done_url))",
        },
        headers=auth("templates:write"),
    )
    assert saved.status_code == 200, saved.text
    add_people(session)
    inspection = make_inspection(session, rules, notified_at=CALL)

    run_due_rows(engine, rules, BASE_ROOM_REMINDER)

    [message] = task_messages(engine, inspection.id, "task_reminder")
    assert message.subject == "Plan reminder: Book the base room for the inspection team"
    assert message.body.startswith("Tomasz Wójcik, by Tuesday 8 April 2025, 14:00 please. Done? ")
    assert "https://inspections.example.org/tasks/done/" in message.body
