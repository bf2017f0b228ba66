"""The message templates of plan tasks (task_reminder, task_overdue, task_digest): the shipped
wording, their placeholders, validation, previews through the templates API and a council's
edit reaching the reminder a task's due row sends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.errors import InvalidInput
from service.inspections.service import Rules
from service.notify import render
from service.notify.base import Medium
from service.notify.govuk_notify import SMS_MAX_CHARACTERS
from service.notify.render import PLACEHOLDERS, TASK_PURPOSES, Purpose
from tests.builders import make_inspection
from tests.plan.reminder_plan import (
    BASE_ROOM_REMINDER,
    CALL,
    add_people,
    plan_settings,
    run_due_rows,
    task_messages,
)

TASK_ONES = sorted(TASK_PURPOSES)
LINK = "https://inspections.example.org/tasks/done/bYExlcVvSl2cOVoLee0kew.RTIyMDE.awQ_Nw.sig"


def context(purpose: Purpose, **changes: Any) -> dict[str, Any]:
    """Plain values, shaped as the task handlers pass them."""
    values: dict[str, Any] = {
        "council_name": "Northbridge Borough Council",
        "inspection": {
            "framework_name": "Single inspection framework (2013)",
            "lead_inspector": "Harriet Oyelaran",
            "notified_at": "Tuesday 8 April 2025, 10:00",
            "on_site_start": "Wednesday 9 April 2025",
            "inspection_end": "Wednesday 30 April 2025",
        },
        "contact": {"name": "Tomasz Wójcik", "role": "Business Support Manager"},
        "ack_url": "",
        "tasks": [],
        "task": {
            "title": "Book the base room",
            "due": "Tuesday 8 April 2025, 14:00",
            "description": "",
            "done_url": LINK,
        },
        "owner": {"name": "Priya Natarajan", "role": ""},
        "day": "Wednesday 9 April 2025",
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("purpose", TASK_ONES)
@pytest.mark.parametrize("medium", list(Medium))
def test_the_shipped_wording_validates_and_renders(purpose: Purpose, medium: Medium) -> None:
    shipped = render.default(purpose, medium)
    render.validate(purpose, medium, shipped.subject, shipped.body)

    tasks = [
        {"title": "Book the base room", "due": "Tuesday 8 April 2025, 14:00", "overdue": True,
         "done_url": LINK},
        {"title": "Draft the statement", "due": "", "overdue": False, "done_url": LINK + "2"},
    ]  # fmt: skip
    rendered = render.render_text(
        purpose,
        medium,
        subject=shipped.subject,
        body=shipped.body,
        context=context(purpose, tasks=tasks),
        drill=False,
    )

    assert "{{" not in rendered.body and "{%" not in rendered.body
    assert "Northbridge Borough Council" in rendered.body
    assert "Book the base room" in rendered.body
    assert LINK in rendered.body or medium is Medium.sms and purpose is Purpose.task_digest
    if purpose is Purpose.task_overdue:
        assert "Priya Natarajan" in rendered.body
    if purpose is Purpose.task_digest:
        assert "Draft the statement" in rendered.body and "OVERDUE" in rendered.body
    if medium is Medium.email:
        assert rendered.subject and rendered.body.startswith("Dear Tomasz Wójcik,")
    else:
        assert rendered.characters <= SMS_MAX_CHARACTERS and rendered.sms_fragments is not None


def test_a_digest_with_no_open_tasks_still_reads_well() -> None:
    shipped = render.default(Purpose.task_digest, Medium.email)
    rendered = render.render_text(
        Purpose.task_digest,
        Medium.email,
        subject=shipped.subject,
        body=shipped.body,
        context=context(Purpose.task_digest),
        drill=False,
    )
    assert "You have no open tasks" in rendered.body and "Mark it done" not in rendered.body


def test_each_task_purpose_lists_its_own_placeholders_and_no_acknowledgement_link() -> None:
    for purpose in TASK_ONES:
        assert "ack_url" not in PLACEHOLDERS[purpose]
        assert "contact.name" in PLACEHOLDERS[purpose]
    assert {"task.title", "task.due", "task.description", "task.done_url"} <= set(
        PLACEHOLDERS[Purpose.task_reminder]
    )
    assert {"owner.name", "owner.role"} <= set(PLACEHOLDERS[Purpose.task_overdue])
    assert {"day", "tasks", "tasks[].title", "tasks[].due", "tasks[].done_url"} <= set(
        PLACEHOLDERS[Purpose.task_digest]
    )


@pytest.mark.parametrize(
    ("purpose", "body", "says"),
    [
        (Purpose.task_reminder, "{{ task.title }} {{ ack_url }}", "ack_url"),
        (Purpose.task_reminder, "{{ task.titel }}", "task.titel"),
        (Purpose.task_overdue, "{{ owner.nmae }}", "owner.nmae"),
        (Purpose.task_reminder, "{{ owner.name }}", "owner"),
        (Purpose.task_digest, "{{ tasks[0].title }}", "loop over it"),
        (Purpose.task_digest, "{{ task.title }}", "task"),
    ],
)
def test_a_council_edit_using_what_the_purpose_lacks_is_refused(
    purpose: Purpose, body: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        render.validate(purpose, Medium.sms, "", body)
    assert raised.value.field == "body" and says in raised.value.message


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
            "subject": "Plan reminder: {{ task.title }}",
            "body": "{{ contact.name }}, by {{ task.due }} please. Done? {{ task.done_url }}",
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
