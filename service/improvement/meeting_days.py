"""When an improvement board meets and when each progress report is due: the framework's rule
("the last Tuesday within 20 working days, then monthly") turned into days, on the council's
working days (through `service.calendar.working_days`, the one owner of that arithmetic)."""

from __future__ import annotations

import calendar as months
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.calendar.working_days import WorkingCalendar
from service.frameworks import ImprovementBoard as BoardRules
from service.notify.templates.render import format_moment
from service.plan.due_rules import DEFAULT_TIME

MAX_MEETINGS = 60
"""A bound on the meetings one board is given, whatever its rule says."""

_EVERY = re.compile(r"^(?P<weeks>\d+) weeks?$")


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (0-based) such weekday of the month; the last one when the month has fewer."""
    days = [
        day
        for day in range(1, months.monthrange(year, month)[1] + 1)
        if date(year, month, day).weekday() == weekday
    ]
    return date(year, month, days[min(nth, len(days) - 1)])


def meeting_days(
    board: BoardRules, opened_on: date, calendar: WorkingCalendar, *, until: date
) -> list[date]:
    """The board's meeting days: the first is the last of its weekday within
    `first_meeting_within` working days of the outcome (the first after it, when the window holds
    none), then monthly on the same weekday of the month, or every N weeks; a day that is not a
    working day moves to the next that is."""
    weekday = board.weekday.number
    latest = calendar.add_working_days(opened_on, board.first_meeting_within)
    first = latest
    while first > opened_on and (first.weekday() != weekday or not calendar.is_working_day(first)):
        first -= timedelta(days=1)
    if first <= opened_on:
        first = opened_on + timedelta(days=1)
        while first.weekday() != weekday or not calendar.is_working_day(first):
            first += timedelta(days=1)
    found: list[date] = []
    weeks = _EVERY.match(board.every)
    nth = (first.day - 1) // 7
    step = 0
    while len(found) < MAX_MEETINGS:
        if weeks is not None:
            nominal = first + timedelta(weeks=int(weeks["weeks"]) * step)
        else:
            month_index = first.month - 1 + step
            nominal = (
                first
                if step == 0
                else _nth_weekday(
                    first.year + month_index // 12, month_index % 12 + 1, weekday, nth
                )
            )
        day = calendar.first_working_day_on_or_after(nominal)
        if day >= until:
            break
        found.append(day)
        step += 1
    return found


def at_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def meeting_time(board: BoardRules) -> time:
    hours, minutes = (int(part) for part in board.time.split(":"))
    return time(hours, minutes)


def report_due(
    starts_at: datetime, working_days_before: int, calendar: WorkingCalendar, zone: ZoneInfo
) -> datetime:
    """A progress report is due at 17:00 the given working days before the meeting (at the
    meeting itself when that is 0)."""
    if working_days_before == 0:
        return starts_at
    day = calendar.add_working_days(starts_at.astimezone(zone).date(), -working_days_before)
    return at_moment(day, DEFAULT_TIME, zone)


def report_title(title: str, starts_at: datetime, zone: ZoneInfo) -> str:
    return f"{title} meeting of {format_moment(starts_at, zone)}"[:200]
