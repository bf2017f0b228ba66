"""What happens across domains for a plan's tasks: what a task's due rows send when they come
due (service/plan/reminders.py writes the rows), and a one-click mark-done link being used.

Each due-row handler reads the task afresh inside the claiming transaction, so a task done (or an
inspection closed) meanwhile sends nothing, and a task reassigned meanwhile goes to its new owner.
Messages go through the outbox (rendered from the council's templates, written with a dedupe
key): one per person per task per purpose, one digest per person per day, whatever happens to
the row. Reminders and digests go by the person's first-choice channel; escalations, which must
not be missed, by every channel the person chose. A person who has left (inactive) is stood in
for by their deputy.

A mark-done link (service/signed_links.py) names the task and the person it was sent to,
recorded as `done_by` "link:<contact id>". Opening one records nothing (mail scanners follow
links); only the confirming POST does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service import signed_links, timeline
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.inspections.service import is_closed, outbox_for, timetable_of
from service.notify.models import Message, Purpose
from service.notify.outbox import addresses, first_choice
from service.notify.templates.render import format_day, format_moment
from service.plan import reminders
from service.plan import tasks as plan_tasks
from service.plan.models import Task, TaskStatus
from service.plan.owners import Owners
from service.rules import Rules
from service.scheduler.due import DueJob

ACTOR = "scheduler"
ESCALATION_PRIORITY = 1
"""Beside the steering group's own messages."""
REMINDER_PRIORITY = 2


def _open_inspection(session: Session, job: DueJob) -> Inspection | str:
    """The row's inspection, or why nothing is sent."""
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        return "skipped: inspection no longer exists"
    if inspection.drill:
        return "skipped: drills get no task messages"
    if is_closed(session, inspection.id):
        return "skipped: inspection closed"
    return inspection


def _open_task(session: Session, job: DueJob) -> Task | str:
    task = session.get(Task, uuid.UUID(job.payload["task_id"]))
    if task is None:
        return "skipped: task no longer exists"
    if task.status == TaskStatus.done.value:
        return "skipped: task already done"
    if task.due_at is None:
        return "skipped: task has no due time"
    return task


class _People:
    """The contacts a handler messages, each read once."""

    def __init__(self, session: Session):
        self.session = session
        self._known: dict[str, Contact | None] = {}

    def get(self, contact_id: str | None) -> Contact | None:
        if contact_id is None:
            return None
        if contact_id not in self._known:
            self._known[contact_id] = self.session.get(Contact, contact_id)
        return self._known[contact_id]

    def remember(self, contacts: list[Contact]) -> None:
        self._known.update((contact.id, contact) for contact in contacts)

    def reachable(self, contact_id: str | None) -> Contact | None:
        """The person, or their deputy when they have left."""
        contact = self.get(contact_id)
        if contact is None:
            return None
        if contact.active:
            return contact
        deputy = self.get(contact.deputy)
        return deputy if deputy is not None and deputy.active else None


class _Links:
    def __init__(self, session: Session, rules: Rules, now: datetime):
        self.signer = signed_links.done_signer(session, now=now)
        self.base = rules.messaging.public_base_url

    def url(self, task: Task, contact: Contact) -> str:
        return signed_links.link(
            self.base,
            signed_links.DONE_PATH,
            self.signer.token_for(task.id, contact.id, task.version),
        )


def _task_values(task: Task, contact: Contact, links: _Links, rules: Rules) -> dict[str, str]:
    assert task.due_at is not None
    return {
        "title": task.title,
        "due": format_moment(task.due_at, rules.messaging.zone),
        "description": task.description or "",
        "done_url": links.url(task, contact),
    }


def remind(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """The owner's reminder ahead of the due time."""
    inspection = _open_inspection(session, job)
    if isinstance(inspection, str):
        return inspection
    task = _open_task(session, job)
    if isinstance(task, str):
        return task
    assert task.due_at is not None
    if now >= task.due_at:
        return "skipped: already due; the overdue escalation follows"
    person = _People(session).reachable(task.owner_contact_id)
    if person is None:
        return "skipped: nobody to remind"
    targets = first_choice(person)
    if not targets:
        return f"skipped: {person.id} has no address"
    outbox = outbox_for(session, inspection, rules=rules, now=now)
    links = _Links(session, rules, now)
    for medium, address in targets.items():
        outbox.enqueue(
            person=person,
            medium=medium,
            address=address,
            purpose=Purpose.task_reminder,
            dedupe=f"{person.id}:{Purpose.task_reminder}:{task.id}",
            priority=REMINDER_PRIORITY,
            values={"task": _task_values(task, person, links, rules)},
        )
    outbox.flush()
    return f"reminded {person.id}"


def _already_escalated(session: Session, inspection_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    return (
        session.exec(
            select(Message.id).where(
                Message.inspection_id == inspection_id,
                Message.purpose == Purpose.task_overdue,
                col(Message.dedupe_key).contains(f":{Purpose.task_overdue}:{task_id}:"),
            )
        ).first()
        is not None
    )


def escalate(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """An open task passed its due time: tell the owner's deputy and the steering-group lead
    (the owner themselves only when neither exists), and say so on the timeline."""
    inspection = _open_inspection(session, job)
    if isinstance(inspection, str):
        return inspection
    task = _open_task(session, job)
    if isinstance(task, str):
        return task
    if _already_escalated(session, inspection.id, task.id):
        return "skipped: already escalated"
    people = _People(session)
    owner = people.get(task.owner_contact_id)
    candidates = [
        people.get(owner.deputy) if owner is not None else None,
        people.get(Owners(session).steering_group_lead()),
    ]
    told: dict[str, Contact] = {}
    for person in candidates:
        if person is not None and person.active and person.id != task.owner_contact_id:
            told.setdefault(person.id, person)
    if not told and owner is not None and owner.active:
        told[owner.id] = owner
    owner_values = {
        "name": owner.name if owner else "nobody (no owner)",
        "role": (owner.role or "") if owner else "",
    }
    outbox = outbox_for(session, inspection, rules=rules, now=now)
    links = _Links(session, rules, now)
    for person in told.values():
        for medium, address in addresses(person).items():
            outbox.enqueue(
                person=person,
                medium=medium,
                address=address,
                purpose=Purpose.task_overdue,
                dedupe=f"{person.id}:{Purpose.task_overdue}:{task.id}",
                priority=ESCALATION_PRIORITY,
                values={
                    "task": _task_values(task, person, links, rules),
                    "owner": owner_values,
                },
            )
    outbox.flush()
    names = ", ".join(person.name for person in told.values())
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=ACTOR,
        kind="task_overdue",
        summary=f"Overdue: {task.title} ({owner_values['name']}); "
        + (f"told {names}" if told else "nobody to tell"),
        data={
            "task_id": str(task.id),
            "key": task.key,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "owner_contact_id": task.owner_contact_id,
            "told": list(told),
            "job_id": job.id,
        },
        now=now,
    )
    plan_tasks.emit(session, "task.overdue", task, now=now)
    return f"escalated to {', '.join(told) or 'nobody'}"


def digest(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """The 08:00 message of an on-site day: each person with open tasks gets one list of them."""
    inspection = _open_inspection(session, job)
    if isinstance(inspection, str):
        return inspection
    day = date.fromisoformat(job.payload["day"])
    if now.astimezone(rules.zone).date() > day:
        return "skipped: its day has passed"  # the service was down all day: no stale digest
    table = timetable_of(session, inspection, rules=rules)
    if day not in table.on_site_days:
        return "skipped: not an on-site day"
    tasks = session.exec(
        select(Task)
        .where(
            Task.inspection_id == inspection.id,
            Task.status != TaskStatus.done.value,
            col(Task.owner_contact_id).is_not(None),
        )
        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.position))
    ).all()
    people = _People(session)
    people.remember(
        list(
            session.exec(
                select(Contact).where(col(Contact.id).in_({t.owner_contact_id for t in tasks}))
            ).all()
        )
    )
    lists: dict[str, tuple[Contact, list[Task]]] = {}
    for task in tasks:
        person = people.reachable(task.owner_contact_id)
        if person is not None:
            lists.setdefault(person.id, (person, []))[1].append(task)
    outbox = outbox_for(session, inspection, rules=rules, now=now, table=table)
    links = _Links(session, rules, now)
    zone = rules.messaging.zone
    sent = 0
    for person, own in lists.values():
        items: list[dict[str, Any]] = [
            {
                "title": task.title,
                "due": format_moment(task.due_at, zone) if task.due_at else "",
                "overdue": task.due_at is not None and task.due_at <= now,
                "done_url": links.url(task, person),
            }
            for task in own
        ]
        for medium, address in first_choice(person).items():
            outbox.enqueue(
                person=person,
                medium=medium,
                address=address,
                purpose=Purpose.task_digest,
                dedupe=f"{person.id}:{Purpose.task_digest}:{day.isoformat()}",
                priority=REMINDER_PRIORITY,
                values={"day": format_day(day), "tasks": items},
            )
            sent += 1
    outbox.flush()
    return f"digest to {sent} people"


ACTOR_PREFIX = "link:"


@dataclass(frozen=True)
class TaskLink:
    """What the confirmation page shows about a link's task."""

    task_id: uuid.UUID
    title: str
    description: str | None
    due_at: datetime | None
    name: str
    """The person the link was sent to."""
    owner_name: str | None
    drill: bool
    closed: bool
    done_at: datetime | None
    done_by_name: str | None
    """Who marked it done, when it is done (a person's name where it was one of ours)."""
    just_done: bool = False
    """This request marked it done."""


def _name(session: Session, contact_id: str | None) -> str | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    return contact.name if contact is not None else contact_id


def _done_by_name(session: Session, done_by: str | None) -> str | None:
    if done_by is None:
        return None
    if done_by.startswith(ACTOR_PREFIX):
        return _name(session, done_by.removeprefix(ACTOR_PREFIX))
    return done_by


def _describe(
    session: Session, link: signed_links.DoneLink, task: Task, *, just_done: bool
) -> TaskLink:
    inspection = session.get(Inspection, task.inspection_id)
    assert inspection is not None
    return TaskLink(
        task_id=task.id,
        title=task.title,
        description=task.description,
        due_at=task.due_at,
        name=_name(session, link.contact_id) or link.contact_id,
        owner_name=_name(session, task.owner_contact_id),
        drill=inspection.drill,
        closed=is_closed(session, inspection.id),
        done_at=task.done_at if task.status == TaskStatus.done.value else None,
        done_by_name=_done_by_name(session, task.done_by)
        if task.status == TaskStatus.done.value
        else None,
        just_done=just_done,
    )


def _task(session: Session, link: signed_links.DoneLink) -> Task:
    """The link's task, as long as it is the version the link was sent for."""
    task = session.get(Task, link.task_id)
    if task is None:
        raise signed_links.LinkInvalid("this task is not known")
    _check_version(link, task)
    return task


def _check_version(link: signed_links.DoneLink, task: Task) -> None:
    if task.version != link.version:
        raise signed_links.LinkVoided(task.version_voided_by or "changed")


def describe_done_link(
    session: Session, token: str, *, max_age_seconds: int, now: datetime
) -> TaskLink:
    """For GET: whose link it is and where the task stands; records nothing."""
    link = signed_links.done_signer(session, now=now).link_from(
        token, max_age_seconds=max_age_seconds
    )
    return _describe(session, link, _task(session, link), just_done=False)


def mark_done_by_link(
    session: Session, token: str, *, max_age_seconds: int, now: datetime
) -> TaskLink:
    """For POST: mark the task done (once: a second press, or a press racing another, changes
    nothing), say so on the timeline and cancel the task's pending reminder and escalation. A
    closed inspection records nothing; a link for an earlier version of the task (reassigned or
    reopened since) raises LinkVoided and records nothing. The caller commits."""
    link = signed_links.done_signer(session, now=now).link_from(
        token, max_age_seconds=max_age_seconds
    )
    task = _task(session, link)
    if task.status == TaskStatus.done.value or is_closed(session, task.inspection_id):
        return _describe(session, link, task, just_done=False)
    actor = f"{ACTOR_PREFIX}{link.contact_id}"
    # Conditional, so two presses at once record one change (the loser's WHERE finds it done).
    # Its version too, so a press racing a reassignment either lands first or is voided.
    changed = session.execute(
        sa.update(Task)
        .where(
            col(Task.id) == task.id,
            col(Task.status) != TaskStatus.done.value,
            col(Task.version) == link.version,
        )
        .values(
            status=TaskStatus.done.value,
            done_at=now,
            done_by=actor,
            blocked_reason=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(task)
    if not changed:
        _check_version(link, task)
        return _describe(session, link, task, just_done=False)
    name = _name(session, link.contact_id) or link.contact_id
    timeline.log(
        session,
        inspection_id=task.inspection_id,
        actor=actor,
        kind="task_done",
        summary=f"{task.title}: marked done by {name} (one-click link)",
        data={"task_id": str(task.id), "key": task.key, "contact_id": link.contact_id},
        now=now,
    )
    reminders.cancel_for_task(
        session, inspection_id=task.inspection_id, task_id=task.id, reason="task done", now=now
    )
    plan_tasks.emit(session, "task.completed", task, now=now)
    return _describe(session, link, task, just_done=True)
