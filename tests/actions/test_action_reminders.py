"""An action is a plan task underneath: its owner is reminded five working days before 17:00 on
its due date, an overdue action is escalated to the owner's deputy and the steering-group lead,
and an action marked done sends nothing more; all by the plan's own rows and handlers."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.actions import service
from service.actions.models import Rag
from service.config import Settings
from service.inspections.models import Inspection
from service.rules import Rules
from tests.builders import ACTOR, london, make_inspection
from tests.plan.reminder_plan import CALL, add_people, plan_settings, run_due_rows, task_messages

SECOND = timedelta(seconds=1)
DUE_ON = date(2025, 5, 30)  # a Friday
DUE = london(2025, 5, 30, 17, 0)
REMINDED = london(2025, 5, 22, 17, 0)  # five working days before: 26 May is a bank holiday
MADE = london(2025, 5, 1, 9, 0)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def make_action(session: Session, rules: Rules, inspection_id: uuid.UUID) -> int:
    plan = service.create_plan(
        session,
        rules=rules,
        inspection_id=inspection_id,
        title="Help and protection",
        judgement="help_and_protection",
        partner=None,
        actor=ACTOR,
        now=MADE,
    )
    assert plan.id is not None
    found = service.add_recommendation(
        session,
        rules=rules,
        inspection_id=inspection_id,
        plan_id=plan.id,
        text="Review every child-in-need plan within timescales.",
        judgement=None,
        actor=ACTOR,
        now=MADE,
    )
    assert found.id is not None
    action = service.add_action(
        session,
        rules=rules,
        inspection_id=inspection_id,
        recommendation_id=found.id,
        title="Audit 20 child-in-need plans a month",
        agency="childrens-services",
        owner_contact_id="logi",
        due_on=DUE_ON,
        rag=Rag.amber,
        rag_reason="Two team managers' posts are vacant",
        actor=ACTOR,
        now=MADE,
    )
    session.commit()
    assert action.id is not None
    return action.id


def sent(engine: Engine, inspection: Inspection, purpose: str) -> list[tuple[str, str]]:
    messages = task_messages(engine, inspection.id, purpose)
    return sorted((m.contact_id or "", m.medium) for m in messages if "Audit 20" in m.body)


def test_the_owner_is_reminded_and_an_overdue_action_escalates(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection
) -> None:
    make_action(session, rules, inspection.id)
    run_due_rows(engine, rules, REMINDED - SECOND)
    assert sent(engine, inspection, "task_reminder") == []
    run_due_rows(engine, rules, REMINDED)
    assert sent(engine, inspection, "task_reminder") == [("logi", "email")]

    run_due_rows(engine, rules, DUE - SECOND)
    assert sent(engine, inspection, "task_overdue") == []
    run_due_rows(engine, rules, DUE)
    assert sent(engine, inspection, "task_overdue") == [
        ("logi-dep", "email"),
        ("logi-dep", "sms"),
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]
    run_due_rows(engine, rules, DUE + timedelta(days=3))
    assert len(sent(engine, inspection, "task_overdue")) == 4  # never twice


def test_an_action_done_before_its_time_sends_nothing(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection
) -> None:
    action_id = make_action(session, rules, inspection.id)
    service.change_action(
        session,
        rules=rules,
        inspection_id=inspection.id,
        action_id=action_id,
        change=service.ActionChange(sent=frozenset({"done"}), done=True),
        actor=ACTOR,
        now=MADE + timedelta(days=1),
    )
    session.commit()
    run_due_rows(engine, rules, DUE + timedelta(days=1))
    assert sent(engine, inspection, "task_reminder") == []
    assert sent(engine, inspection, "task_overdue") == []


def test_moving_the_due_date_moves_the_reminder(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection
) -> None:
    action_id = make_action(session, rules, inspection.id)
    later: datetime = DUE + timedelta(days=7)
    service.change_action(
        session,
        rules=rules,
        inspection_id=inspection.id,
        action_id=action_id,
        change=service.ActionChange(sent=frozenset({"due_on"}), due_on=DUE_ON + timedelta(days=7)),
        actor=ACTOR,
        now=MADE + timedelta(days=1),
    )
    session.commit()
    run_due_rows(engine, rules, DUE - SECOND)  # the old reminder time has passed: nothing
    assert sent(engine, inspection, "task_reminder") == []
    run_due_rows(engine, rules, DUE)  # five working days before 6 June is 30 May, 17:00
    assert sent(engine, inspection, "task_reminder") == [("logi", "email")]
    assert sent(engine, inspection, "task_overdue") == []
    run_due_rows(engine, rules, later)
    assert len(sent(engine, inspection, "task_overdue")) == 4
