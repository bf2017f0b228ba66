"""An inspection's tasks after the plan has started: list, read, change, comment, add ad hoc.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from service import timeline
from service.contacts.models import Contact
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.notify.templates.render import format_moment
from service.paging import after_key, bad_cursor, decode_key, encode_key, microseconds
from service.plan import reminders
from service.plan.definitions import STEERING_GROUP_LEAD, Category
from service.plan.due_rules import RuleError, parse_reminder
from service.plan.models import LinksVoided, OwnerSource, Task, TaskComment, TaskStatus
from service.plan.owners import Owner, Owners
from service.plan.schemas import (
    CommentPublic,
    TaskCreate,
    TaskDetail,
    TaskList,
    TaskPublic,
    TaskUpdate,
)
from service.rules import Rules
from service.webhooks import service as webhooks

STATUSES = ", ".join(status.value for status in TaskStatus)


# --- reading ---------------------------------------------------------------------------------


def _task(
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
class _Context:
    """What turning tasks into their public shape needs, loaded once per request."""

    names: dict[str, str]
    done: set[str]
    comments: dict[uuid.UUID, int]
    now: datetime

    @classmethod
    def load(
        cls, session: Session, inspection_id: uuid.UUID, tasks: list[Task], now: datetime
    ) -> _Context:
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
    context = _Context.load(session, inspection.id, shown, now)
    return TaskList(
        items=[TaskPublic(**context.public(task)) for task in shown],
        next_cursor=encode_key(ordered_at, *last) if last is not None else None,
        warnings=warnings(session, inspection, rules=rules, tasks=every),
    )


def emit(session: Session, type: str, task: Task, *, now: datetime) -> None:
    """A webhook event carrying the task as `GET .../tasks/{id}` lists it (with its inspection)."""

    def data() -> dict[str, Any]:
        session.flush()
        shown = TaskPublic(**_Context.load(session, task.inspection_id, [task], now).public(task))
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
    context = _Context.load(session, inspection_id, tasks, now)
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
    context = _Context.load(session, task.inspection_id, [task], now)
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
    return detail(session, _task(session, inspection_id, task_id), now=now)


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
    task = _task(session, inspection_id, task_id, lock=True)
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
    task = _task(session, inspection_id, task_id)
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


def announcement_lists(
    session: Session, inspection_id: uuid.UUID, *, zone: ZoneInfo
) -> dict[str, list[dict[str, str]]]:
    """Each owner's open tasks, soonest first, as their announcement lists them."""
    lists: dict[str, list[dict[str, str]]] = {}
    rows = session.exec(
        select(Task.owner_contact_id, Task.title, Task.due_at)
        .where(
            Task.inspection_id == inspection_id,
            Task.status != TaskStatus.done.value,
            col(Task.owner_contact_id).is_not(None),
        )
        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.position))
    ).all()
    for owner, title, due_at in rows:
        assert owner is not None
        lists.setdefault(owner, []).append(
            {
                "title": title,
                "due": format_moment(due_at, zone) if due_at else "when it can be timed",
            }
        )
    return lists
