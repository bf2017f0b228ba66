"""The statement's stages and what follows from them elsewhere: publishing records the
`action_statement_published` milestone with it, so the deadline is met on the day it was
published and its reminders stop; and each stage moves the plan's own statement tasks on
(a draft puts `action_statement_draft` in progress, an approval marks it and
`action_statement_approve` done, publishing marks `action_statement_publish` done), so nobody
is chased for a task the statement's record already shows finished."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Session, col, select

from service.errors import InvalidInput
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.service import require_open
from service.plan import tasks as plan_tasks
from service.plan.models import Task, TaskStatus
from service.plan.schemas import TaskUpdate
from service.rules import Rules
from service.statement import service
from service.statement.models import ActionStatement

DRAFT_TASK = "action_statement_draft"
APPROVE_TASK = "action_statement_approve"
PUBLISH_TASK = "action_statement_publish"


def _follow(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    moves: dict[str, TaskStatus],
    actor: str,
    now: datetime,
) -> None:
    """Move the plan's statement tasks forward only (never back: a task done by hand stays
    done), through the plan's own update, so its history, reminders and webhooks follow."""
    rank = {TaskStatus.to_do: 0, TaskStatus.blocked: 0, TaskStatus.in_progress: 1}
    rank[TaskStatus.done] = 2
    found = session.exec(
        select(Task).where(Task.inspection_id == inspection_id, col(Task.key).in_(list(moves)))
    ).all()
    for task in sorted(found, key=lambda t: list(moves).index(t.key)):
        wanted = moves[task.key]
        if rank[TaskStatus(task.status)] >= rank[wanted]:
            continue
        plan_tasks.update(
            session,
            rules=rules,
            inspection_id=inspection_id,
            task_id=task.id,
            changes=TaskUpdate(status=wanted),
            actor=actor,
            now=now,
        )


def draft(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    title: str | None,
    draft_url: str | None,
    notes: str | None,
    actor: str,
    now: datetime,
) -> ActionStatement:
    row = service.draft(
        session,
        inspection_id=inspection_id,
        title=title,
        draft_url=draft_url,
        notes=notes,
        actor=actor,
        now=now,
    )
    _follow(
        session,
        rules=rules,
        inspection_id=inspection_id,
        moves={DRAFT_TASK: TaskStatus.in_progress},
        actor=actor,
        now=now,
    )
    return row


def approve(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    approved_by: str,
    approved_on: date,
    meeting: str,
    actor: str,
    now: datetime,
) -> ActionStatement:
    row = service.approve(
        session,
        rules=rules,
        inspection_id=inspection_id,
        approved_by=approved_by,
        approved_on=approved_on,
        meeting=meeting,
        actor=actor,
        now=now,
    )
    _follow(
        session,
        rules=rules,
        inspection_id=inspection_id,
        moves={DRAFT_TASK: TaskStatus.done, APPROVE_TASK: TaskStatus.done},
        actor=actor,
        now=now,
    )
    return row


def publish(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    published_on: date,
    url: str,
    actor: str,
    now: datetime,
) -> ActionStatement:
    require_open(session, inspection_id, what="its statement of action")
    row = service.mark_published(
        session,
        inspection_id=inspection_id,
        published_on=published_on,
        url=url,
        actor=actor,
        now=now,
    )
    try:
        inspection_flows.record_milestone(
            session,
            rules=rules,
            inspection_id=inspection_id,
            key=Milestone.action_statement_published,
            day=published_on,
            actor=actor,
            now=now,
        )
    except InvalidInput as exc:  # its fields are the milestone's; here the date is published_on
        raise InvalidInput("published_on", exc.message) from exc
    _follow(
        session,
        rules=rules,
        inspection_id=inspection_id,
        moves={
            DRAFT_TASK: TaskStatus.done,
            APPROVE_TASK: TaskStatus.done,
            PUBLISH_TASK: TaskStatus.done,
        },
        actor=actor,
        now=now,
    )
    return row
