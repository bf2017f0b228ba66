"""Deadline reminders as due rows: 10, 5, 2 and 1 working days before each deadline and on the
day, at 09:00 local time. Recomputed deadlines move their pending reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from service.inspections.models import Inspection
from service.inspections.timetable import Timetable
from service.scheduler import due
from service.working_days import WorkingCalendar

KIND = "deadline_reminder"
WORKING_DAYS_BEFORE = (10, 5, 2, 1, 0)
REMIND_AT = time(9, 0)


def dedupe_key(inspection: Inspection, deadline: str, days_before: int) -> str:
    return f"{inspection.id}:deadline:{deadline}:{days_before}"


def remind_at(
    calendar: WorkingCalendar, due_day: date, days_before: int, zone: ZoneInfo
) -> datetime:
    day = calendar.add_working_days(due_day, -days_before)
    return datetime.combine(day, REMIND_AT, tzinfo=zone).astimezone(UTC)


def sync(
    session: Session,
    *,
    inspection: Inspection,
    table: Timetable,
    calendar: WorkingCalendar,
    rules_zone: ZoneInfo,
    now: datetime,
    closed: bool = False,
) -> None:
    """Bring the reminder rows in line with the deadlines. Drills get none: a rehearsal must not
    send deadline reminders for months afterwards."""
    if inspection.drill:
        return
    existing = {
        job.dedupe_key: job
        for job in session.exec(
            select(due.DueJob).where(
                due.DueJob.inspection_id == inspection.id, due.DueJob.kind == KIND
            )
        ).all()
    }
    for deadline in table.deadlines:
        for days_before in WORKING_DAYS_BEFORE:
            key = dedupe_key(inspection, deadline.key, days_before)
            job = existing.get(key)
            if closed or deadline.met_on is not None:
                if job is not None:
                    due.cancel(
                        job, reason="deadline met" if not closed else "inspection closed", now=now
                    )
                continue
            at = remind_at(calendar, deadline.due, days_before, rules_zone)
            payload = {
                "deadline": deadline.key,
                "label": deadline.label,
                "due": deadline.due.isoformat(),
                "working_days_before": days_before,
            }
            if job is None:
                if at > now:
                    due.schedule(
                        session,
                        kind=KIND,
                        dedupe_key=key,
                        due_at=at,
                        now=now,
                        inspection_id=inspection.id,
                        payload=payload,
                    )
                continue
            if job.status == due.DONE:
                continue  # a reminder that was sent is never sent again
            if (
                job.status == due.PENDING
                and job.payload == payload
                and (job.due_at == at or job.attempts)
            ):
                continue  # unchanged, or already due and waiting for a retry
            if at > now:
                job.due_at, job.payload, job.status = at, payload, due.PENDING
                job.outcome, job.finished_at = None, None
            else:
                due.cancel(job, reason="moved into the past by a changed deadline", now=now)
            session.add(job)
