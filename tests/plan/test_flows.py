"""One-click "mark done" links in use: what marking done records (once, even when two presses
race), on both databases."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import signed_links
from service.config import Settings
from service.db import make_engine
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.plan import flows
from service.plan.reminders import overdue_key, reminder_key
from service.rules import Rules
from service.scheduler.due import DueStatus
from service.signed_links import LinkInvalid
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection
from tests.plan.reminder_plan import CALL, add_people, plan_settings, task, task_rows

HOUR = 3600


# --- marking done ----------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def token_for(engine: Engine, task_id: uuid.UUID, contact_id: str) -> str:
    with Session(engine) as other:
        token = signed_links.done_signer(other, now=CALL).token_for(task_id, contact_id, 0)
        other.commit()
    return token


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


def test_describing_a_link_records_nothing(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    base_room = task(engine, inspection.id, "base_room")
    token = token_for(engine, base_room.id, "logi-dep")

    link = flows.describe_done_link(session, token, max_age_seconds=HOUR, now=CALL)

    assert (link.title, link.name, link.owner_name) == (
        "Book the base room for the inspection team",
        "Amara Okafor",
        "Tomasz Wójcik",
    )
    assert (link.done_at, link.closed, link.drill, link.just_done) == (None, False, False, False)
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert done_entries(engine, inspection) == []


def test_marking_done_records_who_once_and_cancels_the_task_s_rows(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    base_room = task(engine, inspection.id, "base_room")
    token = token_for(engine, base_room.id, "logi")
    at = CALL + timedelta(minutes=40)

    link = flows.mark_done_by_link(session, token, max_age_seconds=HOUR, now=at)
    session.commit()

    assert link.just_done and link.done_at == at and link.done_by_name == "Tomasz Wójcik"
    stored = task(engine, inspection.id, "base_room")
    assert (stored.status, stored.done_at, stored.done_by, stored.updated_at) == (
        "done",
        at,
        "link:logi",
        at,
    )
    [entry] = done_entries(engine, inspection)
    assert (entry.actor, entry.at, entry.data["task_id"]) == ("link:logi", at, str(base_room.id))
    assert entry.summary == (
        "Book the base room for the inspection team: marked done by Tomasz Wójcik (one-click link)"
    )
    rows = task_rows(engine, inspection.id)
    for key in (
        reminder_key(inspection.id, base_room.id),
        overdue_key(inspection.id, base_room.id),
    ):
        assert (rows[key].status, rows[key].outcome, rows[key].finished_at) == (
            DueStatus.cancelled,
            "task done",
            at,
        )
    other = task(engine, inspection.id, "final_room")
    assert rows[overdue_key(inspection.id, other.id)].status == DueStatus.pending

    again = flows.mark_done_by_link(
        session, token, max_age_seconds=HOUR, now=at + timedelta(hours=1)
    )
    session.commit()
    assert not again.just_done and again.done_at == at
    assert len(done_entries(engine, inspection)) == 1


def test_two_presses_at_once_record_one_change(
    engine: Engine, database_url: str, inspection: Inspection
) -> None:
    token = token_for(engine, task(engine, inspection.id, "base_room").id, "logi")
    start = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def press(minute: int) -> None:
        own = make_engine(database_url)
        try:
            with Session(own) as pressing:
                start.wait()
                link = flows.mark_done_by_link(
                    pressing, token, max_age_seconds=HOUR, now=CALL + timedelta(minutes=minute)
                )
                pressing.commit()
                results.append(link.just_done)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=press, args=(minute,)) for minute in (30, 31)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [False, True]
    assert len(done_entries(engine, inspection)) == 1


def test_a_link_to_a_task_that_does_not_exist_is_invalid(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    token = token_for(engine, uuid.uuid4(), "logi")

    with pytest.raises(LinkInvalid, match="not known"):
        flows.describe_done_link(session, token, max_age_seconds=HOUR, now=CALL)
    with pytest.raises(LinkInvalid):
        flows.mark_done_by_link(session, token, max_age_seconds=HOUR, now=CALL)


def test_a_closed_inspection_records_nothing(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, task(engine, inspection.id, "final_room").id, "logi")
    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=CALL.date(),
        actor=ACTOR,
        now=london(2025, 4, 8, 15, 0),
    )
    session.commit()

    link = flows.mark_done_by_link(session, token, max_age_seconds=HOUR, now=CALL)
    session.commit()

    assert link.closed and link.done_at is None and not link.just_done
    assert task(engine, inspection.id, "final_room").status == "to_do"
    assert done_entries(engine, inspection) == []
