"""What a task's due rows send when they come due (service/plan/reminders.py writes the rows).

Each reads the task afresh inside the claiming transaction, so a task done (or an inspection
closed) meanwhile sends nothing, and a task reassigned meanwhile goes to its new owner. Messages
are queued through the cascade's `Run` (rendered from the council's templates, written to the
outbox with a dedupe key): one per person per task per purpose, one digest per person per day,
whatever happens to the row. Reminders and digests go by the person's first-choice channel;
escalations, which must not be missed, by every channel the person chose. A person who has left
(inactive) is stood in for by their deputy."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from service import timeline
from service.cascade import flows
from service.cascade import service as cascade
from service.contacts.models import Contact
from service.frameworks import Milestone
from service.inspections.models import Inspection, MilestoneRecord
from service.inspections.service import Rules, timetable_of
from service.notify.base import Medium
from service.notify.models import Message
from service.notify.render import Purpose, format_day, format_moment
from service.plan import done_links
from service.plan.models import Task, TaskStatus
from service.plan.owners import Owners
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
    if session.get(MilestoneRecord, (inspection.id, Milestone.closed.value)) is not None:
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


def _reachable(run: cascade.Run, contact_id: str | None) -> Contact | None:
    """The person, or their deputy when they have left."""
    contact = run.contact(contact_id)
    if contact is None:
        return None
    if contact.active:
        return contact
    deputy = run.contact(contact.deputy)
    return deputy if deputy is not None and deputy.active else None


def _first_choice(contact: Contact) -> dict[Medium, str]:
    found = cascade.addresses(contact)
    return dict(list(found.items())[:1])


class _Links:
    def __init__(self, session: Session, rules: Rules, now: datetime):
        self.signer = done_links.signer(session, now=now)
        self.base = rules.messaging.public_base_url

    def url(self, task: Task, contact: Contact) -> str:
        return done_links.done_url(self.base, self.signer.token_for(task.id, contact.id))


def _task_values(run: cascade.Run, task: Task, contact: Contact, links: _Links) -> dict[str, str]:
    assert task.due_at is not None
    return {
        "title": task.title,
        "due": format_moment(task.due_at, run.messaging.zone),
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
    run = flows.open_run(session, inspection, rules=rules, now=now)
    person = _reachable(run, task.owner_contact_id)
    if person is None:
        return "skipped: nobody to remind"
    targets = _first_choice(person)
    if not targets:
        return f"skipped: {person.id} has no address"
    links = _Links(session, rules, now)
    for medium, address in targets.items():
        run.queue(
            contact=person,
            medium=medium,
            address=address,
            purpose=Purpose.task_reminder.value,
            dedupe=f"{person.id}:{Purpose.task_reminder.value}:{task.id}",
            priority=REMINDER_PRIORITY,
            extra={"task": _task_values(run, task, person, links)},
        )
    run.flush()
    return f"reminded {person.id}"


def _already_escalated(session: Session, inspection_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    return (
        session.exec(
            select(Message.id).where(
                Message.inspection_id == inspection_id,
                Message.purpose == Purpose.task_overdue.value,
                col(Message.dedupe_key).contains(f":{Purpose.task_overdue.value}:{task_id}:"),
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
    run = flows.open_run(session, inspection, rules=rules, now=now)
    owner = run.contact(task.owner_contact_id)
    candidates = [
        run.contact(owner.deputy) if owner is not None else None,
        run.contact(Owners(session).steering_group_lead()),
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
    links = _Links(session, rules, now)
    for person in told.values():
        for medium, address in cascade.addresses(person).items():
            run.queue(
                contact=person,
                medium=medium,
                address=address,
                purpose=Purpose.task_overdue.value,
                dedupe=f"{person.id}:{Purpose.task_overdue.value}:{task.id}",
                priority=ESCALATION_PRIORITY,
                extra={"task": _task_values(run, task, person, links), "owner": owner_values},
            )
    run.flush()
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
    return f"escalated to {', '.join(told) or 'nobody'}"


def digest(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """The 08:00 message of an on-site day: each person with open tasks gets one list of them."""
    inspection = _open_inspection(session, job)
    if isinstance(inspection, str):
        return inspection
    day = date.fromisoformat(job.payload["day"])
    if now.astimezone(rules.zone).date() > day:
        return "skipped: its day has passed"  # the service was down all day: no stale digest
    if day not in timetable_of(session, inspection, rules=rules).on_site_days:
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
    run = flows.open_run(session, inspection, rules=rules, now=now)
    run.remember(
        session.exec(
            select(Contact).where(col(Contact.id).in_({t.owner_contact_id for t in tasks}))
        ).all()
    )
    lists: dict[str, tuple[Contact, list[Task]]] = {}
    for task in tasks:
        person = _reachable(run, task.owner_contact_id)
        if person is not None:
            lists.setdefault(person.id, (person, []))[1].append(task)
    links = _Links(session, rules, now)
    sent = 0
    for person, own in lists.values():
        targets = _first_choice(person)
        items: list[dict[str, Any]] = [
            {
                "title": task.title,
                "due": format_moment(task.due_at, run.messaging.zone) if task.due_at else "",
                "overdue": task.due_at is not None and task.due_at <= now,
                "done_url": links.url(task, person),
            }
            for task in own
        ]
        for medium, address in targets.items():
            run.queue(
                contact=person,
                medium=medium,
                address=address,
                purpose=Purpose.task_digest.value,
                dedupe=f"{person.id}:{Purpose.task_digest.value}:{day.isoformat()}",
                priority=REMINDER_PRIORITY,
                extra={"day": format_day(day), "tasks": items},
            )
            sent += 1
    run.flush()
    return f"digest to {sent} people"
