"""The plan starts with the announcement (in its transaction) and follows the timetable: when a
day is overridden, a milestone recorded or a closure day added, open tasks' due times move."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service import timeline
from service.calendar.working_days import WorkingCalendar
from service.inspections.models import Inspection
from service.inspections.timetable import Timetable
from service.plan import reminders
from service.plan.definitions import PlanDefinition
from service.plan.due_rules import Anchors, due_at, parse_due
from service.plan.models import OwnerSource, Task, TaskStatus
from service.plan.owners import Owners


@dataclass(frozen=True)
class Started:
    tasks: int
    unmapped_roles: list[str]


def create_tasks(
    session: Session,
    *,
    inspection: Inspection,
    plan: PlanDefinition | None,
    table: Timetable,
    milestones: dict[str, date],
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    actor: str,
    now: datetime,
) -> Started:
    """Every task of the plan, owned and timed, in the caller's transaction."""
    if plan is None or not plan.tasks:
        return Started(tasks=0, unmapped_roles=[])
    owners = Owners(session)
    anchors = Anchors.of(inspection.notified_at, table, milestones)
    rows = []
    unmapped: set[str] = set()
    for position, template in enumerate(plan.tasks):
        owner = owners.for_role(template.owner_role)
        if owner.source in (OwnerSource.steering_group_lead, OwnerSource.unassigned):
            unmapped.add(template.owner_role)
        due = due_at(parse_due(template.due), anchors, calendar, zone)
        rows.append(
            {
                "id": uuid.uuid4(),
                "inspection_id": inspection.id,
                "key": template.key,
                "position": position,
                "title": template.title,
                "description": template.description,
                "category": template.category.value,
                "owner_role": template.owner_role,
                "owner_contact_id": owner.contact_id,
                "owner_source": owner.source.value,
                "due_rule": template.due,
                "due_at": due,
                "reminder_rule": template.reminder,
                "depends_on": list(template.depends_on),
                "status": TaskStatus.to_do.value,
                "ad_hoc": False,
                "created_at": now,
                "created_by": actor,
                "updated_at": now,
            }
        )
    session.execute(sa.insert(Task), rows)
    return Started(tasks=len(rows), unmapped_roles=sorted(unmapped))


def retime(
    session: Session,
    *,
    inspection: Inspection,
    table: Timetable,
    milestones: dict[str, date],
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    actor: str,
    now: datetime,
    closed: bool = False,
) -> int:
    """Move open tasks to the recomputed due times, say so on the timeline, and bring their
    reminders along. Returns how many tasks moved."""
    anchors = Anchors.of(inspection.notified_at, table, milestones)
    tasks = session.exec(
        select(Task).where(
            Task.inspection_id == inspection.id,
            col(Task.due_rule).is_not(None),
            Task.status != TaskStatus.done.value,
        )
    ).all()
    moved: dict[str, dict[str, str | None]] = {}
    for task in tasks:
        assert task.due_rule is not None
        new = due_at(parse_due(task.due_rule), anchors, calendar, zone)
        if new != task.due_at:
            moved[task.key] = {
                "from": task.due_at.isoformat() if task.due_at else None,
                "to": new.isoformat() if new else None,
            }
            task.due_at, task.updated_at = new, now
            session.add(task)
    if moved:
        session.flush()
        timeline.log(
            session,
            inspection_id=inspection.id,
            actor=actor,
            kind="tasks_retimed",
            summary=f"{len(moved)} task{'s' * (len(moved) != 1)} moved with the timetable",
            data={"tasks": moved},
            now=now,
        )
    reminders.sync(
        session,
        inspection=inspection,
        table=table,
        calendar=calendar,
        zone=zone,
        now=now,
        closed=closed,
    )
    return len(moved)
