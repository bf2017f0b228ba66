"""An inspection called Tuesday 8 April 2025 (sif-2013, the shipped plan), the people who hold
the board's roles, and the report's judgements as recorded on Monday 2 June 2025, 14:00."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from service.improvement import flows
from service.improvement.models import BoardMeeting
from service.plan.definitions import Category
from service.plan.models import RoleAssignment, Task
from service.rules import Rules
from tests.builders import ACTOR, london, make_contact

CALL = london(2025, 4, 8, 10, 0)
RECORDED = london(2025, 6, 2, 14, 0)
INADEQUATE = {
    "help_and_protection": "inadequate",
    "looked_after": "requires_improvement",
    "leadership": "requires_improvement",
    "overall": "inadequate",
}
REQUIRES_IMPROVEMENT = {
    "help_and_protection": "requires_improvement",
    "looked_after": "requires_improvement",
    "leadership": "requires_improvement",
    "overall": "requires_improvement",
}
PEOPLE = {
    "steering_group_lead": "sg-lead",
    "improvement_board_chair": "chair",
    "dcs_office": "dcs",
    "lead_member": "member",
}
"""partnerships_lead is mapped to nobody: its reminders go to the steering-group lead."""


def add_people(session: Session) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", role="Head of Service", window=0)
    make_contact(session, "chair", "Bronwen Ashby", reports_to="sg-lead", role="Independent chair")
    make_contact(session, "dcs", "Folasade Adeyemi", reports_to="sg-lead", role="DCS")
    make_contact(session, "member", "Cllr Rhys Pemberton", reports_to="sg-lead", role="Councillor")
    for role, person in PEOPLE.items():
        session.add(RoleAssignment(role=role, contact_id=person, updated_at=CALL, updated_by=ACTOR))
    session.commit()


def record(
    session: Session,
    rules: Rules,
    inspection_id: uuid.UUID,
    grades: dict[str, str],
    now: datetime = RECORDED,
) -> None:
    flows.record_judgements(
        session, rules=rules, inspection_id=inspection_id, grades=grades, actor=ACTOR, now=now
    )
    session.commit()


def pathway_tasks(session: Session, inspection_id: uuid.UUID) -> list[Task]:
    session.expire_all()
    return list(
        session.exec(
            select(Task)
            .where(Task.inspection_id == inspection_id, Task.category == Category.improvement)
            .order_by(col(Task.key))
        ).all()
    )


def meetings(session: Session, inspection_id: uuid.UUID) -> list[BoardMeeting]:
    session.expire_all()
    return list(
        session.exec(
            select(BoardMeeting)
            .where(BoardMeeting.inspection_id == inspection_id)
            .order_by(col(BoardMeeting.number))
        ).all()
    )
