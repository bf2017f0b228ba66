"""An inspection's tasks after the plan has started: change, comment, add ad hoc (reading them,
the list, one task and the warnings, is `service.plan.task_views`).

Rules only (HTTP is in service/api/routes/tasks.py). Every change is on the timeline, and a
change of status, owner or due time brings the task's reminders along in the same transaction.

Decisions the API documents:
- `due_at` may be set on any task; it then stops following the timetable (`due_rule` is cleared).
- `owner_contact_id: null` hands a task back to its role (re-resolved through `Owners`); naming a
  person pins it there (`owner_source` `reassigned`): role changes no longer move it.
- A task may be marked done while a dependency is open (people do work out of order); the open
  dependencies stay visible in `waiting_on`.
- An ad-hoc task can only depend on tasks that already exist, so no dependency cycle can form."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from service import timeline
from service.contacts.models import Contact
from service.errors import Conflict, InvalidInput
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.notify.templates.render import format_moment
from service.plan import reminders
from service.plan.due_rules import RuleError, parse_reminder
from service.plan.models import LinksVoided, OwnerSource, Task, TaskComment, TaskStatus
from service.plan.owners import Owner, Owners
from service.plan.schemas import (
    TaskCreate,
    TaskUpdate,
)
from service.plan.task_views import (
    STATUSES,
    detail,
    emit,
    emit_plan_created,
    list_tasks,
    read,
    task_in,
    warnings,
)
from service.rules import Rules

__all__ = [
    "create",
    "detail",
    "emit",
    "emit_plan_created",
    "list_tasks",
    "read",
    "update",
    "warnings",
]


# --- changing --------------------------------------------------------------------------------


def open_inspection(session: Session, inspection_id: uuid.UUID) -> Inspection:
    """The inspection, if it can still change: a closed one's plan is a record, not a to-do list."""
    return inspections.require_open(session, inspection_id, what="its tasks")


def active_contact(session: Session, field: str, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise InvalidInput(field, f"no contact {contact_id!r}")
    if not contact.active:
        raise InvalidInput(
            field, f"{contact.name} ({contact.id}) is inactive; choose an active contact"
        )
    return contact


def sync_reminders(
    session: Session, inspection: Inspection, *, rules: Rules, now: datetime
) -> None:
    """Reminder, escalation and digest rows follow the tasks as they now stand."""
    session.flush()
    calendar = rules.calendar(session)
    table = inspections.timetable_of(session, inspection, rules=rules, calendar=calendar)
    reminders.sync(
        session, inspection=inspection, table=table, calendar=calendar, zone=rules.zone, now=now
    )


def _moment(value: datetime | None, rules: Rules) -> str:
    return format_moment(value, rules.zone) if value else "untimed"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def update(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    task_id: uuid.UUID,
    changes: TaskUpdate,
    actor: str,
    now: datetime,
) -> Task:
    """Apply the fields sent (`changes.model_fields_set`); those left out stay as they are."""
    sent = {field: getattr(changes, field) for field in changes.model_fields_set}
    inspection = open_inspection(session, inspection_id)
    task = task_in(session, inspection_id, task_id, lock=True)
    diff: dict[str, dict[str, Any]] = {}
    said: list[str] = []

    for field in ("title", "description"):
        if field not in sent:
            continue
        value = sent[field] or None  # a blank description is no description
        if value != getattr(task, field):
            if not task.ad_hoc:
                raise InvalidInput(
                    field, f"only an ad-hoc task's {field} can change; this one is from the plan"
                )
            if field == "title" and value is None:
                raise InvalidInput("title", "cannot be empty")
            diff[field] = {"from": getattr(task, field), "to": value}
            said.append(f"{field} changed")
            setattr(task, field, value)

    if "status" in sent and sent["status"] is None:
        raise InvalidInput("status", f"cannot be null; one of: {STATUSES}")
    new_status = TaskStatus(sent.get("status") or task.status).value
    reason = sent.get("blocked_reason")
    if new_status == TaskStatus.blocked.value:
        if "blocked_reason" not in sent and task.status == TaskStatus.blocked.value:
            reason = task.blocked_reason
        if not reason:
            raise InvalidInput(
                "blocked_reason", "say why the task is blocked (required with status 'blocked')"
            )
    elif reason:
        raise InvalidInput(
            "blocked_reason", f"only a blocked task has a reason; this one will be {new_status!r}"
        )
    if new_status != task.status:
        diff["status"] = {"from": task.status, "to": new_status}
        said.append(f"status {task.status} → {new_status}")
        if new_status == TaskStatus.done.value:
            task.done_at, task.done_by = now, actor
        elif task.status == TaskStatus.done.value:
            task.done_at, task.done_by = None, None
            task.void_links(LinksVoided.reopened)
        task.status = new_status
    new_reason = reason if new_status == TaskStatus.blocked.value else None
    if new_reason != task.blocked_reason:
        diff["blocked_reason"] = {"from": task.blocked_reason, "to": new_reason}
        if "status" not in diff:
            said.append("blocked reason changed")
        task.blocked_reason = new_reason

    if "owner_contact_id" in sent:
        wanted = sent["owner_contact_id"]
        if wanted is None:
            owner = Owners(session).for_role(task.owner_role)
        else:
            active_contact(session, "owner_contact_id", wanted)
            owner = Owner(wanted, OwnerSource.reassigned)
        if (owner.contact_id, owner.source.value) != (task.owner_contact_id, task.owner_source):
            diff["owner_contact_id"] = {"from": task.owner_contact_id, "to": owner.contact_id}
            diff["owner_source"] = {"from": task.owner_source, "to": owner.source.value}
            names = dict(
                session.exec(
                    select(Contact.id, Contact.name).where(
                        col(Contact.id).in_([task.owner_contact_id, owner.contact_id])
                    )
                ).all()
            )
            said.append(
                f"owner {names.get(task.owner_contact_id or '', 'no one')} → "
                f"{names.get(owner.contact_id or '', 'no one')} ({owner.source.value})"
            )
            if owner.contact_id != task.owner_contact_id:
                task.void_links(LinksVoided.reassigned)
            task.owner_contact_id, task.owner_source = owner.contact_id, owner.source.value

    if "due_at" in sent:
        due = sent["due_at"]
        if due is None:
            raise InvalidInput("due_at", "cannot be cleared; give a date and time with an offset")
        due = due.astimezone(UTC)
        if due != task.due_at or task.due_rule is not None:
            diff["due_at"] = {"from": _iso(task.due_at), "to": _iso(due)}
            said.append(f"due {_moment(task.due_at, rules)} → {_moment(due, rules)}")
            if task.due_rule is not None:
                diff["due_rule"] = {"from": task.due_rule, "to": None}
            task.due_at, task.due_rule = due, None

    if not diff:
        return task
    task.updated_at = now
    session.add(task)
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="task_updated",
        summary=f"Task {task.title!r}: {'; '.join(said)}"[:1000],
        data={"task_id": str(task.id), "key": task.key, "changes": diff},
        now=now,
    )
    if diff.keys() & {"status", "owner_contact_id", "due_at"}:
        sync_reminders(session, inspection, rules=rules, now=now)
    if diff.get("status", {}).get("to") == TaskStatus.done.value:
        emit(session, "task.completed", task, now=now)
    return task


def add_comment(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    task_id: uuid.UUID,
    text: str,
    actor: str,
    now: datetime,
) -> TaskComment:
    inspection = open_inspection(session, inspection_id)
    task = task_in(session, inspection_id, task_id)
    text = text.strip()
    if not text:
        raise InvalidInput("text", "cannot be empty")
    comment = TaskComment(task_id=task.id, at=now, author=actor, text=text)
    session.add(comment)
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="task_commented",
        summary=f"Comment on task {task.title!r}",
        data={"task_id": str(task.id), "key": task.key},
        now=now,
    )
    return comment


def slug(title: str) -> str:
    """A task key from its title: ASCII letters and digits joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48].strip("-") or "task"


def _free_key(taken: set[str], title: str) -> str:
    base = slug(title)
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


def create(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    request: TaskCreate,
    actor: str,
    now: datetime,
) -> Task:
    """An ad-hoc task, after the plan's."""
    inspection = open_inspection(session, inspection_id)
    existing = dict(
        session.exec(select(Task.key, Task.id).where(Task.inspection_id == inspection.id)).all()
    )
    if request.key is not None and request.key in existing:
        raise Conflict(
            f"task key {request.key!r} is already used in this inspection",
            task_id=str(existing[request.key]),
        )
    known_roles = rules.plans.roles()
    if request.owner_role is not None and request.owner_role not in known_roles:
        raise InvalidInput(
            "owner_role",
            f"unknown role {request.owner_role[:64]!r}; known roles: "
            + (", ".join(known_roles) or "none (no plan definition is loaded)"),
        )
    unknown = [key for key in request.depends_on if key not in existing]
    if unknown:
        raise InvalidInput(
            "depends_on",
            f"no task with key {', '.join(repr(k) for k in unknown)} in this inspection "
            "(a new task can depend only on tasks that exist)",
        )
    reminder = None
    if request.reminder_rule:
        try:
            parsed = parse_reminder(request.reminder_rule)
        except RuleError as exc:
            raise InvalidInput("reminder_rule", str(exc)) from None
        reminder = parsed.text if parsed else None
    if request.owner_contact_id is not None:
        active_contact(session, "owner_contact_id", request.owner_contact_id)
        owner = Owner(request.owner_contact_id, OwnerSource.reassigned)
    else:
        owner = Owners(session).for_role(request.owner_role)
    position = session.exec(
        select(func.max(Task.position)).where(Task.inspection_id == inspection.id)
    ).one()
    task = Task(
        inspection_id=inspection.id,
        key=request.key or _free_key(set(existing), request.title),
        position=(position if position is not None else -1) + 1,
        title=request.title,
        description=request.description or None,
        category=request.category.value,
        owner_role=request.owner_role,
        owner_contact_id=owner.contact_id,
        owner_source=owner.source.value,
        due_rule=None,
        due_at=request.due_at,
        reminder_rule=reminder,
        depends_on=list(dict.fromkeys(request.depends_on)),
        status=TaskStatus.to_do.value,
        ad_hoc=True,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(task)
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="task_added",
        summary=f"Ad-hoc task {task.title!r} added"
        + (f", due {_moment(task.due_at, rules)}" if task.due_at else ""),
        data={
            "task_id": str(task.id),
            "key": task.key,
            "owner_contact_id": task.owner_contact_id,
            "owner_source": task.owner_source,
            "due_at": _iso(task.due_at),
        },
        now=now,
    )
    sync_reminders(session, inspection, rules=rules, now=now)
    emit(session, "task.created", task, now=now)
    return task


class _OwnerLists(Mapping[str, list[dict[str, str]]]):
    """Each owner's tasks, their due moments written out only for the owners asked for: a
    release transaction announces to a few people, and formatting the whole plan's moments for
    each one was about half the cost of reading them."""

    def __init__(self, rows: dict[str, list[tuple[str, datetime | None]]], zone: ZoneInfo):
        self._rows = rows
        self._zone = zone
        self._made: dict[str, list[dict[str, str]]] = {}

    def __getitem__(self, owner: str) -> list[dict[str, str]]:
        if owner not in self._made:
            self._made[owner] = [
                {
                    "title": title,
                    "due": format_moment(due_at, self._zone) if due_at else "when it can be timed",
                }
                for title, due_at in self._rows[owner]
            ]
        return self._made[owner]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def announcement_lists(
    session: Session, inspection_id: uuid.UUID, *, zone: ZoneInfo
) -> Mapping[str, list[dict[str, str]]]:
    """Each owner's open tasks, soonest first, as their announcement lists them."""
    rows: dict[str, list[tuple[str, datetime | None]]] = {}
    for owner, title, due_at in session.exec(
        select(Task.owner_contact_id, Task.title, Task.due_at)
        .where(
            Task.inspection_id == inspection_id,
            Task.status != TaskStatus.done.value,
            col(Task.owner_contact_id).is_not(None),
        )
        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.position))
    ).all():
        assert owner is not None
        rows.setdefault(owner, []).append((title, due_at))
    return _OwnerLists(rows, zone)
