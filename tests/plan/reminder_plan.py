"""A small plan of our own (in a temporary PLANS_DIR, replacing the shipped sif-2013 plan) and the
people who own its tasks, for the reminder, digest and mark-done tests.

The call is on Tuesday 8 April 2025, 10:00: on site Wednesday 9 to Friday 11 April, week 2 off
site, week 3 from Tuesday 22 April (Monday 21 is Easter Monday, a bank holiday) and week 4
Monday 28 to Wednesday 30 April: ten on-site days."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.config import Settings
from service.main import build_handlers
from service.notify.models import Message
from service.plan.models import RoleAssignment, Task
from service.rules import Rules
from service.scheduler.due import DueJob, run_due
from tests.builders import london, make_contact
from tests.conftest import make_settings

PUBLIC = "https://inspections.example.org"
CALL = london(2025, 4, 8, 10, 0)
ON_SITE_DAYS = [date(2025, 4, day) for day in (9, 10, 11, 22, 23, 24, 25, 28, 29, 30)]
EASTER_MONDAY = date(2025, 4, 21)

PLAN = """\
framework: sif-2013
name: A small plan for tests
roles:
  - {key: steering_group_lead, label: Steering-group lead}
  - {key: logistics_lead, label: Logistics lead}
  - {key: data_lead, label: Performance and data lead}
  - {key: communications_lead, label: Communications lead}
tasks:
  - key: base_room
    title: Book the base room for the inspection team
    description: A room for six inspectors from the first morning.
    category: logistics
    owner_role: logistics_lead
    due: notified_at + 4 hours
    reminder: 2 hours before
  - key: annex_a
    title: Send the Annex A data to the lead inspector
    category: data
    owner_role: data_lead
    due: on_site_start 08:30
    reminder: 1 working day before
  - key: members
    title: Brief elected members
    category: communications
    owner_role: communications_lead
    due: week2.start + 2 working days 17:00
  - key: final_room
    title: Book the room for the final meeting
    category: logistics
    owner_role: logistics_lead
    due: inspection_end 12:00
    reminder: 1 working day before
  - key: statement
    title: Draft the written statement of action
    category: after_the_inspection
    owner_role: data_lead
    due: report_published + 10 working days
    reminder: 2 working days before
"""

BASE_ROOM_DUE = london(2025, 4, 8, 14, 0)
BASE_ROOM_REMINDER = london(2025, 4, 8, 12, 0)
ANNEX_A_DUE = london(2025, 4, 9, 8, 30)
MEMBERS_DUE = london(2025, 4, 16, 17, 0)
FINAL_ROOM_DUE = london(2025, 4, 30, 12, 0)
FINAL_ROOM_REMINDER = london(2025, 4, 29, 12, 0)


def plan_settings(database_url: str, tmp_path: Path, **values: object) -> Settings:
    plans = tmp_path / "plans"
    plans.mkdir(exist_ok=True)
    (plans / "sif-2013.yaml").write_text(PLAN, encoding="utf-8")
    values.setdefault("public_base_url", PUBLIC)
    values.setdefault("dispatcher_enabled", False)
    return make_settings(database_url=database_url, plans_dir=plans, **values)


def add_people(session: Session) -> None:
    """The steering-group lead, the logistics lead (with a deputy) and the data lead (text
    messages only); communications_lead is mapped to nobody, so its task is the lead's."""
    make_contact(session, "sg-lead", "Harriet Oyelaran", role="Head of Service", window=0)
    make_contact(session, "logi-dep", "Amara Okafor", reports_to="sg-lead", window=0)
    make_contact(
        session, "logi", "Tomasz Wójcik", reports_to="sg-lead", deputy="logi-dep", window=0
    )
    make_contact(session, "data", "Priya Natarajan", reports_to="sg-lead", channels=("sms",))
    for role, person in (
        ("steering_group_lead", "sg-lead"),
        ("logistics_lead", "logi"),
        ("data_lead", "data"),
    ):
        session.add(
            RoleAssignment(
                role=role, contact_id=person, updated_at=CALL, updated_by="api-key:tests"
            )
        )
    session.commit()


def run_due_rows(engine: Engine, rules: Rules, at: datetime, worker: str = "tests") -> int:
    """Every due row up to `at`, as the scheduler's tick would run them at that moment (the
    clock travels there too, so the links signed in messages carry that time); how many ran."""
    handlers = build_handlers(rules)
    total = 0
    with time_machine.travel(at):
        while True:
            result = run_due(engine, now=at, handlers=handlers, worker=worker)
            total += result.done
            if not result.more:
                return total


def task_messages(
    engine: Engine, inspection_id: uuid.UUID, purpose: str | None = None
) -> list[Message]:
    """Outbox rows about plan tasks (not the cascade's), oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        query = (
            select(Message)
            .where(Message.inspection_id == inspection_id)
            .where(col(Message.purpose).startswith("task_"))
            .order_by(col(Message.created_at), col(Message.contact_id), col(Message.medium))
        )
        if purpose is not None:
            query = query.where(Message.purpose == purpose)
        return list(session.exec(query).all())


def task_rows(engine: Engine, inspection_id: uuid.UUID) -> dict[str, DueJob]:
    """The inspection's task due rows by dedupe key."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(DueJob).where(
                DueJob.inspection_id == inspection_id, col(DueJob.kind).startswith("task_")
            )
        ).all()
        return {row.dedupe_key: row for row in rows}


def task(engine: Engine, inspection_id: uuid.UUID, key: str) -> Task:
    with Session(engine, expire_on_commit=False) as session:
        found = session.exec(
            select(Task).where(Task.inspection_id == inspection_id, Task.key == key)
        ).one()
        return found
