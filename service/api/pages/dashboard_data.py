"""What the dashboard shows, gathered from the domains in one read (the timetable as it stands,
the cascade's counts, counted by the database and never a row per person, the tasks and the
audit's progress) and laid out for the page: calendar weeks, deadlines with working days left,
tasks grouped by owner."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from service.calendar.working_days import WorkingCalendar
from service.cascade import counts as cascade_counts
from service.cascade import progress as cascade_progress
from service.cascade.schemas import MediumPaused
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.inspections.timetable import Timetable
from service.plan import case_audit_report
from service.plan import tasks as plan_tasks
from service.plan.models import TaskStatus
from service.plan.schemas import AuditSummary, TaskPublic
from service.rules import Rules

BROKEN_SHOWN = 50
REPLIES_SHOWN = 20
OVERDUE_SHOWN = 20
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


@dataclass(frozen=True)
class Day:
    day: date
    on_site: bool
    phase: str | None
    call: bool
    today: bool
    closed: str | None
    """Why this is not a working day (a bank holiday's or closure day's name), or None."""


@dataclass(frozen=True)
class Week:
    number: int
    labels: list[str]
    days: list[Day]


@dataclass(frozen=True)
class DeadlineRow:
    label: str
    due: date
    met_on: date | None
    working_days_left: int


@dataclass
class OwnerRow:
    name: str
    statuses: Counter[str] = field(default_factory=Counter)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


@dataclass(frozen=True)
class Dashboard:
    inspection: Inspection
    status: str
    timetable: Timetable
    weeks: list[Week]
    deadlines: list[DeadlineRow]
    counts: cascade_counts.CascadeCounts
    broken: list[cascade_counts.BrokenPerson]
    overdue_tasks: list[TaskPublic]
    overdue_total: int
    owners: list[OwnerRow]
    task_total: int
    task_warnings: list[str]
    audit: AuditSummary
    today: date
    now: datetime
    replies: list[cascade_progress.Reply] = field(default_factory=list)
    """Texts sent back that did not acknowledge ("on leave till Monday"), newest first."""
    paused: list[MediumPaused] = field(default_factory=list)
    """'SMS paused until 00:00 UTC: Notify's daily limit', while it is."""
    tasks: list[TaskPublic] = field(default_factory=list)
    """Every task of the plan, for the plan at a glance."""


def weeks_of(table: Timetable, calendar: WorkingCalendar, today: date) -> list[Week]:
    """One calendar week (Monday to Friday) per week the framework's phases name, in order."""
    mondays: dict[int, date] = {}
    labels: dict[int, list[str]] = {}
    phase_of: dict[date, str] = {}
    for phase in table.phases:
        monday = phase.start - timedelta(days=phase.start.weekday())
        mondays[phase.week] = min(mondays.get(phase.week, monday), monday)
        labels.setdefault(phase.week, []).append(phase.label)
        for day in phase.days:
            phase_of[day] = phase.label
    on_site = set(table.on_site_days)
    weeks = []
    for number, monday in sorted(mondays.items()):
        days = []
        for offset in range(5):
            day = monday + timedelta(days=offset)
            reason = calendar.non_working_reason(day)
            days.append(
                Day(
                    day=day,
                    on_site=day in on_site,
                    phase=phase_of.get(day),
                    call=day == table.day0,
                    today=day == today,
                    closed=reason,
                )
            )
        weeks.append(Week(number=number, labels=labels[number], days=days))
    return weeks


def deadlines_of(table: Timetable, calendar: WorkingCalendar, today: date) -> list[DeadlineRow]:
    return [
        DeadlineRow(
            label=deadline.label,
            due=deadline.due,
            met_on=deadline.met_on,
            working_days_left=calendar.working_days_between(today, deadline.due),
        )
        for deadline in table.deadlines
    ]


def owners_of(items: list[TaskPublic]) -> list[OwnerRow]:
    """Open work first: the owners with most overdue tasks, then most open ones, then by name."""
    rows: dict[str, OwnerRow] = {}
    for task in items:
        name = task.owner_name or task.owner_contact_id or "No owner"
        row = rows.setdefault(name, OwnerRow(name=name))
        row.statuses[task.status] += 1
        row.overdue += task.overdue
    return sorted(
        rows.values(),
        key=lambda r: (-r.overdue, -(r.total - r.statuses[TaskStatus.done.value]), r.name),
    )


def gather(session: Session, inspection: Inspection, *, rules: Rules, now: datetime) -> Dashboard:
    """Each part from the domain that owns it; what is left here is how the page lays it out."""
    calendar = rules.calendar(session)
    today = rules.local_date(now)
    stands = inspections.standing(session, inspection, rules=rules, today=today, calendar=calendar)
    table = stands.table
    listed = plan_tasks.list_tasks(session, inspection.id, rules=rules, now=now)
    overdue = [task for task in listed.items if task.overdue]
    return Dashboard(
        inspection=inspection,
        status=stands.status,
        timetable=table,
        weeks=weeks_of(table, calendar, today),
        deadlines=deadlines_of(table, calendar, today),
        counts=cascade_counts.counts(session, inspection.id),
        broken=cascade_counts.broken_people(session, inspection.id, limit=BROKEN_SHOWN),
        overdue_tasks=overdue[:OVERDUE_SHOWN],
        overdue_total=len(overdue),
        owners=owners_of(listed.items),
        task_total=len(listed.items),
        task_warnings=listed.warnings,
        audit=case_audit_report.summary(session, rules=rules, inspection=inspection, now=now),
        today=today,
        now=now,
        replies=cascade_progress.replies(session, inspection.id, limit=REPLIES_SHOWN),
        paused=cascade_progress.paused(session, now),
        tasks=listed.items,
    )


STATUS_TAGS = {
    "announced": "govuk-tag--blue",
    "in_progress": "govuk-tag--green",
    "awaiting_report": "govuk-tag--yellow",
    "awaiting_action_statement": "govuk-tag--yellow",
    "action_statement_published": "govuk-tag--turquoise",
    "closed": "govuk-tag--grey",
}


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def status_tag(status: str) -> dict[str, str]:
    """govukTag's options: the status in words, the colour only as a second cue."""
    return {"text": status_label(status), "classes": STATUS_TAGS.get(status, "govuk-tag--grey")}


def template_values(board: Dashboard) -> dict[str, Any]:
    return {
        "board": board,
        "inspection": board.inspection,
        "overall": board.counts.overall,
        "weekdays": WEEKDAYS,
        "broken_shown": BROKEN_SHOWN,
        "tag_for": status_tag,
    }
