"""Working days: Monday to Friday, not a bank holiday in the configured UK nation, not a council
closure day. The one place for this arithmetic; everything else calls it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays
from sqlmodel import Session, select

from service.calendar.closures import ClosureDay
from service.config import BankHolidayRegion

MAX_WORKING_DAYS = 5000
"""About twenty years: far beyond any inspection deadline, small enough to answer at once."""


class WorkingDayError(ValueError):
    """A request for working-day arithmetic that cannot be answered."""


@lru_cache(maxsize=8)
def _bank_holidays(region: BankHolidayRegion) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=region.subdivision)


@dataclass(frozen=True)
class WorkingCalendar:
    region: BankHolidayRegion = BankHolidayRegion.england
    closures: frozenset[date] = field(default_factory=frozenset)
    closure_reasons: tuple[tuple[date, str], ...] = ()

    def bank_holiday(self, day: date) -> str | None:
        """The bank holiday's name, or None."""
        return _bank_holidays(self.region).get(day)

    def non_working_reason(self, day: date) -> str | None:
        """Why `day` is not a working day, in words, or None when it is one."""
        if day.weekday() >= 5:
            return day.strftime("%A")
        holiday = self.bank_holiday(day)
        if holiday:
            return holiday
        if day in self.closures:
            return dict(self.closure_reasons).get(day, "council closure day")
        return None

    def is_working_day(self, day: date) -> bool:
        return self.non_working_reason(day) is None

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (before it when n is negative); `start` itself never
        counts. n = 0 returns `start` unchanged."""
        if abs(n) > MAX_WORKING_DAYS:
            raise WorkingDayError(
                f"days must be between -{MAX_WORKING_DAYS} and {MAX_WORKING_DAYS}"
            )
        step = 1 if n > 0 else -1
        day, remaining = start, abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def next_working_day(self, start: date) -> date:
        return self.add_working_days(start, 1)

    def first_working_day_on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.add_working_days(day, 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; when `end` is earlier, minus the
        working days before `start` down to and including `end`. Either way
        add_working_days(start, working_days_between(start, end)) lands on `end` whenever `end`
        is a working day."""
        if end >= start:
            return len(self.working_days_in(start + timedelta(days=1), end))
        return -len(self.working_days_in(end, start - timedelta(days=1)))

    def working_days_in(self, first: date, last: date) -> list[date]:
        """Every working day from `first` to `last`, both included."""
        days: list[date] = []
        day = first
        while day <= last:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def load_calendar(session: Session, region: BankHolidayRegion) -> WorkingCalendar:
    rows = session.exec(select(ClosureDay.day, ClosureDay.reason)).all()
    return WorkingCalendar(
        region=region,
        closures=frozenset(day for day, _ in rows),
        closure_reasons=tuple((day, reason) for day, reason in rows),
    )
