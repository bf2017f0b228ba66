"""What each kind of due row does when it comes due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from service import timeline
from service.frameworks import Milestone
from service.inspections import reminders
from service.inspections.models import Inspection, MilestoneRecord
from service.scheduler.due import DueJob, Handler

ReminderListener = Callable[[Session, DueJob, datetime], None]
reminder_listeners: list[ReminderListener] = []
"""Called in the job's transaction after a reminder lands on the timeline (messages hook here)."""


def remind_deadline(session: Session, job: DueJob, now: datetime) -> str:
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        return "skipped: inspection no longer exists"
    if session.get(MilestoneRecord, (inspection.id, Milestone.closed.value)) is not None:
        return "skipped: inspection closed"
    payload = job.payload
    days_before = int(payload["working_days_before"])
    when = "today" if days_before == 0 else f"in {days_before} working day{'s' * (days_before != 1)}"
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor="scheduler",
        kind="deadline_reminder",
        summary=f"Reminder: {payload['label']} is due {when} ({payload['due']})",
        data={**payload, "job_id": job.id},
        now=now,
    )
    for listener in reminder_listeners:
        listener(session, job, now)
    return "reminded"


HANDLERS: dict[str, Handler] = {reminders.KIND: remind_deadline}
