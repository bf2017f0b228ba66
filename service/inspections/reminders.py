"""Deadline reminders as due rows: 10, 5, 2 and 1 working days before each deadline and on the
day, at 09:00 local time. Recomputed deadlines move their pending reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from service.calendar.working_days import WorkingCalendar
from service.inspections.models import Inspection
from service.inspections.timetable import Timetable
from service.scheduler import due

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
    rows = due.Placement(session, inspection_id=inspection.id, kinds=[KIND], now=now)
    for deadline in table.deadlines:
        for days_before in WORKING_DAYS_BEFORE:
            key = dedupe_key(inspection, deadline.key, days_before)
            if closed or deadline.met_on is not None:
                rows.stop(key, "inspection closed" if closed else "deadline met")
                continue
            rows.place(
                key,
                KIND,
                remind_at(calendar, deadline.due, days_before, rules_zone),
                {
                    "deadline": deadline.key,
                    "label": deadline.label,
                    "due": deadline.due.isoformat(),
                    "working_days_before": days_before,
                },
                late=None,
                late_reason="moved into the past by a changed deadline",
            )
    rows.write()
