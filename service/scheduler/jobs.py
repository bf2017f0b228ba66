"""What each kind of due row does when it comes due."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from service import timeline
from service.cascade import flows
from service.cascade import service as cascade
from service.frameworks import Milestone
from service.inspections import reminders
from service.inspections.models import Inspection, MilestoneRecord
from service.inspections.service import Rules
from service.plan import notices
from service.plan import reminders as plan_reminders
from service.scheduler.due import DueJob, Handler


def remind_deadline(session: Session, job: DueJob, now: datetime) -> str:
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        return "skipped: inspection no longer exists"
    if session.get(MilestoneRecord, (inspection.id, Milestone.closed.value)) is not None:
        return "skipped: inspection closed"
    payload = job.payload
    days_before = int(payload["working_days_before"])
    when = (
        "today" if days_before == 0 else f"in {days_before} working day{'s' * (days_before != 1)}"
    )
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor="scheduler",
        kind="deadline_reminder",
        summary=f"Reminder: {payload['label']} is due {when} ({payload['due']})",
        data={**payload, "job_id": job.id},
        now=now,
    )
    return "reminded"


HANDLERS: dict[str, Handler] = {reminders.KIND: remind_deadline}


def build_handlers(rules: Rules) -> dict[str, Handler]:
    """Every kind of due row, wired to this process's rules (frameworks, messaging settings)."""

    def remind(session: Session, job: DueJob, now: datetime) -> str:
        outcome = remind_deadline(session, job, now)
        if outcome == "reminded":
            flows.remind_steering_group(session, job, now, rules=rules)
        return outcome

    def close_window(session: Session, job: DueJob, now: datetime) -> str:
        return flows.window_closed(session, job, now, rules=rules)

    def release(session: Session, job: DueJob, now: datetime) -> str:
        return flows.release_due(session, job, now, rules=rules)

    def remind_task(session: Session, job: DueJob, now: datetime) -> str:
        return notices.remind(session, job, now, rules=rules)

    def escalate_task(session: Session, job: DueJob, now: datetime) -> str:
        return notices.escalate(session, job, now, rules=rules)

    def send_digest(session: Session, job: DueJob, now: datetime) -> str:
        return notices.digest(session, job, now, rules=rules)

    return {
        reminders.KIND: remind,
        cascade.WINDOW_KIND: close_window,
        cascade.RELEASE_KIND: release,
        plan_reminders.REMINDER_KIND: remind_task,
        plan_reminders.OVERDUE_KIND: escalate_task,
        plan_reminders.DIGEST_KIND: send_digest,
    }
