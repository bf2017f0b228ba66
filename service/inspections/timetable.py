"""The week 1-4 timetable and the statutory deadlines, computed from the call, a framework, the
working-day calendar, the lead inspector's overrides and the recorded milestones. Pure: no
database, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from service.calendar.working_days import WorkingCalendar
from service.frameworks import Framework, OnSiteStartRule, Phase


class TimetableError(ValueError):
    """The inputs leave no valid timetable (e.g. every on-site day overridden away)."""


@dataclass(frozen=True)
class PhaseDays:
    key: str
    label: str
    on_site: bool
    start: date
    end: date
    days: list[date]
    week: int


@dataclass(frozen=True)
class DeadlineDue:
    key: str
    label: str
    due: date
    working_days: int
    counted_from: str
    from_date: date
    met_on: date | None


@dataclass(frozen=True)
class Timetable:
    day0: date
    on_site_start: date
    inspection_end: date
    phases: list[PhaseDays]
    deadlines: list[DeadlineDue]
    warnings: list[str] = field(default_factory=list)

    @property
    def on_site_days(self) -> list[date]:
        return sorted(day for phase in self.phases if phase.on_site for day in phase.days)

    def deadline(self, key: str) -> DeadlineDue | None:
        return next((d for d in self.deadlines if d.key == key), None)


def _nominal_on_site_start(framework: Framework, day0: date) -> date:
    """The day the rule names before the calendar is applied: the day after the call, or the
    Monday after it. Non-working days from here to the real start are reported as lost."""
    if framework.on_site_start is OnSiteStartRule.next_working_day:
        return day0 + timedelta(days=1)
    return day0 + timedelta(days=7 - day0.weekday())


def planned_on_site_start(framework: Framework, day0: date, calendar: WorkingCalendar) -> date:
    return calendar.first_working_day_on_or_after(_nominal_on_site_start(framework, day0))


def _phase_dates(phase: Phase, week1_monday: date) -> list[date]:
    monday = week1_monday + timedelta(weeks=phase.week - 1)
    return sorted(monday + timedelta(days=weekday.number) for weekday in phase.weekdays)


def phase_for_date(
    framework: Framework, day0: date, calendar: WorkingCalendar, day: date
) -> Phase | None:
    """The on-site phase whose calendar week holds `day` (the one listing its weekday first),
    which is where an added on-site day belongs."""
    start = planned_on_site_start(framework, day0, calendar)
    week1_monday = start - timedelta(days=start.weekday())
    week = (day - week1_monday).days // 7 + 1
    candidates = [p for p in framework.phases if p.on_site and p.week == week]
    for phase in candidates:
        if any(w.number == day.weekday() for w in phase.weekdays):
            return phase
    return candidates[-1] if candidates else None


def compute(
    framework: Framework,
    day0: date,
    calendar: WorkingCalendar,
    overrides: dict[date, bool] | None = None,
    milestones: dict[str, date] | None = None,
) -> Timetable:
    overrides = overrides or {}
    milestones = milestones or {}
    start = planned_on_site_start(framework, day0, calendar)
    nominal_start = _nominal_on_site_start(framework, day0)
    week1_monday = start - timedelta(days=start.weekday())
    warnings: list[str] = []
    lost: list[str] = []
    gained: list[str] = []

    phases: list[PhaseDays] = []
    for phase in framework.phases:
        earliest = nominal_start if phase.on_site else day0
        dates = [d for d in _phase_dates(phase, week1_monday) if d >= earliest]
        days = []
        for day in dates:
            reason = calendar.non_working_reason(day)
            if reason is None:
                days.append(day)
            elif phase.on_site:
                lost.append(f"{day.isoformat()} ({reason})")
        if phase.on_site:
            for day, on_site in overrides.items():
                placed = phase_for_date(framework, day0, calendar, day)
                if placed is None or placed.key != phase.key:
                    continue
                if on_site and day not in days and calendar.is_working_day(day):
                    days.append(day)
                    gained.append(f"{day.isoformat()} (changed by the lead inspector)")
                elif not on_site and day in days:
                    days.remove(day)
                    lost.append(f"{day.isoformat()} (changed by the lead inspector)")
            days.sort()
        span = dates + days
        first = min(span) if span else week1_monday + timedelta(weeks=phase.week - 1)
        last = max(span) if span else first + timedelta(days=4)
        phases.append(
            PhaseDays(
                key=phase.key,
                label=phase.label,
                on_site=phase.on_site,
                start=first,
                end=last,
                days=days,
                week=phase.week,
            )
        )

    on_site = sorted(day for phase in phases if phase.on_site for day in phase.days)
    if not on_site:
        raise TimetableError("the timetable would have no on-site day left")
    on_site_start, inspection_end = on_site[0], on_site[-1]

    if len(on_site) < framework.normal_on_site_days:
        detail = f": not on site on {', '.join(sorted(lost))}" if lost else ""
        warnings.append(
            f"{len(on_site)} on-site days, fewer than the usual {framework.normal_on_site_days} "
            f"for {framework.name}{detail}."
        )
    elif len(on_site) > framework.normal_on_site_days:
        detail = f": also on site on {', '.join(sorted(gained))}" if gained else ""
        warnings.append(
            f"{len(on_site)} on-site days, more than the usual {framework.normal_on_site_days} "
            f"for {framework.name}{detail}; check the cover for the extra days."
        )
    call_weekday = day0.strftime("%A")
    if call_weekday.lower() != framework.usual_call_weekday.value:
        warnings.append(
            f"The call came on a {call_weekday}; the usual call day for {framework.name} is "
            f"{framework.usual_call_weekday.value.capitalize()}, so check the timetable with the "
            "lead inspector."
        )
    elif not calendar.is_working_day(day0):
        warnings.append(
            f"The call came on {day0.isoformat()}, not a working day "
            f"({calendar.non_working_reason(day0)})."
        )

    anchors = {"inspection_end": inspection_end, "on_site_start": on_site_start}
    deadlines: list[DeadlineDue] = []
    for rule in framework.deadlines:
        counted_from, from_date = rule.counted_from, anchors[rule.counted_from]
        if rule.recounted_from is not None and rule.recounted_from.value in milestones:
            counted_from = rule.recounted_from.value
            from_date = milestones[counted_from]
        due = calendar.add_working_days(from_date, rule.working_days)
        anchors[f"{rule.key}_due"] = due
        deadlines.append(
            DeadlineDue(
                key=rule.key,
                label=rule.label,
                due=due,
                working_days=rule.working_days,
                counted_from=counted_from,
                from_date=from_date,
                met_on=milestones.get(rule.met_by.value) if rule.met_by else None,
            )
        )

    return Timetable(
        day0=day0,
        on_site_start=on_site_start,
        inspection_end=inspection_end,
        phases=phases,
        deadlines=deadlines,
        warnings=warnings,
    )
