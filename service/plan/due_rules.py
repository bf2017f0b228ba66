"""Due rules and reminder rules: short phrases in plan definitions, anchored on the timetable.

    notified_at + 2 hours
    notified_at + 3 hours, not before 17:00
    on_site_start 08:30
    week2.start + 2 working days 17:00
    inspection_end
    publication_due - 5 working days
    report_published + 10 working days

An anchor is `notified_at` (a moment) or a day: `day0`, `on_site_start`, `inspection_end`,
`<phase>.start` / `<phase>.end`, `<deadline>_due`, or a milestone (`report_published`, ...),
which is unknown until recorded (the task then has no due time yet). A day without a time is due
at 17:00 Europe/London. Every working-day step goes through `service.working_days`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.calendar.working_days import WorkingCalendar
from service.frameworks import Framework, Milestone
from service.inspections.timetable import Timetable

MOMENT_ANCHOR = "notified_at"
DEFAULT_TIME = time(17, 0)
"""The end of the working day, for a rule that names a day but no time."""

_RULE = re.compile(
    r"^(?P<anchor>[a-z0-9_][a-z0-9_.-]*)"
    r"(?:\s*(?P<sign>[+-])\s*(?P<amount>\d{1,3})\s+(?P<unit>working days?|days?|hours?|minutes?))?"
    r"(?:\s+(?P<time>\d{1,2}:\d{2}))?"
    r"(?:\s*,\s*not before\s+(?P<floor>\d{1,2}:\d{2}))?$"
)
_REMINDER = re.compile(
    r"^(?P<amount>\d{1,3})\s+(?P<unit>working days?|days?|hours?|minutes?)\s+before$"
)


class RuleError(ValueError):
    """A rule that cannot be read; the message says what is wrong and shows the grammar."""


def _unit(text: str) -> str:
    return text.rstrip("s") if text != "working days" else "working day"


@dataclass(frozen=True)
class DueRule:
    text: str
    anchor: str
    amount: int = 0
    unit: str | None = None
    """"working day", "day", "hour" or "minute"."""
    at: time | None = None
    not_before: time | None = None
    """From the call: not before this time on the day of the call (a call late in the day
    still gives its task a few hours; an early one does not make it due before the time)."""

    @property
    def needs_moment(self) -> bool:
        return self.unit in ("hour", "minute")


def parse_due(text: str) -> DueRule:
    cleaned = " ".join(text.split())
    match = _RULE.match(cleaned)
    if match is None:
        raise RuleError(
            f"{text!r} is not a due rule; write an anchor, optionally +/- a number of working "
            "days, days, hours or minutes, optionally a time: e.g. 'week2.start + 2 working days "
            "17:00' or 'notified_at + 2 hours'"
        )
    at, floor = _time_of_day(text, match["time"]), _time_of_day(text, match["floor"])
    amount = int(match["amount"] or 0) * (-1 if match["sign"] == "-" else 1)
    unit = _unit(match["unit"]) if match["unit"] else None
    rule = DueRule(
        text=cleaned, anchor=match["anchor"], amount=amount, unit=unit, at=at, not_before=floor
    )
    if floor is not None and not rule.needs_moment:
        raise RuleError(
            f"{text!r}: 'not before' goes with hours or minutes from {MOMENT_ANCHOR} "
            "(e.g. 'notified_at + 3 hours, not before 17:00')"
        )
    if rule.needs_moment and rule.anchor != MOMENT_ANCHOR:
        raise RuleError(
            f"{text!r}: hours and minutes count from {MOMENT_ANCHOR} only; from a day, give a "
            "time instead (e.g. 'on_site_start 08:30')"
        )
    if rule.needs_moment and at is not None:
        raise RuleError(f"{text!r}: give either hours/minutes or a time of day, not both")
    return rule


def _time_of_day(text: str, found: str | None) -> time | None:
    if not found:
        return None
    hours, minutes = (int(part) for part in found.split(":"))
    if hours > 23 or minutes > 59:
        raise RuleError(f"{text!r}: {found} is not a time of day")
    return time(hours, minutes)


def known_anchors(framework: Framework) -> set[str]:
    names = {MOMENT_ANCHOR, "day0", "on_site_start", "inspection_end"}
    for phase in framework.phases:
        names |= {f"{phase.key}.start", f"{phase.key}.end"}
    names |= {f"{deadline.key}_due" for deadline in framework.deadlines}
    names |= {milestone.value for milestone in Milestone}
    return names


def check_anchor(rule: DueRule, framework: Framework) -> None:
    known = known_anchors(framework)
    if rule.anchor not in known:
        raise RuleError(
            f"{rule.text!r}: unknown anchor {rule.anchor!r} for {framework.key}; "
            f"known anchors: {', '.join(sorted(known))}"
        )


@dataclass(frozen=True)
class Anchors:
    """What an inspection's rules can count from, as of now."""

    notified_at: datetime
    days: dict[str, date]

    @classmethod
    def of(cls, notified_at: datetime, table: Timetable, milestones: dict[str, date]) -> Anchors:
        days = {
            "day0": table.day0,
            "on_site_start": table.on_site_start,
            "inspection_end": table.inspection_end,
        }
        for phase in table.phases:
            days[f"{phase.key}.start"] = phase.start
            days[f"{phase.key}.end"] = phase.end
        for deadline in table.deadlines:
            days[f"{deadline.key}_due"] = deadline.due
        days.update(milestones)
        return cls(notified_at=notified_at, days=days)


def due_at(
    rule: DueRule, anchors: Anchors, calendar: WorkingCalendar, zone: ZoneInfo
) -> datetime | None:
    """The rule's moment in UTC, or None while its anchor (a milestone) is not yet recorded."""
    if rule.anchor == MOMENT_ANCHOR:
        # Hours and minutes are elapsed time, so add them in UTC: arithmetic on a London time
        # is wall-clock arithmetic and would be an hour out across a change of the clocks.
        if rule.needs_moment:
            step = (
                timedelta(hours=rule.amount)
                if rule.unit == "hour"
                else timedelta(minutes=rule.amount)
            )
            moment = anchors.notified_at.astimezone(UTC) + step
            if rule.not_before is None:
                return moment
            call_day = anchors.notified_at.astimezone(zone).date()
            floor = datetime.combine(call_day, rule.not_before, tzinfo=zone).astimezone(UTC)
            return max(moment, floor)
        start = anchors.notified_at.astimezone(zone)
        day, at = start.date(), rule.at or start.time().replace(tzinfo=None)
    else:
        found = anchors.days.get(rule.anchor)
        if found is None:
            return None
        day, at = found, rule.at or DEFAULT_TIME
    if rule.unit == "working day":
        day = calendar.add_working_days(day, rule.amount)
    elif rule.unit == "day":
        day = day + timedelta(days=rule.amount)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class ReminderRule:
    text: str
    amount: int
    unit: str


def parse_reminder(text: str) -> ReminderRule | None:
    """None for 'none'; otherwise 'N hours|minutes|working days|days before'."""
    cleaned = " ".join(text.split()).lower()
    if cleaned in ("", "none"):
        return None
    match = _REMINDER.match(cleaned)
    if match is None:
        raise RuleError(
            f"{text!r} is not a reminder rule; write e.g. '2 hours before', "
            "'1 working day before' or 'none'"
        )
    amount = int(match["amount"])
    if amount == 0:
        raise RuleError(f"{text!r}: a reminder must come before the due time (use 'none')")
    return ReminderRule(text=cleaned, amount=amount, unit=_unit(match["unit"]))


def remind_at(
    rule: ReminderRule, due: datetime, calendar: WorkingCalendar, zone: ZoneInfo
) -> datetime:
    if rule.unit == "hour":  # elapsed time: in UTC, whatever zone `due` came in
        return due.astimezone(UTC) - timedelta(hours=rule.amount)
    if rule.unit == "minute":
        return due.astimezone(UTC) - timedelta(minutes=rule.amount)
    local = due.astimezone(zone)
    if rule.unit == "working day":
        day = calendar.add_working_days(local.date(), -rule.amount)
    else:
        day = local.date() - timedelta(days=rule.amount)
    return datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=zone).astimezone(UTC)
