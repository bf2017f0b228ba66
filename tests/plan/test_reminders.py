"""Task reminders, overdue escalations and the 08:00 digest, from the announce that writes their
rows to the outbox rows the scheduler's handlers write, with the clock travelling: each fires at
its time and not before, to the right people, never for a done task or a closed inspection or a
drill, never twice (rolled back, run again, two workers, a killed process), and moves with the
timetable and the task's due time."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.config import Settings
from service.contacts.models import Contact
from service.db import make_engine
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.main import build_handlers, build_rules
from service.plan import reminders, tasks
from service.plan.models import Task, TaskStatus
from service.plan.reminders import (
    DIGEST_KIND,
    OVERDUE_KIND,
    REMINDER_KIND,
    digest_key,
    overdue_key,
    reminder_key,
)
from service.plan.schemas import TaskUpdate
from service.rules import Rules
from service.scheduler.due import DueJob, DueStatus, run_due
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection
from tests.conftest import make_settings
from tests.plan.reminder_plan import (
    ANNEX_A_DUE,
    BASE_ROOM_DUE,
    BASE_ROOM_REMINDER,
    CALL,
    EASTER_MONDAY,
    FINAL_ROOM_DUE,
    FINAL_ROOM_REMINDER,
    MEMBERS_DUE,
    ON_SITE_DAYS,
    PUBLIC,
    add_people,
    plan_settings,
    run_due_rows,
    task,
    task_messages,
    task_rows,
)
from tests.processes import poll

SECOND = timedelta(seconds=1)
DONE_LINK = re.compile(re.escape(PUBLIC) + r"/tasks/done/[A-Za-z0-9._-]+")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def task_id(engine: Engine, inspection: Inspection, key: str) -> uuid.UUID:
    return task(engine, inspection.id, key).id


def overdue_entries(engine: Engine, inspection: Inspection) -> list[TimelineEntry]:
    with Session(engine, expire_on_commit=False) as fresh:
        return list(
            fresh.exec(
                select(TimelineEntry)
                .where(
                    TimelineEntry.inspection_id == inspection.id,
                    TimelineEntry.kind == "task_overdue",
                )
                .order_by(col(TimelineEntry.id))
            ).all()
        )


def sent_to(engine: Engine, inspection: Inspection, purpose: str) -> list[tuple[str, str]]:
    return sorted(
        (m.contact_id or "", m.medium) for m in task_messages(engine, inspection.id, purpose)
    )


def change_task(
    session: Session, rules: Rules, inspection: Inspection, key: str, now: datetime, **changes
) -> None:
    """A change through the tasks' own rules (as the API makes it): they bring the rows along."""
    tasks.update(
        session,
        rules=rules,
        inspection_id=inspection.id,
        task_id=session.exec(
            select(Task.id).where(Task.inspection_id == inspection.id, Task.key == key)
        ).one(),
        changes=TaskUpdate(**changes),
        actor=ACTOR,
        now=now,
    )
    session.commit()


# --- the rows written at announce ------------------------------------------------------------


def test_announce_schedules_each_timed_open_task_and_every_on_site_morning(
    engine: Engine, inspection: Inspection
) -> None:
    ids = {key: task_id(engine, inspection, key) for key in ("base_room", "annex_a", "members")}
    ids["final_room"] = task_id(engine, inspection, "final_room")

    rows = task_rows(engine, inspection.id)

    expected = {
        reminder_key(inspection.id, ids["base_room"]): (REMINDER_KIND, BASE_ROOM_REMINDER),
        overdue_key(inspection.id, ids["base_room"]): (OVERDUE_KIND, BASE_ROOM_DUE),
        # the Annex A reminder (Tuesday 08:30) had passed when Ofsted called at 10:00: none
        overdue_key(inspection.id, ids["annex_a"]): (OVERDUE_KIND, ANNEX_A_DUE),
        # the members' briefing has no reminder rule, the statement no due time yet
        overdue_key(inspection.id, ids["members"]): (OVERDUE_KIND, MEMBERS_DUE),
        reminder_key(inspection.id, ids["final_room"]): (REMINDER_KIND, FINAL_ROOM_REMINDER),
        overdue_key(inspection.id, ids["final_room"]): (OVERDUE_KIND, FINAL_ROOM_DUE),
    }
    for day in ON_SITE_DAYS:
        expected[digest_key(inspection.id, day)] = (
            DIGEST_KIND,
            london(day.year, day.month, day.day, 8, 0),
        )
    assert {key: (row.kind, row.due_at) for key, row in rows.items()} == expected
    assert {row.status for row in rows.values()} == {DueStatus.pending}
    assert digest_key(inspection.id, EASTER_MONDAY) not in rows


def test_a_drill_gets_no_task_rows_and_no_task_messages(
    session: Session, engine: Engine, rules: Rules
) -> None:
    add_people(session)
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)

    assert task(engine, drill.id, "base_room").owner_contact_id == "logi"  # tasks, yes
    assert task_rows(engine, drill.id) == {}
    run_due_rows(engine, rules, london(2025, 5, 1, 9, 0))
    assert task_messages(engine, drill.id) == []


# --- reminders -------------------------------------------------------------------------------


def test_a_reminder_goes_to_the_owner_at_its_rule_s_time_and_not_before(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, BASE_ROOM_REMINDER - SECOND)
    assert task_messages(engine, inspection.id) == []

    run_due_rows(engine, rules, BASE_ROOM_REMINDER)

    [message] = task_messages(engine, inspection.id)
    # by the first of Tomasz's channels (e-mail, then text): one reminder, not one per channel
    assert (message.purpose, message.contact_id, message.medium, message.address) == (
        "task_reminder",
        "logi",
        "email",
        "logi@example.org",
    )
    assert message.subject == (
        "Reminder: Book the base room for the inspection team, due by Tuesday 8 April 2025, 14:00"
    )
    assert message.body.startswith("Dear Tomasz Wójcik,")
    assert "A room for six inspectors from the first morning." in message.body
    assert len(DONE_LINK.findall(message.body)) == 1
    assert message.html_body is not None and DONE_LINK.search(message.html_body)
    assert not message.drill
    row = task_rows(engine, inspection.id)[
        reminder_key(inspection.id, task_id(engine, inspection, "base_room"))
    ]
    assert (row.status, row.attempts, row.outcome) == (DueStatus.done, 1, "reminded logi")

    run_due_rows(engine, rules, BASE_ROOM_REMINDER + timedelta(minutes=30))
    assert len(task_messages(engine, inspection.id, "task_reminder")) == 1


def test_a_text_only_owner_is_reminded_by_text_with_the_link(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    # Priya's Annex A moves to Thursday 10 April, 12:00: her reminder comes a working day before.
    change_task(
        session, rules, inspection, "annex_a", CALL + timedelta(hours=1),
        due_at=london(2025, 4, 10, 12, 0),
    )  # fmt: skip

    run_due_rows(engine, rules, london(2025, 4, 9, 12, 0))

    [message] = task_messages(engine, inspection.id, "task_reminder")
    assert (message.contact_id, message.medium, message.subject) == ("data", "sms", "")
    assert (
        '"Send the Annex A data to the lead inspector" is due by Thursday 10 April 2025, 12:00'
        in (message.body)
    )
    assert DONE_LINK.search(message.body)


def test_a_reminder_due_after_its_task_is_already_overdue_is_not_sent_late(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    # Nothing ran between the reminder's time and the due time (say the service was down).
    run_due_rows(engine, rules, BASE_ROOM_DUE)

    assert task_messages(engine, inspection.id, "task_reminder") == []
    row = task_rows(engine, inspection.id)[
        reminder_key(inspection.id, task_id(engine, inspection, "base_room"))
    ]
    assert (row.status, row.outcome) == (
        DueStatus.done,
        "skipped: already due; the overdue escalation follows",
    )
    assert sent_to(engine, inspection, "task_overdue") != []


def test_the_owner_is_read_when_the_reminder_fires_and_a_departed_one_s_deputy_stands_in(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    person = session.get(Contact, "logi")
    assert person is not None
    person.active = False  # Tomasz has left after the call: Amara, his deputy, stands in
    session.add(person)
    session.commit()

    run_due_rows(engine, rules, BASE_ROOM_REMINDER)

    assert sent_to(engine, inspection, "task_reminder") == [("logi-dep", "email")]
    [message] = task_messages(engine, inspection.id, "task_reminder")
    assert message.body.startswith("Dear Amara Okafor,")


# --- escalations -----------------------------------------------------------------------------


def test_an_overdue_task_is_escalated_to_the_deputy_and_the_steering_group_lead(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, BASE_ROOM_REMINDER)
    run_due_rows(engine, rules, BASE_ROOM_DUE - SECOND)
    assert task_messages(engine, inspection.id, "task_overdue") == []

    run_due_rows(engine, rules, BASE_ROOM_DUE)

    # by every channel they chose: an escalation must not be missed; never to the owner
    assert sent_to(engine, inspection, "task_overdue") == [
        ("logi-dep", "email"),
        ("logi-dep", "sms"),
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]
    emails = [
        m for m in task_messages(engine, inspection.id, "task_overdue") if m.medium == "email"
    ]
    for message in emails:
        assert message.subject == (
            "Overdue: Book the base room for the inspection team, "
            "was due by Tuesday 8 April 2025, 14:00"
        )
        assert "It belongs to Tomasz Wójcik" in message.body
        assert len(DONE_LINK.findall(message.body)) == 1
    assert {m.body.splitlines()[0] for m in emails} == {
        "Dear Amara Okafor,",
        "Dear Harriet Oyelaran,",
    }
    [entry] = overdue_entries(engine, inspection)
    assert (entry.actor, entry.at) == ("scheduler", BASE_ROOM_DUE)
    assert entry.summary == (
        "Overdue: Book the base room for the inspection team (Tomasz Wójcik); "
        "told Amara Okafor, Harriet Oyelaran"
    )
    assert entry.data["told"] == ["logi-dep", "sg-lead"]
    assert entry.data["task_id"] == str(task_id(engine, inspection, "base_room"))
    # reminders are not on the timeline, escalations are
    with Session(engine) as fresh:
        kinds = set(
            fresh.exec(
                select(TimelineEntry.kind).where(TimelineEntry.inspection_id == inspection.id)
            ).all()
        )
    assert "task_reminder" not in kinds


def test_the_lead_s_own_overdue_task_goes_to_the_lead(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    # Nobody holds communications_lead: the members' briefing is Harriet's, and she has no
    # deputy, so she is the one told.
    run_due_rows(engine, rules, MEMBERS_DUE)

    members = [
        m
        for m in task_messages(engine, inspection.id, "task_overdue")
        if "Brief elected members" in m.body
    ]
    assert sorted((m.contact_id, m.medium) for m in members) == [
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]


# --- the 08:00 digest ------------------------------------------------------------------------


def test_the_digest_goes_at_eight_on_on_site_days_only_one_per_owner(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, london(2025, 4, 9, 7, 59))
    assert task_messages(engine, inspection.id, "task_digest") == []

    first = date(2025, 4, 9)
    for offset in range(14):  # every morning from Wednesday 9 to Tuesday 22 April
        day = first + timedelta(days=offset)
        run_due_rows(engine, rules, london(day.year, day.month, day.day, 8, 0))
        if day == date(2025, 4, 10):
            change_task(
                session, rules, inspection, "annex_a", london(2025, 4, 10, 9, 0), status="done"
            )

    digests = task_messages(engine, inspection.id, "task_digest")
    by_day = Counter(m.created_at.astimezone(rules.zone).date() for m in digests)
    # not in the off-site week 2, not at weekends, not on Easter Monday
    assert sorted(by_day) == [date(2025, 4, d) for d in (9, 10, 11, 22)]
    assert EASTER_MONDAY not in by_day
    assert {m.created_at.astimezone(rules.zone).time() for m in digests} == {time(8, 0)}
    # one message a day to each owner with open tasks, by their first-choice channel
    first_morning = sorted(
        (m.contact_id, m.medium) for m in digests if m.created_at == london(2025, 4, 9, 8, 0)
    )
    assert first_morning == [("data", "sms"), ("logi", "email"), ("sg-lead", "email")]

    logi = next(
        m for m in digests if m.contact_id == "logi" and m.created_at == london(2025, 4, 9, 8)
    )
    assert logi.subject == "Your inspection tasks for Wednesday 9 April 2025"
    overdue = logi.body.index("Book the base room for the inspection team")
    later = logi.body.index("Book the room for the final meeting")
    assert overdue < later  # soonest first
    assert "OVERDUE: it was due by Tuesday 8 April 2025, 14:00." in logi.body
    assert "Due by Wednesday 30 April 2025, 12:00." in logi.body
    assert len(DONE_LINK.findall(logi.body)) == 2

    data_days = {
        m.created_at.astimezone(rules.zone).date(): m.body
        for m in digests
        if m.contact_id == "data"
    }
    assert "Send the Annex A data" in data_days[date(2025, 4, 9)]
    assert "; Draft the written statement of action. Mark" in data_days[date(2025, 4, 9)]
    # Annex A was marked done on the 10th after the digest: the 11th lists only the statement
    assert "Send the Annex A data" not in data_days[date(2025, 4, 11)]
    assert (
        "Your open inspection tasks: Draft the written statement of action."
        in (data_days[date(2025, 4, 11)])
    )


def test_a_digest_whose_whole_day_passed_while_nothing_ran_is_not_sent(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(
        engine, rules, london(2025, 4, 10, 9, 0)
    )  # the 9th's and 10th's at 09:00 on the 10th

    days = {
        m.created_at.astimezone(rules.zone).date()
        for m in task_messages(engine, inspection.id, "task_digest")
    }
    assert days == {date(2025, 4, 10)}
    row = task_rows(engine, inspection.id)[digest_key(inspection.id, date(2025, 4, 9))]
    assert (row.status, row.outcome) == (DueStatus.done, "skipped: its day has passed")


# --- done tasks ------------------------------------------------------------------------------


def test_marking_a_task_done_cancels_its_rows_and_nothing_is_sent_for_it(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    base_room = task_id(engine, inspection, "base_room")
    change_task(session, rules, inspection, "base_room", CALL + timedelta(hours=1), status="done")

    rows = task_rows(engine, inspection.id)
    for key in (reminder_key(inspection.id, base_room), overdue_key(inspection.id, base_room)):
        assert (rows[key].status, rows[key].outcome) == (DueStatus.cancelled, "task done")
    run_due_rows(engine, rules, london(2025, 4, 9, 8, 0))
    assert not any("base room" in m.body for m in task_messages(engine, inspection.id))
    logi = [
        m for m in task_messages(engine, inspection.id, "task_digest") if m.contact_id == "logi"
    ]
    assert len(logi) == 1 and "final meeting" in logi[0].body

    # reopened: the rows whose times are still ahead come back
    change_task(session, rules, inspection, "base_room", CALL + timedelta(hours=1, minutes=10),
                status="in_progress")  # fmt: skip
    row = task_rows(engine, inspection.id)[overdue_key(inspection.id, base_room)]
    assert (row.status, row.due_at) == (DueStatus.pending, BASE_ROOM_DUE)


def test_a_task_done_behind_the_rows_back_sends_nothing_when_they_fire(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    """The handlers read the task afresh: whatever path marked it done, it is not chased."""
    with Session(engine) as other:
        other.execute(
            sa.update(Task)
            .where(col(Task.inspection_id) == inspection.id, col(Task.key) == "base_room")
            .values(status=TaskStatus.done.value)
        )
        other.commit()

    run_due_rows(engine, rules, BASE_ROOM_DUE)

    assert task_messages(engine, inspection.id, "task_reminder") == []
    assert task_messages(engine, inspection.id, "task_overdue") == []
    base_room = task_id(engine, inspection, "base_room")
    rows = task_rows(engine, inspection.id)
    for key in (reminder_key(inspection.id, base_room), overdue_key(inspection.id, base_room)):
        assert (rows[key].status, rows[key].outcome) == (
            DueStatus.done,
            "skipped: task already done",
        )
    assert overdue_entries(engine, inspection) == []


# --- nothing twice ---------------------------------------------------------------------------


def test_a_rolled_back_run_sends_nothing_and_the_next_run_sends_once(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    key = overdue_key(inspection.id, task_id(engine, inspection, "base_room"))
    escalate = build_handlers(rules)[OVERDUE_KIND]
    with Session(engine) as doomed:
        job = doomed.exec(select(DueJob).where(DueJob.dedupe_key == key)).one()
        assert escalate(doomed, job, BASE_ROOM_DUE).startswith("escalated")
        doomed.flush()
        doomed.rollback()  # the process died before committing
    assert task_messages(engine, inspection.id) == []
    assert overdue_entries(engine, inspection) == []

    run_due_rows(engine, rules, BASE_ROOM_DUE)

    assert len(task_messages(engine, inspection.id, "task_overdue")) == 4
    assert len(overdue_entries(engine, inspection)) == 1


def test_a_row_run_again_sends_nothing_more(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, BASE_ROOM_REMINDER)
    run_due_rows(engine, rules, london(2025, 4, 9, 8, 0))
    before = sorted(m.dedupe_key for m in task_messages(engine, inspection.id))
    assert len(before) == 1 + 4 + 3  # reminder, escalation, three digests
    with Session(engine) as other:  # every row that ran is made to run again
        other.execute(
            sa.update(DueJob)
            .where(col(DueJob.inspection_id) == inspection.id, col(DueJob.status) == DueStatus.done)
            .where(col(DueJob.kind).in_(reminders.KINDS))
            .values(status=DueStatus.pending)
        )
        other.commit()

    assert run_due_rows(engine, rules, london(2025, 4, 9, 8, 0)) >= 3

    assert sorted(m.dedupe_key for m in task_messages(engine, inspection.id)) == before
    assert len(overdue_entries(engine, inspection)) == 1


def test_two_workers_at_once_send_each_escalation_once(
    engine: Engine, database_url: str, rules: Rules, inspection: Inspection
) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    handlers = build_handlers(rules)
    at = london(2025, 4, 9, 8, 30)

    def work(worker: str) -> None:
        own = make_engine(database_url)
        try:
            start.wait()
            while run_due(own, now=at, handlers=handlers, worker=worker, limit=1).done:
                pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("replica-a", "replica-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    sent = task_messages(engine, inspection.id)
    counted = Counter((m.purpose, m.contact_id, m.medium, m.subject, m.body) for m in sent)
    assert set(counted.values()) == {1}
    # the base room to Amara and Harriet, Annex A to Harriet (Priya has no deputy), by every
    # channel; the morning's three digests
    assert Counter(m.purpose for m in sent) == {"task_overdue": 6, "task_digest": 3}
    assert len(overdue_entries(engine, inspection)) == 2


KILLED_MID_ESCALATION = """
import os, signal, sys
from datetime import datetime
import service.models
from service.config import Settings
from service.db import make_engine
from service.main import build_rules
from service.scheduler import due
from service.main import build_handlers

database_url, plans_dir, public, at = sys.argv[1:5]
settings = Settings(_env_file=None, database_url=database_url, plans_dir=plans_dir,
                    public_base_url=public, scheduler_enabled=False)
handlers = build_handlers(build_rules(settings))
escalate = handlers["task_overdue"]

def dying(session, job, now):
    escalate(session, job, now)
    session.flush()  # the messages and the timeline entry reach the database, uncommitted
    os.kill(os.getpid(), signal.SIGKILL)

handlers["task_overdue"] = dying
due.run_due(make_engine(database_url), now=datetime.fromisoformat(at), handlers=handlers,
            worker="doomed")
"""


@pytest.mark.slow
def test_a_process_killed_mid_escalation_sends_it_once_after_the_restart(
    engine: Engine, database_url: str, settings: Settings, rules: Rules, inspection: Inspection
) -> None:
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_MID_ESCALATION,
            database_url,
            str(settings.plans_dir),
            PUBLIC,
            BASE_ROOM_DUE.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    row = task_rows(engine, inspection.id)[
        overdue_key(inspection.id, task_id(engine, inspection, "base_room"))
    ]
    assert (row.status, row.attempts) == (DueStatus.pending, 0)
    assert task_messages(engine, inspection.id, "task_overdue") == []
    assert overdue_entries(engine, inspection) == []

    def escalated() -> bool:
        run_due_rows(engine, rules, BASE_ROOM_DUE + SECOND)
        return bool(task_messages(engine, inspection.id, "task_overdue"))

    # PostgreSQL frees the dead session's locks a moment after its socket closes.
    poll(escalated, timeout=20, what="the escalation ran after the crash")
    assert len(task_messages(engine, inspection.id, "task_overdue")) == 4
    assert len(overdue_entries(engine, inspection)) == 1


# --- moving with the timetable and the task ----------------------------------------------------


def test_reminders_move_when_the_lead_inspector_adds_a_day(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    final_room = task_id(engine, inspection, "final_room")
    old = task_rows(engine, inspection.id)[reminder_key(inspection.id, final_room)]

    # The inspection runs on to Thursday 1 May: the final meeting's room is due that day.
    inspection_flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=date(2025, 5, 1),
        on_site=True,
        actor=ACTOR,
        now=london(2025, 4, 23, 10, 0),
    )
    session.commit()

    rows = task_rows(engine, inspection.id)
    moved = rows[reminder_key(inspection.id, final_room)]
    assert (moved.id, moved.status) == (old.id, DueStatus.pending)
    assert moved.due_at == london(2025, 4, 30, 12, 0)
    assert rows[overdue_key(inspection.id, final_room)].due_at == london(2025, 5, 1, 12, 0)
    assert rows[digest_key(inspection.id, date(2025, 5, 1))].due_at == london(2025, 5, 1, 8, 0)

    run_due_rows(engine, rules, FINAL_ROOM_REMINDER)
    assert not any(
        "final meeting" in m.body for m in task_messages(engine, inspection.id, "task_reminder")
    ), "nothing at the old time"
    run_due_rows(engine, rules, london(2025, 4, 30, 12, 0))
    [message] = [
        m
        for m in task_messages(engine, inspection.id, "task_reminder")
        if "final meeting" in m.body
    ]
    assert "due by Thursday 1 May 2025, 12:00" in message.subject


def test_a_day_taken_off_site_loses_its_digest(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    inspection_flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=date(2025, 4, 24),
        on_site=False,
        actor=ACTOR,
        now=london(2025, 4, 15, 10, 0),
    )
    session.commit()

    row = task_rows(engine, inspection.id)[digest_key(inspection.id, date(2025, 4, 24))]
    assert (row.status, row.outcome) == (DueStatus.cancelled, "no longer an on-site day")
    for day in (23, 24):
        run_due_rows(engine, rules, london(2025, 4, day, 8, 0))
    days = {
        m.created_at.astimezone(rules.zone).date()
        for m in task_messages(engine, inspection.id, "task_digest")
    }
    assert date(2025, 4, 24) not in days and date(2025, 4, 23) in days


def test_a_later_due_time_moves_the_reminder_and_the_escalation(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    base_room = task_id(engine, inspection, "base_room")
    change_task(
        session, rules, inspection, "base_room", CALL + timedelta(hours=1),
        due_at=london(2025, 4, 8, 16, 0),
    )  # fmt: skip

    rows = task_rows(engine, inspection.id)
    assert rows[reminder_key(inspection.id, base_room)].due_at == london(2025, 4, 8, 14, 0)
    assert rows[overdue_key(inspection.id, base_room)].due_at == london(2025, 4, 8, 16, 0)
    run_due_rows(engine, rules, BASE_ROOM_DUE - SECOND)
    assert task_messages(engine, inspection.id) == []
    run_due_rows(engine, rules, london(2025, 4, 8, 14, 0))
    [message] = task_messages(engine, inspection.id)
    assert message.purpose == "task_reminder" and "Tuesday 8 April 2025, 16:00" in message.body


def test_a_reminder_moved_into_the_past_goes_at_once_while_the_task_is_still_ahead(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    now = london(2025, 4, 8, 11, 30)
    change_task(session, rules, inspection, "base_room", now, due_at=london(2025, 4, 8, 12, 30))

    row = task_rows(engine, inspection.id)[
        reminder_key(inspection.id, task_id(engine, inspection, "base_room"))
    ]
    assert (row.status, row.due_at) == (DueStatus.pending, now)
    run_due_rows(engine, rules, now)
    [message] = task_messages(engine, inspection.id, "task_reminder")
    assert "due by Tuesday 8 April 2025, 12:30" in message.subject


def test_a_due_time_moved_into_the_past_escalates_at_once_and_drops_the_reminder(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    now = london(2025, 4, 8, 11, 30)
    change_task(session, rules, inspection, "base_room", now, due_at=london(2025, 4, 8, 11, 0))

    base_room = task_id(engine, inspection, "base_room")
    rows = task_rows(engine, inspection.id)
    reminder = rows[reminder_key(inspection.id, base_room)]
    assert (reminder.status, reminder.outcome) == (
        DueStatus.cancelled,
        "moved past the task's due time",
    )
    assert (rows[overdue_key(inspection.id, base_room)].due_at, reminder.finished_at) == (now, now)
    run_due_rows(engine, rules, now)
    assert task_messages(engine, inspection.id, "task_reminder") == []
    assert len(task_messages(engine, inspection.id, "task_overdue")) == 4


def test_recording_the_report_times_the_statement_and_schedules_its_rows(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    statement = task_id(engine, inspection, "statement")
    assert reminder_key(inspection.id, statement) not in task_rows(engine, inspection.id)

    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.report_published,
        day=date(2025, 5, 20),
        actor=ACTOR,
        now=london(2025, 5, 20, 10, 0),
    )
    session.commit()

    rows = task_rows(engine, inspection.id)
    # ten working days after Tuesday 20 May (Monday 26 May is a bank holiday): Wednesday 4 June
    assert rows[overdue_key(inspection.id, statement)].due_at == london(2025, 6, 4, 17, 0)
    assert rows[reminder_key(inspection.id, statement)].due_at == london(2025, 6, 2, 17, 0)


# --- closing ---------------------------------------------------------------------------------


def test_closing_the_inspection_cancels_every_pending_task_row(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    run_due_rows(engine, rules, london(2025, 4, 9, 8, 0))
    sent = len(task_messages(engine, inspection.id))
    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=date(2025, 4, 9),
        actor=ACTOR,
        now=london(2025, 4, 9, 9, 0),
    )
    session.commit()

    rows = task_rows(engine, inspection.id).values()
    assert {row.status for row in rows} == {DueStatus.done, DueStatus.cancelled}
    assert {row.outcome for row in rows if row.status == DueStatus.cancelled} == {
        "inspection closed"
    }
    run_due_rows(engine, rules, london(2025, 6, 1, 9, 0))
    assert len(task_messages(engine, inspection.id)) == sent

    # even a row claimed as the inspection closed finds it closed and sends nothing
    with Session(engine) as late:
        job = late.exec(
            select(DueJob).where(DueJob.dedupe_key == digest_key(inspection.id, date(2025, 4, 10)))
        ).one()
        outcome = build_handlers(rules)[DIGEST_KIND](late, job, london(2025, 4, 10, 8, 0))
        late.commit()
    assert outcome == "skipped: inspection closed"
    assert len(task_messages(engine, inspection.id)) == sent


# --- cost ------------------------------------------------------------------------------------


def _big_plan(count: int) -> str:
    rules = [
        ("notified_at + {n} hours", "1 hour before"),
        ("on_site_start 08:30", "1 working day before"),
        ("week2.start + {k} working days 17:00", "2 hours before"),
        ("inspection_end", "none"),
        ("report_published + {k} working days", "1 working day before"),
    ]
    lines = [
        "framework: sif-2013",
        "name: Three hundred tasks",
        "roles:",
        "  - {key: steering_group_lead, label: Steering-group lead}",
        "  - {key: logistics_lead, label: Logistics lead}",
        "tasks:",
    ]
    for index in range(count):
        due, reminder = rules[index % len(rules)]
        lines += [
            f"  - key: task_{index}",
            f"    title: Task number {index}",
            "    category: logistics",
            "    owner_role: logistics_lead",
            f"    due: {due.format(n=2 + index % 20, k=index % 4)}",
            f"    reminder: {reminder}",
        ]
    return "\n".join(lines) + "\n"


def test_a_300_task_plan_is_scheduled_in_a_handful_of_statements(
    session: Session, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    plans = tmp_path / "big"
    plans.mkdir()
    (plans / "sif-2013.yaml").write_text(_big_plan(300), encoding="utf-8")
    rules = build_rules(make_settings(database_url=database_url, plans_dir=plans))
    add_people(session)
    inspection = make_inspection(session, rules, notified_at=CALL)
    written = task_rows(engine, inspection.id)
    # 300 escalations but the untimed 60; reminders for the timed ones with a rule and a time
    # still ahead; ten mornings
    assert Counter(row.kind for row in written.values()) == {
        OVERDUE_KIND: 240,
        REMINDER_KIND: 120,
        DIGEST_KIND: 10,
    }

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    with Session(engine) as again:
        again.execute(
            sa.delete(DueJob).where(
                col(DueJob.inspection_id) == inspection.id, col(DueJob.kind).in_(reminders.KINDS)
            )
        )
        again.commit()
        found = again.get(Inspection, inspection.id)
        assert found is not None
        calendar = rules.calendar(again)
        table = inspections.timetable_of(again, found, rules=rules, calendar=calendar)
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            for _ in range(2):  # writing every row, then finding nothing to change
                reminders.sync(
                    again, inspection=found, table=table, calendar=calendar, zone=rules.zone,
                    now=CALL,
                )  # fmt: skip
                again.flush()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        again.commit()

    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 1, writes  # one insert of every row, no update when nothing moved
    assert len(statements) <= 5, statements
    assert task_rows(engine, inspection.id).keys() == written.keys()
