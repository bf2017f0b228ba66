"""The Europe/London clock changes inside an inspection: the scheduler's tick runs in this process
every few minutes of a night when the clocks change (time-machine moves the clock with it), and
the real due rows and outbox are checked afterwards.

- Last Sunday of October (25 October 2026): 02:00 BST becomes 01:00 GMT, so 01:00-02:00 comes
  twice. Rows due at 01:15 BST and at 01:15 GMT are two moments an hour apart: each fires once,
  at its own moment, and nothing fires again when the clock shows the same time the second time.
- Last Sunday of March (29 March 2026): 01:00 GMT becomes 02:00 BST, so 01:00-02:00 never
  happens. A task due "01:30" that morning falls at 02:30 BST (the same instant as 01:30 GMT), and
  rows due just before and after the jump all fire.
- A task due at 09:00 on the Sunday, reminded "1 day before", is reminded at 09:00 on the
  Saturday, on the other side of the change: local times stay local. Deadline reminders stay at
  09:00 and on-site digests at 08:00, whichever side of a change they fall."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.calendar.working_days import load_calendar
from service.inspections import reminders as deadline_reminders
from service.main import build_handlers, build_rules
from service.notify.models import Message
from service.plan import reminders as plan_reminders
from service.plan.models import Task
from service.scheduler.core import Scheduler
from service.scheduler.due import DueJob, DueStatus
from tests.builders import make_inspection
from tests.conftest import make_settings
from tests.plan.reminder_plan import add_people

pytestmark = pytest.mark.timeout(120)

LONDON = ZoneInfo("Europe/London")
STEP = timedelta(minutes=5)
"""How far the clock moves between two ticks."""

PLAN = """\
framework: sif-2013
name: A plan whose tasks fall in the night the clocks change
roles:
  - {key: steering_group_lead, label: Steering-group lead}
  - {key: logistics_lead, label: Logistics lead}
  - {key: data_lead, label: Performance and data lead}
  - {key: communications_lead, label: Communications lead}
tasks:
  - key: before_change
    title: Check the night rota before the clocks change
    category: logistics
    owner_role: logistics_lead
    due: notified_at + {before}
    reminder: 30 minutes before
  - key: after_change
    title: Check the night rota after the clocks change
    category: logistics
    owner_role: logistics_lead
    due: notified_at + {after}
    reminder: 30 minutes before
  - key: half_past_one
    title: Confirm the early train
    category: logistics
    owner_role: logistics_lead
    due: day0 + 1 days 01:30
    reminder: 1 hours before
  - key: sunday_morning
    title: Brief the duty managers
    category: logistics
    owner_role: logistics_lead
    due: day0 + 1 days 09:00
    reminder: 1 days before
"""


@dataclass(frozen=True)
class Change:
    name: str
    call: datetime
    """Saturday morning, the day before the change."""
    before: str
    """From the call to a task due a little before the change (elapsed time)."""
    after: str
    """From the call to a task due a little after it."""
    expected_local: dict[str, str]
    """Each night task's due time and reminder, as London wall-clock time with its zone."""


OCTOBER = Change(
    name="october",
    call=datetime(2026, 10, 24, 7, 15, tzinfo=UTC),  # 08:15 BST
    before="17 hours",  # 00:15 UTC: 01:15 BST, the first 01:15
    after="18 hours",  # 01:15 UTC: 01:15 GMT, the second 01:15
    expected_local={
        "before_change": "2026-10-25 01:15 BST",
        "before_change reminder": "2026-10-25 00:45 BST",
        "after_change": "2026-10-25 01:15 GMT",
        "after_change reminder": "2026-10-25 01:45 BST",  # 30 minutes before, elapsed
        "half_past_one": "2026-10-25 01:30 BST",  # the first 01:30 of the two
        "half_past_one reminder": "2026-10-25 00:30 BST",
        "sunday_morning": "2026-10-25 09:00 GMT",
        "sunday_morning reminder": "2026-10-24 09:00 BST",
    },
)
MARCH = Change(
    name="march",
    call=datetime(2026, 3, 28, 8, 45, tzinfo=UTC),  # 08:45 GMT
    before="16 hours",  # 00:45 UTC: 00:45 GMT, a quarter of an hour before the jump
    after="990 minutes",  # 01:15 UTC: 02:15 BST, a quarter of an hour after it
    expected_local={
        "before_change": "2026-03-29 00:45 GMT",
        "before_change reminder": "2026-03-29 00:15 GMT",
        "after_change": "2026-03-29 02:15 BST",
        "after_change reminder": "2026-03-29 00:45 GMT",
        "half_past_one": "2026-03-29 02:30 BST",  # 01:30 never shows: the same instant
        "half_past_one reminder": "2026-03-29 00:30 GMT",  # an hour of elapsed time before
        "sunday_morning": "2026-03-29 09:00 BST",
        "sunday_morning reminder": "2026-03-28 09:00 GMT",
    },
)


def local(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def tasks_by_key(engine: Engine, inspection_id: uuid.UUID) -> dict[uuid.UUID, str]:
    with Session(engine) as session:
        found = session.exec(select(Task).where(Task.inspection_id == inspection_id)).all()
        return {task.id: task.key for task in found}  # type: ignore[misc]


def due_rows(engine: Engine, inspection_id: uuid.UUID) -> list[DueJob]:
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(DueJob)
                .where(DueJob.inspection_id == inspection_id)
                .order_by(col(DueJob.due_at), col(DueJob.id))
            ).all()
        )


@pytest.mark.parametrize("change", [OCTOBER, MARCH], ids=lambda c: c.name)
def test_a_clock_change_inside_an_inspection_fires_each_row_once_at_its_moment(
    change: Change, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "sif-2013.yaml").write_text(
        PLAN.replace("{before}", change.before).replace("{after}", change.after),
        encoding="utf-8",
    )
    settings = make_settings(
        database_url=database_url,
        plans_dir=plans,
        public_base_url="https://inspections.example.org",
        dispatcher_enabled=False,
    )
    rules = build_rules(settings)
    with Session(engine) as session:
        add_people(session)
    with time_machine.travel(change.call, tick=False), Session(engine) as session:
        inspection = make_inspection(session, rules, notified_at=change.call)
        inspection_id = inspection.id
        calendar = load_calendar(session, rules.region)

    # Where the rows were placed, in London wall-clock time.
    keys = tasks_by_key(engine, inspection_id)
    placed: dict[str, str] = {}
    night: dict[int, str] = {}
    for row in due_rows(engine, inspection_id):
        if row.kind in (plan_reminders.REMINDER_KIND, plan_reminders.OVERDUE_KIND):
            name = keys[uuid.UUID(row.payload["task_id"])]
            if row.kind == plan_reminders.REMINDER_KIND:
                name += " reminder"
            placed[name] = local(row.due_at)
            assert row.id is not None
            night[row.id] = name
    assert placed == change.expected_local

    rows = due_rows(engine, inspection_id)
    deadline_times = {
        row.due_at.astimezone(LONDON).time() for row in rows if row.kind == deadline_reminders.KIND
    }
    digest_times = {
        row.due_at.astimezone(LONDON).time()
        for row in rows
        if row.kind == plan_reminders.DIGEST_KIND
    }
    assert deadline_times == {time(9, 0)}
    assert digest_times == {time(8, 0)}
    # The one working-day module places the reminders: 09:00 on the working day N before.
    for row in rows:
        if row.kind == deadline_reminders.KIND:
            due_day = datetime.fromisoformat(row.payload["due"]).date()
            before = int(row.payload["working_days_before"])
            assert row.due_at.astimezone(LONDON).date() == calendar.add_working_days(
                due_day, -before
            )

    # Tick through the day and the night, every STEP of real (UTC) time.
    scheduler = Scheduler(engine, handlers=build_handlers(rules), tick_seconds=5, enabled=False)
    end = change.call + timedelta(hours=30)
    now = change.call
    ticks = 0
    try:
        while now <= end:
            with time_machine.travel(now, tick=False):
                while (result := scheduler.tick(now)) is not None and result.more:
                    pass
                assert result is not None, scheduler.state()
            ticks += 1
            now += STEP
    finally:
        scheduler.shutdown()

    after = {row.id: row for row in due_rows(engine, inspection_id)}
    for job_id, name in night.items():
        row = after[job_id]
        assert row.status == DueStatus.done, (name, row.status, row.outcome)
        assert row.attempts == 1, (name, row.attempts)
        assert row.finished_at is not None
        assert row.due_at <= row.finished_at < row.due_at + STEP, (
            f"{name} due {local(row.due_at)} ran at {local(row.finished_at)}"
        )
    # Everything due in the span ran exactly once; nothing later ran early.
    for row in after.values():
        if row.due_at <= end:
            assert row.status in (DueStatus.done, DueStatus.cancelled), (row.kind, row.status)
            assert row.attempts == (1 if row.status == DueStatus.done else 0)
        else:
            assert (row.status, row.attempts) == (DueStatus.pending, 0), row.kind

    # The outbox: an e-mail per reminder and per escalation, each once (a text has no subject
    # to tell one task's from another's; its row's dedupe key is unique anyway).
    with Session(engine) as session:
        emails = session.exec(
            select(Message).where(
                Message.inspection_id == inspection_id,
                Message.medium == "email",
                col(Message.purpose).in_(["task_reminder", "task_overdue"]),
            )
        ).all()
    sent = [(m.purpose, m.contact_id, m.subject) for m in emails]
    assert len(sent) == len(set(sent)), "an e-mail went out twice"
    reminder_jobs = [n for n in night.values() if n.endswith(" reminder")]
    assert len([s for s in sent if s[0] == "task_reminder"]) == len(reminder_jobs), sent
    overdue_jobs = len(night) - len(reminder_jobs)
    assert {s[1] for s in sent if s[0] == "task_overdue"} == {"logi-dep", "sg-lead"}
    assert len([s for s in sent if s[0] == "task_overdue"]) == 2 * overdue_jobs, sent
    assert ticks == int((end - change.call) / STEP) + 1
