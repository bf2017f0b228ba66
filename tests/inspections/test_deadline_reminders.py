"""Deadline reminders as they come due: one timeline entry each, none for a closed inspection,
a missed one caught up once, and a moved deadline reminded at its new time only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.frameworks import Milestone
from service.inspections import flows, reminders, service
from service.inspections.models import Inspection
from service.inspections.schemas import InspectionPublic
from service.rules import Rules
from service.scheduler.core import Scheduler
from service.scheduler.due import DueJob, DueStatus
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection

CALL = london(2025, 3, 4, 10)  # a Tuesday, as the framework expects; no bank holiday for weeks


@pytest.fixture
def scheduler(engine: Engine, rules: Rules) -> Iterator[Scheduler]:
    handlers = {reminders.KIND: partial(flows.remind_deadline, rules=rules)}
    scheduler = Scheduler(engine, handlers=handlers, tick_seconds=60)
    yield scheduler
    scheduler.shutdown()


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    return make_inspection(session, rules, notified_at=CALL)


def reminder_rows(engine: Engine, inspection: Inspection) -> list[DueJob]:
    with Session(engine, expire_on_commit=False) as session:
        query = (
            select(DueJob)
            .where(DueJob.inspection_id == inspection.id, DueJob.kind == reminders.KIND)
            .order_by(col(DueJob.due_at), col(DueJob.id))
        )
        return list(session.exec(query).all())


def row(engine: Engine, inspection: Inspection, deadline: str, days_before: int) -> DueJob:
    key = reminders.dedupe_key(inspection, deadline, days_before)
    return next(r for r in reminder_rows(engine, inspection) if r.dedupe_key == key)


def reminder_entries(engine: Engine, inspection: Inspection) -> list[TimelineEntry]:
    with Session(engine, expire_on_commit=False) as session:
        query = (
            select(TimelineEntry)
            .where(
                TimelineEntry.inspection_id == inspection.id,
                TimelineEntry.kind == "deadline_reminder",
            )
            .order_by(col(TimelineEntry.id))
        )
        return list(session.exec(query).all())


def public(engine: Engine, rules: Rules, inspection: Inspection) -> InspectionPublic:
    """Read in a short transaction of its own: on SQLite an open one would block the tick."""
    with Session(engine) as session:
        return service.public(session, service.get(session, inspection.id), rules=rules, now=CALL)


def deadline_due(engine: Engine, rules: Rules, inspection: Inspection, key: str) -> date:
    return next(d.due for d in public(engine, rules, inspection).deadlines if d.key == key)


def test_a_due_reminder_writes_one_timeline_entry_naming_its_deadline(
    engine: Engine,
    rules: Rules,
    inspection: Inspection,
    scheduler: Scheduler,
) -> None:
    first = reminder_rows(engine, inspection)[0]
    deadline = first.payload["deadline"]
    due = deadline_due(engine, rules, inspection, deadline)
    assert first.payload["working_days_before"] == max(reminders.WORKING_DAYS_BEFORE)

    result = scheduler.tick(now=first.due_at)

    assert result is not None and result.done == 1
    [entry] = reminder_entries(engine, inspection)
    assert (entry.actor, entry.at) == ("scheduler", first.due_at)
    assert entry.data["job_id"] == first.id
    assert entry.data["deadline"] == deadline
    assert entry.data["due"] == due.isoformat()
    assert entry.data["working_days_before"] == first.payload["working_days_before"]
    assert first.payload["label"] in entry.summary
    assert f"in {first.payload['working_days_before']} working days" in entry.summary
    assert due.isoformat() in entry.summary
    done = row(engine, inspection, deadline, first.payload["working_days_before"])
    assert (done.status, done.attempts, done.outcome) == (DueStatus.done, 1, "reminded")


def test_reminder_wording_counts_down_to_the_day_itself(
    engine: Engine, inspection: Inspection, scheduler: Scheduler
) -> None:
    on_the_day = row(engine, inspection, "publication", 0)

    scheduler.tick(now=on_the_day.due_at)

    summaries = {
        entry.data["working_days_before"]: entry.summary
        for entry in reminder_entries(engine, inspection)
        if entry.data["deadline"] == "publication"
    }
    assert set(summaries) == set(reminders.WORKING_DAYS_BEFORE)
    assert "is due today" in summaries[0]
    assert "is due in 1 working day (" in summaries[1]
    assert "is due in 2 working days (" in summaries[2]


def test_a_closed_inspection_gets_no_reminder(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection, scheduler: Scheduler
) -> None:
    first = reminder_rows(engine, inspection)[0]
    closed_at = first.due_at - timedelta(days=1)
    flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=rules.local_date(closed_at),
        actor=ACTOR,
        now=closed_at,
    )
    session.commit()

    # Even a row claimed as the inspection closed finds it closed and writes nothing.
    with Session(engine) as handler_session:
        job = handler_session.get(DueJob, first.id)
        assert job is not None
        outcome = flows.remind_deadline(handler_session, job, first.due_at, rules=rules)
        assert outcome == "skipped: inspection closed"
        handler_session.commit()
    last = reminder_rows(engine, inspection)[-1]
    scheduler.tick(now=last.due_at + timedelta(days=1))

    assert reminder_entries(engine, inspection) == []
    assert {r.status for r in reminder_rows(engine, inspection)} == {DueStatus.cancelled}


def test_a_reminder_due_while_the_service_was_down_fires_once_on_the_next_tick(
    engine: Engine, inspection: Inspection, scheduler: Scheduler
) -> None:
    first, second = reminder_rows(engine, inspection)[:2]
    assert second.due_at - first.due_at >= timedelta(hours=6)
    scheduler.tick(now=first.due_at - timedelta(minutes=1))
    assert reminder_entries(engine, inspection) == []

    back_up = first.due_at + timedelta(hours=3)  # nothing ran across the due time
    scheduler.tick(now=back_up)
    for later in (timedelta(seconds=5), timedelta(minutes=1), timedelta(hours=2)):
        scheduler.tick(now=back_up + later)

    [entry] = reminder_entries(engine, inspection)
    assert (entry.data["job_id"], entry.at) == (first.id, back_up)
    rows = {r.id: r for r in reminder_rows(engine, inspection)}
    assert (rows[first.id].status, rows[first.id].attempts) == (DueStatus.done, 1)
    assert (rows[second.id].status, rows[second.id].attempts) == (DueStatus.pending, 0)


def test_a_moved_deadline_is_reminded_at_its_new_time_not_the_old_one(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection, scheduler: Scheduler
) -> None:
    old_due = deadline_due(engine, rules, inspection, "publication")
    old = row(engine, inspection, "publication", 10)
    end = public(engine, rules, inspection).inspection_end
    extra_day = end + timedelta(days=1)
    assert extra_day.strftime("%A") == "Thursday"

    # The lead inspector stays one day longer: the end, and every deadline, move a day later.
    flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=extra_day,
        on_site=True,
        actor=ACTOR,
        now=CALL + timedelta(days=7),
    )
    session.commit()
    new_due = deadline_due(engine, rules, inspection, "publication")
    assert new_due > old_due
    moved = row(engine, inspection, "publication", 10)
    assert moved.id == old.id and moved.status == DueStatus.pending
    assert moved.due_at > old.due_at
    assert moved.payload["due"] == new_due.isoformat()

    scheduler.tick(now=old.due_at)
    assert reminder_entries(engine, inspection) == [], "nothing fires at the old time"

    scheduler.tick(now=moved.due_at)
    scheduler.tick(now=moved.due_at + timedelta(hours=1))
    [entry] = reminder_entries(engine, inspection)
    assert entry.data["job_id"] == old.id
    assert entry.data["due"] == new_due.isoformat()
    assert entry.at == moved.due_at
