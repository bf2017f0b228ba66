"""Where each event is emitted: written in the transaction of the change it reports, carrying
the resource as the API returns it, in the order the changes happened."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import signed_links
from service.cascade import flows as cascade_flows
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.judgements import service as judgements
from service.main import build_handlers
from service.plan import tasks as plan_tasks
from service.plan.models import Task
from service.plan.schemas import TaskCreate, TaskUpdate
from service.rules import Rules
from service.scheduler.due import run_due
from service.webhooks import service as webhooks
from service.webhooks.models import WebhookDelivery, WebhookEvent
from tests.builders import ACTOR, london, make_contact, make_inspection, read_nodes

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)


def minutes(n: float) -> datetime:
    return ANNOUNCED + timedelta(minutes=n)


def events(engine: Engine, type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as session:
        query = select(WebhookEvent).order_by(col(WebhookEvent.created_at))
        if type is not None:
            query = query.where(WebhookEvent.type == type)
        found = [(e.type, json.loads(e.body)) for e in session.exec(query)]
    for kind, body in found:
        assert set(body) == {"type", "timestamp", "data"} and body["type"] == kind
    return found


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    with Session(session.get_bind()) as writer:
        webhooks.create(
            writer,
            url="https://127.0.0.1:9/hooks",
            events=list(webhooks.EVENT_TYPES),
            description=None,
            actor="test",
            now=CALL,
        )
        writer.commit()
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead")
    make_contact(session, "team", "Priya Natarajan", reports_to="sg-dcs")
    session.commit()
    return make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)


def test_announcing_emits_the_inspection_as_the_api_returns_it(
    engine: Engine, inspection: Inspection
) -> None:
    ((_, body),) = events(engine, "inspection.announced")
    data = body["data"]
    assert data["id"] == str(inspection.id)
    assert data["framework"] == "sif-2013"
    assert {d["key"] for d in data["deadlines"]} >= {"publication"}
    emitted = len(events(engine))
    with Session(engine) as session:  # one delivery row per subscriber, written with it
        assert len(session.exec(select(WebhookDelivery)).all()) == emitted


def test_acknowledgements_emit_progress_by_tenths_then_completed(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    for n, contact_id in enumerate(["sg-dcs", "sg-lead", "team"]):
        node = read_nodes(engine, inspection.id)[contact_id]
        with Session(engine) as session:
            token = signed_links.ack_signer(session, now=ANNOUNCED).token_for(node.ack_code)
            cascade_flows.acknowledge_link(session, token, rules=rules, now=minutes(n + 1))
            session.commit()
    progress = [body["data"]["percent"] for _, body in events(engine, "cascade.progress")]
    assert progress == [30, 60, 100]
    ((_, completed),) = events(engine, "cascade.completed")
    assert completed["data"]["acknowledged"] == completed["data"]["people"] == 3


def test_two_acknowledgements_at_once_announce_two_tenths_not_one_twice(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    """As two replicas would: the first acknowledgement's transaction is still open when the
    second counts. The second must count after the first commits, never beside it."""
    nodes = read_nodes(engine, inspection.id)

    def acknowledge(session: Session, contact_id: str, at: datetime) -> None:
        token = signed_links.ack_signer(session, now=ANNOUNCED).token_for(
            nodes[contact_id].ack_code
        )
        cascade_flows.acknowledge_link(session, token, rules=rules, now=at)

    first = Session(engine)
    acknowledge(first, "sg-dcs", minutes(1))  # counted, not yet committed
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as session:
                acknowledge(session, "sg-lead", minutes(1))
                session.commit()
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)

    other = threading.Thread(target=second)
    other.start()
    other.join(timeout=1.0)  # it waits for the first to commit (or, unlocked, finishes first)
    first.commit()
    first.close()
    other.join(timeout=60)
    assert not other.is_alive() and errors == []
    progress = sorted(body["data"]["percent"] for _, body in events(engine, "cascade.progress"))
    assert progress == [30, 60]


def test_a_closed_window_emits_contact_escalated(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due(engine, now=minutes(16), handlers=build_handlers(rules), worker="test")
    escalated = {body["data"]["contact_id"] for _, body in events(engine, "contact.escalated")}
    assert escalated >= {"sg-dcs", "sg-lead"}
    assert all(
        body["data"]["inspection_id"] == str(inspection.id)
        for _, body in events(engine, "contact.escalated")
    )


def test_tasks_emit_created_completed_and_overdue(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as session:
        task = plan_tasks.create(
            session,
            rules=rules,
            inspection_id=inspection.id,
            request=TaskCreate(
                title="Book the base room", category="logistics", due_at=minutes(60)
            ),
            actor=ACTOR,
            now=minutes(1),
        )
        session.commit()
        task_id = task.id
    created = [body["data"] for _, body in events(engine, "task.created")]
    assert len(created) > 1  # the plan's tasks at the announcement, then the new one
    assert created[-1]["id"] == str(task_id) and created[-1]["status"] == "to_do"
    assert all(task["inspection_id"] == str(inspection.id) for task in created)
    types = [kind for kind, _ in events(engine)]
    assert types.index("inspection.announced") < types.index("task.created")
    run_due(engine, now=minutes(24 * 60), handlers=build_handlers(rules), worker="test")
    overdue = [body["data"]["id"] for _, body in events(engine, "task.overdue")]
    assert str(task_id) in overdue
    with Session(engine) as session:
        plan_tasks.update(
            session,
            rules=rules,
            inspection_id=inspection.id,
            task_id=task_id,
            changes=TaskUpdate(status="done"),
            actor=ACTOR,
            now=minutes(24 * 60 + 1),
        )
        session.commit()
    ((_, completed),) = events(engine, "task.completed")
    assert completed["data"]["status"] == "done" and completed["data"]["done_by"] == ACTOR
    with Session(engine) as session:
        assert session.get(Task, task_id) is not None


def test_timetable_milestones_deadlines_and_judgements_emit_in_order(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as session:
        inspection_flows.override_day(
            session,
            rules=rules,
            inspection_id=inspection.id,
            day=date(2025, 3, 7),
            on_site=False,
            actor=ACTOR,
            now=minutes(5),
        )
        session.commit()
    ((_, changed),) = events(engine, "timetable.changed")
    assert {"date": "2025-03-07", "on_site": False} in changed["data"]["overrides"]
    published = date(2025, 4, 30)
    with Session(engine) as session:
        inspection_flows.record_milestone(
            session,
            rules=rules,
            inspection_id=inspection.id,
            key=Milestone.report_published,
            day=published,
            actor=ACTOR,
            now=london(2025, 5, 1),
        )
        session.commit()
    ((_, milestone),) = events(engine, "inspection.milestone_recorded")
    assert milestone["data"]["milestones"]["report_published"] == published.isoformat()
    ((_, met),) = events(engine, "deadline.met")
    assert met["data"]["met_on"] == published.isoformat() and met["data"]["on_time"] is True
    with Session(engine) as session:
        judgements.record(
            session,
            rules=rules,
            inspection_id=inspection.id,
            grades={
                "help_and_protection": "good",
                "looked_after": "good",
                "adoption": "good",
                "care_leavers": "good",
                "leadership": "good",
            },
            actor=ACTOR,
            now=london(2025, 5, 2),
        )
        session.commit()
    ((_, judged),) = events(engine, "inspection.judgements_recorded")
    assert judged["data"]["inspection_id"] == str(inspection.id)
    grades = {item["key"]: item["grade"] for item in judged["data"]["judgements"]}
    assert grades["leadership"] == "good" and "overall" in judged["data"]
    types = [kind for kind, _ in events(engine)]
    assert types.index("timetable.changed") < types.index("inspection.milestone_recorded")
    assert types.index("deadline.met") < types.index("inspection.judgements_recorded")


def test_a_deadline_reminder_is_emitted_with_its_deadline(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due(engine, now=london(2025, 6, 30), handlers=build_handlers(rules), worker="test")
    reminders = events(engine, "deadline.reminder")
    assert reminders, "no reminder came due"
    data = reminders[0][1]["data"]
    assert data["inspection_id"] == str(inspection.id)
    assert {"label", "due", "working_days_before"} <= set(data)


def test_nobody_listening_writes_no_event(engine: Engine, rules: Rules, session: Session) -> None:
    make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    assert events(engine) == []  # no subscription was made in this test
