"""The one-click "mark done" pages, followed from the link in a real reminder or escalation:
opening the link records nothing (mail scanners open links), pressing the button marks the task
done and stops its reminders, twice is harmless, and expired, forged or unknown links get a clear
page rather than an error."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import signed_links
from service.config import Settings
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.plan import roles, tasks
from service.plan.reminders import overdue_key
from service.plan.schemas import TaskUpdate
from service.rules import Rules
from service.scheduler.due import DueStatus
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection
from tests.plan.reminder_plan import (
    BASE_ROOM_DUE,
    BASE_ROOM_REMINDER,
    CALL,
    PUBLIC,
    add_people,
    plan_settings,
    run_due_rows,
    task,
    task_messages,
    task_rows,
)

SOON = BASE_ROOM_REMINDER + timedelta(minutes=5)
"""When the owner opens the reminder."""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path, ack_link_max_age_hours=1)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def link_in(engine: Engine, inspection: Inspection, purpose: str, contact_id: str) -> str:
    """The path of the mark-done link in the person's e-mail, as they would click it."""
    message = next(
        m
        for m in task_messages(engine, inspection.id, purpose)
        if (m.contact_id, m.medium) == (contact_id, "email")
    )
    found = re.search(re.escape(PUBLIC) + r"(/tasks/done/[A-Za-z0-9._-]+)", message.body)
    assert found is not None, message.body
    return found.group(1)


@pytest.fixture
def reminder_link(engine: Engine, rules: Rules, inspection: Inspection) -> str:
    run_due_rows(engine, rules, BASE_ROOM_REMINDER)
    return link_in(engine, inspection, "task_reminder", "logi")


def done_entries(engine: Engine, inspection: Inspection) -> list[TimelineEntry]:
    with Session(engine, expire_on_commit=False) as fresh:
        return list(
            fresh.exec(
                select(TimelineEntry)
                .where(
                    TimelineEntry.inspection_id == inspection.id,
                    TimelineEntry.kind == "task_done",
                )
                .order_by(col(TimelineEntry.id))
            ).all()
        )


def at(moment: datetime) -> time_machine.travel:
    """The clock for a page request: it runs on from `moment`."""
    return time_machine.travel(moment)


def near(moment: datetime | None, to: datetime) -> bool:
    return moment is not None and to <= moment < to + timedelta(seconds=30)


def test_opening_the_link_shows_one_button_and_records_nothing(
    client: TestClient, engine: Engine, inspection: Inspection, reminder_link: str
) -> None:
    with at(SOON):
        for _ in range(3):  # a scanner, a preview pane, the person
            page = client.get(reminder_link)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en-GB"' in html and "<title>Mark this task done" in html
    assert "Tomasz Wójcik" in html
    assert "Book the base room for the inspection team" in html
    assert "Due by 14:00 on Tuesday 08 April 2025" in html
    assert html.count("<button") == 1
    assert '<form method="post">' in html  # posts back to the link itself, prefix and all
    assert "EXERCISE" not in html
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert done_entries(engine, inspection) == []


def test_pressing_the_button_marks_the_task_done_and_stops_its_escalation(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection, reminder_link: str
) -> None:
    with at(SOON):
        response = client.post(reminder_link)

    assert response.status_code == 200
    assert "Thank you, Tomasz Wójcik" in response.text
    assert "marked done by Tomasz Wójcik (12:05 on 08 April 2025)" in response.text
    stored = task(engine, inspection.id, "base_room")
    assert (stored.status, stored.done_by) == ("done", "link:logi") and near(stored.done_at, SOON)
    [entry] = done_entries(engine, inspection)
    assert entry.actor == "link:logi"
    row = task_rows(engine, inspection.id)[overdue_key(inspection.id, stored.id)]
    assert (row.status, row.outcome) == (DueStatus.cancelled, "task done")

    run_due_rows(engine, rules, BASE_ROOM_DUE)
    assert task_messages(engine, inspection.id, "task_overdue") == []

    with at(SOON + timedelta(minutes=1)):
        reopened = client.get(reminder_link)
    assert "This task is already done" in reopened.text and "<button" not in reopened.text


def test_pressing_twice_is_harmless(
    client: TestClient, engine: Engine, inspection: Inspection, reminder_link: str
) -> None:
    with at(SOON):
        assert client.post(reminder_link).status_code == 200
    with at(SOON + timedelta(minutes=2)):
        again = client.post(reminder_link)

    assert again.status_code == 200 and "already done" in again.text
    assert near(task(engine, inspection.id, "base_room").done_at, SOON)
    assert len(done_entries(engine, inspection)) == 1


def test_the_deputy_s_link_from_an_escalation_records_the_deputy(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, BASE_ROOM_DUE)
    link = link_in(engine, inspection, "task_overdue", "logi-dep")

    with at(BASE_ROOM_DUE + timedelta(minutes=10)):
        response = client.post(link)

    assert "Thank you, Amara Okafor" in response.text
    assert task(engine, inspection.id, "base_room").done_by == "link:logi-dep"


def change_task(engine: Engine, rules: Rules, inspection: Inspection, **changes: str) -> None:
    """What a coordinator does on the plan page or through the API."""
    with Session(engine) as session:
        stored = task(engine, inspection.id, "base_room")
        tasks.update(
            session,
            rules=rules,
            inspection_id=inspection.id,
            task_id=stored.id,
            changes=TaskUpdate(**changes),
            actor="user:coordinator",
            now=SOON,
        )
        session.commit()


def test_a_link_sent_before_the_task_was_reassigned_says_so_and_records_nothing(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection, reminder_link: str
) -> None:
    change_task(engine, rules, inspection, owner_contact_id="data")
    with at(SOON + timedelta(minutes=1)):
        for method in (client.get, client.post):
            response = method(reminder_link)
            assert response.status_code == 409
            assert "This link no longer works" in response.text
            assert "given to someone else" in response.text
            assert "<button" not in response.text
    stored = task(engine, inspection.id, "base_room")
    assert (stored.status, stored.owner_contact_id) == ("to_do", "data")
    assert done_entries(engine, inspection) == []


def test_a_link_sent_before_the_role_changed_hands_no_longer_works(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection, reminder_link: str
) -> None:
    with Session(engine) as session:
        roles.assign(
            session,
            rules=rules,
            role="logistics_lead",
            contact_id="logi-dep",
            actor="user:coordinator",
            now=SOON,
        )
        session.commit()
    with at(SOON + timedelta(minutes=1)):
        response = client.post(reminder_link)
    assert response.status_code == 409 and "given to someone else" in response.text
    assert task(engine, inspection.id, "base_room").status == "to_do"


def test_a_link_pressed_before_the_task_was_reopened_cannot_close_it_again(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection, reminder_link: str
) -> None:
    with at(SOON):
        assert client.post(reminder_link).status_code == 200
    change_task(engine, rules, inspection, status="to_do")
    with at(SOON + timedelta(minutes=2)):
        for method in (client.get, client.post):
            response = method(reminder_link)
            assert response.status_code == 409
            assert "The task was reopened after this link was sent" in response.text
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert len(done_entries(engine, inspection)) == 1


def test_a_change_that_keeps_the_owner_leaves_the_link_working(
    client: TestClient, engine: Engine, rules: Rules, inspection: Inspection, reminder_link: str
) -> None:
    change_task(engine, rules, inspection, status="in_progress")
    with at(SOON + timedelta(minutes=1)):
        response = client.post(reminder_link)
    assert response.status_code == 200 and "Thank you, Tomasz Wójcik" in response.text
    assert task(engine, inspection.id, "base_room").status == "done"


def test_an_expired_link_gets_a_page_saying_so_and_records_nothing(
    client: TestClient, engine: Engine, inspection: Inspection, reminder_link: str
) -> None:
    with at(BASE_ROOM_REMINDER + timedelta(hours=1, minutes=1)):
        for method in (client.get, client.post):
            response = method(reminder_link)
            assert response.status_code == 410
            assert "This link has expired" in response.text
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert done_entries(engine, inspection) == []


@pytest.mark.sqlite_only
def test_a_forged_or_unknown_link_is_404_with_a_page(
    client: TestClient,
    engine: Engine,
    session: Session,
    inspection: Inspection,
    reminder_link: str,
) -> None:
    forged = reminder_link[:-3] + ("abc" if not reminder_link.endswith("abc") else "xyz")
    with at(SOON):
        unknown_task = signed_links.done_signer(session, now=SOON).token_for(
            uuid.uuid4(), "logi", 0
        )
        session.rollback()
        for path in (forged, "/tasks/done/nonsense", f"/tasks/done/{unknown_task}"):
            for method in (client.get, client.post):
                response = method(path)
                assert response.status_code == 404, path
                assert "This link is not valid" in response.text
    assert task(engine, inspection.id, "base_room").status == "to_do"


def test_a_closed_inspection_s_link_says_so_and_records_nothing(
    client: TestClient,
    engine: Engine,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    reminder_link: str,
) -> None:
    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=CALL.date(),
        actor=ACTOR,
        now=london(2025, 4, 8, 12, 2),
    )
    session.commit()

    with at(SOON):
        response = client.post(reminder_link)

    assert response.status_code == 200
    assert "This inspection is closed" in response.text and "<button" not in response.text
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert done_entries(engine, inspection) == []
    row = task_rows(engine, inspection.id)[
        overdue_key(inspection.id, task(engine, inspection.id, "base_room").id)
    ]
    assert (row.status, row.outcome) == (DueStatus.cancelled, "inspection closed")
