"""Past inspections side by side, for the steering group and scrutiny: when, what the report
judged, how fast the tree reached people, and whether each deadline was met."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, col, select

from service.cascade.progress import rehearsal_report
from service.errors import InvalidInput
from service.inspections.models import Inspection
from service.inspections.service import standing
from service.inspections.timetable import TimetableError
from service.judgements import service as judgements
from service.paging import newest_first_after
from service.rules import Rules

Outcome = Literal["met", "missed", "open"]


@dataclass(frozen=True)
class DeadlineOutcome:
    key: str
    label: str
    due: date
    met_on: date | None
    outcome: Outcome
    """`met`, `missed` (met late, or past due and not met) or `open`."""


@dataclass(frozen=True)
class Past:
    inspection: Inspection
    status: str
    on_site_start: date | None
    inspection_end: date | None
    judgements: dict[str, str]
    overall: str | None
    steering_group_seconds: float | None
    everyone_reached_seconds: float | None
    people: int
    deadlines: list[DeadlineOutcome]


def outcome(due: date, met_on: date | None, today: date) -> Outcome:
    if met_on is not None:
        return "met" if met_on <= due else "missed"
    return "missed" if today > due else "open"


def _past(session: Session, inspection: Inspection, rules: Rules, today: date) -> Past:
    judged = judgements.read(session, rules=rules, inspection_id=inspection.id)
    report = rehearsal_report(session, inspection)
    try:
        stands = standing(session, inspection, rules=rules, today=today)
    except (InvalidInput, TimetableError):  # its framework file was removed since
        return Past(
            inspection,
            "unknown",
            None,
            None,
            judged.grades,
            judged.overall.grade,
            report.seconds_until_steering_group_acknowledged,
            report.seconds_until_everyone_reached,
            report.people,
            [],
        )
    return Past(
        inspection=inspection,
        status=stands.status,
        on_site_start=stands.table.on_site_start,
        inspection_end=stands.table.inspection_end,
        judgements=judged.grades,
        overall=judged.overall.grade,
        steering_group_seconds=report.seconds_until_steering_group_acknowledged,
        everyone_reached_seconds=report.seconds_until_everyone_reached,
        people=report.people,
        deadlines=[
            DeadlineOutcome(d.key, d.label, d.due, d.met_on, outcome(d.due, d.met_on, today))
            for d in stands.table.deadlines
        ],
    )


def page(
    session: Session,
    *,
    rules: Rules,
    today: date,
    limit: int,
    offset: int = 0,
    after: tuple[Any, ...] | None = None,
) -> tuple[list[Past], bool]:
    """Real inspections (never rehearsals), newest call first, then by id; `after` (the last
    one's `notified_at` and id) starts after it."""
    query = select(Inspection).where(col(Inspection.drill).is_(False))
    if after is not None:
        query = query.where(
            newest_first_after(col(Inspection.notified_at), col(Inspection.id), after)
        )
    found = session.exec(
        query.order_by(col(Inspection.notified_at).desc(), col(Inspection.id))
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return [_past(session, inspection, rules, today) for inspection in found[:limit]], len(
        found
    ) > limit
