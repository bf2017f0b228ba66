"""Across domains: recording judgements opens (or withdraws) the improvement pathway in the same
transaction, and a board meeting's reminder row, when it comes due, tells the board's members.

The reminder reads the meeting afresh inside the claiming transaction, so a meeting moved,
cancelled or withdrawn meanwhile sends nothing (a moved meeting's row has moved with it). It goes
as the council's deadline-reminder message ("Improvement board meeting at 10:00: due Tuesday
...") to each member role's person (their deputy when they have left; an unmapped role's to the
steering-group lead), once per person per meeting time, by their first-choice channel."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from service import timeline
from service.contacts.models import Contact
from service.improvement import service
from service.improvement.models import BoardMeeting, ImprovementBoard, MeetingStatus, PathwayStatus
from service.inspections.models import Inspection
from service.inspections.service import is_closed, outbox_for
from service.judgements import service as judgements
from service.notify.models import Purpose
from service.notify.outbox import first_choice
from service.notify.templates.render import format_day
from service.plan.owners import Owners
from service.rules import Rules
from service.scheduler.due import DueJob

ACTOR = "scheduler"
PRIORITY = 2
"""As task reminders."""


def record_judgements(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    grades: dict[str, str],
    actor: str,
    now: datetime,
) -> tuple[judgements.Judged, bool]:
    """Record the report's judgements; the overall grade then opens, keeps or withdraws the
    improvement pathway, all in the caller's transaction."""
    judged, changed = judgements.record(
        session, rules=rules, inspection_id=inspection_id, grades=grades, actor=actor, now=now
    )
    service.follow(
        session,
        rules=rules,
        inspection_id=inspection_id,
        overall=judged.overall.grade,
        actor=actor,
        now=now,
    )
    return judged, changed


def _reachable(session: Session, contact_id: str | None) -> Contact | None:
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact is None or contact.active:
        return contact
    deputy = session.get(Contact, contact.deputy) if contact.deputy else None
    return deputy if deputy is not None and deputy.active else None


def remind_meeting(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """A board meeting is near: remind every member."""
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        return "skipped: inspection no longer exists"
    if inspection.drill:
        return "skipped: drills get no reminders"
    if is_closed(session, inspection.id):
        return "skipped: inspection closed"
    meeting = session.get(BoardMeeting, int(job.payload["meeting_id"]))
    board = session.get(ImprovementBoard, inspection.id)
    if meeting is None or board is None or board.status != PathwayStatus.open.value:
        return "skipped: the improvement pathway is withdrawn"
    if meeting.status != MeetingStatus.scheduled.value:
        return "skipped: meeting cancelled"
    if meeting.starts_at <= now:
        return "skipped: the meeting has begun"
    zone = rules.zone
    owners = Owners(session)
    people: dict[str, Contact] = {}
    for role in board.members:
        person = _reachable(session, owners.for_role(role).contact_id)
        if person is not None:
            people.setdefault(person.id, person)
    local = meeting.starts_at.astimezone(zone)
    calendar = rules.calendar(session)
    days = max(0, calendar.working_days_between(now.astimezone(zone).date(), local.date()))
    outbox = outbox_for(session, inspection, rules=rules, now=now)
    sent = 0
    for person in people.values():
        for medium, address in first_choice(person).items():
            outbox.enqueue(
                person=person,
                medium=medium,
                address=address,
                purpose=Purpose.reminder,
                dedupe=f"{person.id}:{Purpose.reminder}:board:{meeting.id}:"
                f"{meeting.starts_at.isoformat()}",
                priority=PRIORITY,
                values={
                    "deadline": {
                        "label": f"{board.name} meeting at {local:%H:%M}",
                        "due": format_day(local.date()),
                        "working_days_before": days,
                    }
                },
            )
            sent += 1
    outbox.flush()
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=ACTOR,
        kind="board_meeting_reminder",
        summary=f"Reminder: {board.name} meets {format_day(local.date())} at {local:%H:%M}; "
        f"told {', '.join(person.name for person in people.values()) or 'nobody'}",
        data={"meeting_id": meeting.id, "told": list(people), "job_id": job.id},
        now=now,
    )
    return f"reminded {sent} addresses"
