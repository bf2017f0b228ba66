"""Task reminders, overdue escalations and the on-site 08:00 digest as due rows.

`sync` keeps the rows in line with the tasks and the timetable, in the caller's transaction:

- `task_reminder`, one per open task with a reminder rule and a due time, at the rule's time;
- `task_overdue`, one per open task with a due time, at the due time (to the owner's deputy and
  the steering-group lead);
- `task_digest`, one per on-site day at 08:00 Europe/London (each owner's open tasks).

When times move, pending rows move with them, by the one rule of `scheduler/due.py` for times
in the past (at announce, a time already passed writes no row: the owner's announcement lists
the task). A pending reminder moved into the past is sent at once while the task's due time is
still ahead, and cancelled once the due time itself has passed (the escalation speaks then); a
pending escalation moved into the past goes at once, since the task is overdue now. Done
tasks, a closed inspection and days no longer on site cancel their
pending rows; drills get no rows at all (as they get no deadline reminders).

The rows are read once per inspection and new ones written in one statement, so announcing a
plan of hundreds of tasks costs a handful of queries."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from service.calendar.working_days import WorkingCalendar
from service.inspections.models import Inspection
from service.inspections.timetable import Timetable
from service.plan.due_rules import ReminderRule, RuleError, parse_reminder, remind_at
from service.plan.models import Task, TaskStatus
from service.scheduler import due

REMINDER_KIND = "task_reminder"
OVERDUE_KIND = "task_overdue"
DIGEST_KIND = "task_digest"
KINDS = (REMINDER_KIND, OVERDUE_KIND, DIGEST_KIND)
DIGEST_AT = time(8, 0)


def reminder_key(inspection_id: uuid.UUID, task_id: uuid.UUID) -> str:
    return f"{inspection_id}:task:{task_id}:reminder"


def overdue_key(inspection_id: uuid.UUID, task_id: uuid.UUID) -> str:
    return f"{inspection_id}:task:{task_id}:overdue"


def digest_key(inspection_id: uuid.UUID, day: date) -> str:
    return f"{inspection_id}:digest:{day.isoformat()}"


def digest_at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, DIGEST_AT, tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=512)
def _reminder_rule(text: str | None) -> ReminderRule | None:
    if not text:
        return None
    try:
        return parse_reminder(text)
    except RuleError:  # refused where rules are written; never a reason to fail a change
        return None


def sync(
    session: Session,
    *,
    inspection: Inspection,
    table: Timetable,
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    now: datetime,
    closed: bool = False,
) -> None:
    """Bring the inspection's task reminder, escalation and digest rows in line with its tasks."""
    if inspection.drill:
        return
    session.flush()
    rows = due.Placement(session, inspection_id=inspection.id, kinds=KINDS, now=now)
    tasks = session.execute(
        sa.select(Task.id, Task.status, Task.due_at, Task.reminder_rule).where(  # type: ignore[call-overload]
            Task.inspection_id == inspection.id
        )
    ).all()
    for task_id, status, due_at, reminder_text in tasks:
        reminder_key_ = reminder_key(inspection.id, task_id)
        overdue_key_ = overdue_key(inspection.id, task_id)
        if closed:
            rows.stop(reminder_key_, "inspection closed")
            rows.stop(overdue_key_, "inspection closed")
            continue
        if status == TaskStatus.done.value:
            rows.stop(reminder_key_, "task done")
            rows.stop(overdue_key_, "task done")
            continue
        if due_at is None:
            rows.stop(reminder_key_, "task has no due time")
            rows.stop(overdue_key_, "task has no due time")
            continue
        payload = {"task_id": str(task_id), "due": due_at.isoformat()}
        rows.place(
            overdue_key_,
            OVERDUE_KIND,
            due_at,
            payload,
            late=now,
            late_reason="",
        )
        rule = _reminder_rule(reminder_text)
        if rule is None:
            rows.stop(reminder_key_, "task has no reminder rule")
            continue
        rows.place(
            reminder_key_,
            REMINDER_KIND,
            remind_at(rule, due_at, calendar, zone),
            {**payload, "rule": rule.text},
            late=now if due_at > now else None,
            late_reason="moved past the task's due time",
        )
    on_site = set(table.on_site_days)
    for key, job in rows.existing.items():
        if job.kind == DIGEST_KIND and date.fromisoformat(job.payload["day"]) not in on_site:
            rows.stop(key, "no longer an on-site day")
    for day in sorted(on_site):
        key = digest_key(inspection.id, day)
        if closed:
            rows.stop(key, "inspection closed")
        else:
            rows.place(
                key,
                DIGEST_KIND,
                digest_at(day, zone),
                {"day": day.isoformat()},
                late=None,
                late_reason="its morning has passed",
            )
    rows.write()


def cancel_for_task(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    task_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> int:
    """Cancel a task's pending reminder and escalation (it is done); returns how many."""
    keys = [reminder_key(inspection_id, task_id), overdue_key(inspection_id, task_id)]
    return due.cancel_keys(session, keys, reason=reason, now=now)
