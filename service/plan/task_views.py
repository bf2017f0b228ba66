"""Reading an inspection's tasks as the API and the pages show them: the list with its filters
and paging, one task with its comments, the plan's warnings, and the webhook events that carry
a task the way the list shows it. `service.plan.tasks` changes tasks and uses these to answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from service.contacts.models import Contact
from service.errors import InvalidInput, NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.paging import after_key, bad_cursor, decode_key, encode_key, microseconds
from service.plan.definitions import STEERING_GROUP_LEAD, Category
from service.plan.models import OwnerSource, Task, TaskComment, TaskStatus
from service.plan.schemas import (
    CommentPublic,
    TaskDetail,
    TaskList,
    TaskPublic,
)
from service.rules import Rules
from service.webhooks import service as webhooks

STATUSES = ", ".join(status.value for status in TaskStatus)


def task_in(
    session: Session, inspection_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    query = select(Task).where(Task.id == task_id, Task.inspection_id == inspection_id)
    if lock:
        query = query.with_for_update()
    task = session.exec(query).first()
    if task is None:
        raise NotFound(f"no task {task_id} in inspection {inspection_id}")
    return task


def _parse_statuses(values: Iterable[str] | None) -> list[str]:
    """`status` may repeat and each may be a comma list."""
    found: list[str] = []
    for value in values or ():
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part not in TaskStatus.__members__:
                raise InvalidInput("status", f"unknown status {part[:40]!r}; one of: {STATUSES}")
            if part not in found:
                found.append(part)
    return found


def _is_overdue(task: Task, now: datetime) -> bool:
    return task.due_at is not None and task.due_at < now and task.status != TaskStatus.done.value


@dataclass
class TaskContext:
    """What turning tasks into their public shape needs, loaded once per request."""

    names: dict[str, str]
    done: set[str]
    comments: dict[uuid.UUID, int]
    now: datetime

    @classmethod
    def load(
        cls, session: Session, inspection_id: uuid.UUID, tasks: list[Task], now: datetime
    ) -> TaskContext:
        owners = {task.owner_contact_id for task in tasks if task.owner_contact_id}
        names = dict(
            session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(owners))).all()
        )
        done = set(
            session.exec(
                select(Task.key).where(
                    Task.inspection_id == inspection_id, Task.status == TaskStatus.done.value
                )
            ).all()
        )
        ids = [task.id for task in tasks]
        comments: dict[uuid.UUID, int] = {}
        if ids:
            comments = dict(
                session.exec(
                    select(TaskComment.task_id, func.count())
                    .where(col(TaskComment.task_id).in_(ids))
                    .group_by(col(TaskComment.task_id))
                ).all()
            )
        return cls(names=names, done=done, comments=comments, now=now)

    def public(self, task: Task) -> dict[str, Any]:
        return {
            "id": task.id,
            "key": task.key,
            "title": task.title,
            "description": task.description,
            "category": task.category,
            "owner_role": task.owner_role,
            "owner_contact_id": task.owner_contact_id,
            "owner_name": self.names.get(task.owner_contact_id or ""),
            "owner_source": task.owner_source,
            "status": task.status,
            "blocked_reason": task.blocked_reason,
            "due_rule": task.due_rule,
            "due_at": task.due_at,
            "reminder_rule": task.reminder_rule,
            "depends_on": list(task.depends_on),
            "waiting_on": [key for key in task.depends_on if key not in self.done],
            "overdue": _is_overdue(task, self.now),
            "ad_hoc": task.ad_hoc,
            "done_at": task.done_at,
            "done_by": task.done_by,
            "comment_count": self.comments.get(task.id, 0),
            "created_at": task.created_at,
            "updated_at": task.updated_at,
        }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _role_label(rules: Rules, framework: str, role: str) -> str:
    plan = rules.plans.get(framework)
    if plan is not None and any(r.key == role for r in plan.roles):
        return plan.role_label(role)
    return rules.plans.roles().get(role, role)


def warnings(
    session: Session, inspection: Inspection, *, rules: Rules, tasks: list[Task] | None = None
) -> list[str]:
    """What the dashboard must show about the inspection's open tasks: roles no one holds,
    tasks no one holds, tasks held by people since made inactive."""
    if tasks is None:
        tasks = list(session.exec(select(Task).where(Task.inspection_id == inspection.id)).all())
    open_tasks = [task for task in tasks if task.status != TaskStatus.done.value]
    fell_to_lead: dict[str, list[Task]] = {}
    unassigned = 0
    by_owner: dict[str, int] = {}
    for task in open_tasks:
        if task.owner_source == OwnerSource.steering_group_lead.value and task.owner_role:
            fell_to_lead.setdefault(task.owner_role, []).append(task)
        if task.owner_contact_id is None:
            unassigned += 1
        else:
            by_owner[task.owner_contact_id] = by_owner.get(task.owner_contact_id, 0) + 1
    people = {
        contact.id: contact
        for contact in session.exec(select(Contact).where(col(Contact.id).in_(by_owner))).all()
    }
    found = []
    for role, held in sorted(fell_to_lead.items()):
        label = _role_label(rules, inspection.framework, role)
        if role == STEERING_GROUP_LEAD:
            holder = people.get(held[0].owner_contact_id or "")
            name = holder.name if holder else held[0].owner_contact_id
            found.append(
                f"No one holds the role {label!r}: its {_plural(len(held), 'task')}, and those "
                f"of unmapped roles, went to {name}, first in the steering group"
            )
        else:
            found.append(
                f"No one holds the role {label!r}: its {_plural(len(held), 'task')} went to the "
                "steering-group lead"
            )
    if unassigned:
        found.append(
            f"{_plural(unassigned, 'task')} {'has' if unassigned == 1 else 'have'} no owner: "
            "there is no one in the steering group to hold them; add contacts and map the roles "
            "(PUT /api/v1/roles/{role})"
        )
    for contact_id, count in sorted(by_owner.items()):
        person = people.get(contact_id)
        if person is not None and not person.active:
            found.append(
                f"{person.name} ({contact_id}) is inactive but holds "
                f"{_plural(count, 'open task')}: reassign them or change the role's person"
            )
    return found


def list_tasks(
    session: Session,
    inspection_id: uuid.UUID,
    *,
    rules: Rules,
    now: datetime,
    owner: str | None = None,
    status: Iterable[str] | None = None,
    category: Category | None = None,
    overdue: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> TaskList:
    """Overdue first, then by due time (untimed last), then in the plan's order. With `limit`,
    one page, and `next_cursor` for the next: the cursor keeps the first page's moment, so
    "overdue first" is judged the same on every page and a task falling overdue while a client
    pages moves no task across a page boundary."""
    inspection = inspections.get(session, inspection_id)
    statuses = _parse_statuses(status)
    if owner is not None and "\x00" in owner:
        raise InvalidInput("owner", "must not contain NUL characters")
    every = list(session.exec(select(Task).where(Task.inspection_id == inspection.id)).all())
    chosen = [
        task
        for task in every
        if (owner is None or task.owner_contact_id == owner)
        and (not statuses or task.status in statuses)
        and (category is None or task.category == category.value)
        and (overdue is None or _is_overdue(task, now) == overdue)
    ]
    ordered_at, after = (now, None)
    if cursor is not None:
        decoded = decode_key(cursor, datetime, bool, bool, int, int, str, str)
        if decoded[0] is None:
            raise bad_cursor()
        ordered_at, after = decoded[0], decoded[1:]

    def order(task: Task) -> tuple[Any, ...]:
        return (
            not _is_overdue(task, ordered_at),
            task.due_at is None,
            microseconds(task.due_at or ordered_at),
            task.position,
            task.key,
            str(task.id),
        )

    chosen.sort(key=order)
    shown, last = after_key(chosen, key=order, after=after, limit=limit or len(chosen) or 1)
    context = TaskContext.load(session, inspection.id, shown, now)
    return TaskList(
        items=[TaskPublic(**context.public(task)) for task in shown],
        next_cursor=encode_key(ordered_at, *last) if last is not None else None,
        warnings=warnings(session, inspection, rules=rules, tasks=every),
    )


def emit(session: Session, type: str, task: Task, *, now: datetime) -> None:
    """A webhook event carrying the task as `GET .../tasks/{id}` lists it (with its inspection)."""

    def data() -> dict[str, Any]:
        session.flush()
        shown = TaskPublic(
            **TaskContext.load(session, task.inspection_id, [task], now).public(task)
        )
        return {"inspection_id": str(task.inspection_id), **shown.model_dump(mode="json")}

    webhooks.emit(session, type, data, task.inspection_id, now=now)


def emit_plan_created(session: Session, inspection_id: uuid.UUID, *, now: datetime) -> None:
    """`task.created` for each of the plan's tasks, made at the announcement (after
    `inspection.announced`), only when someone listens."""
    if not webhooks.listening(session, "task.created"):
        return
    session.flush()
    tasks = list(
        session.exec(
            select(Task).where(Task.inspection_id == inspection_id).order_by(col(Task.position))
        ).all()
    )
    context = TaskContext.load(session, inspection_id, tasks, now)
    for task in tasks:
        shown = TaskPublic(**context.public(task)).model_dump(mode="json")
        webhooks.emit(
            session,
            "task.created",
            {"inspection_id": str(inspection_id), **shown},
            inspection_id,
            now=now,
        )


def detail(session: Session, task: Task, *, now: datetime) -> TaskDetail:
    context = TaskContext.load(session, task.inspection_id, [task], now)
    comments = session.exec(
        select(TaskComment)
        .where(TaskComment.task_id == task.id)
        .order_by(col(TaskComment.at), col(TaskComment.id))
    ).all()
    return TaskDetail(
        **context.public(task),
        comments=[CommentPublic(at=c.at, author=c.author, text=c.text) for c in comments],
    )


def read(
    session: Session, inspection_id: uuid.UUID, task_id: uuid.UUID, *, now: datetime
) -> TaskDetail:
    inspections.get(session, inspection_id)
    return detail(session, task_in(session, inspection_id, task_id), now=now)
