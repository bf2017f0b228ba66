"""An inspection's own rules: finding it, its timetable as it stands, whether it is closed, and
how it looks to the API; no HTTP. What happens across domains when one is announced or its
timetable changes is in `flows.py`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from service.calendar.working_days import WorkingCalendar
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Milestone
from service.inspections.models import Inspection, MilestoneRecord, TimetableOverride
from service.inspections.schemas import (
    DeadlinePublic,
    InspectionPublic,
    OverridePublic,
    PhasePublic,
)
from service.inspections.timetable import Timetable, TimetableError, compute
from service.notify.outbox import Outbox
from service.notify.templates.render import format_day, format_moment
from service.paging import newest_first_after
from service.rules import Rules


def live_inspection(session: Session) -> Inspection | None:
    return session.exec(select(Inspection).where(Inspection.live_slot == 1)).first()


def get(session: Session, inspection_id: uuid.UUID) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound(f"no inspection {inspection_id}")
    return inspection


def list_inspections(
    session: Session,
    *,
    drill: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    after: tuple[Any, ...] | None = None,
) -> list[Inspection]:
    """Newest first, then by id; `after` (the last row's `created_at` and id) starts after it,
    so inspections announced while a client pages never shift a page."""
    query = select(Inspection).order_by(col(Inspection.created_at).desc(), col(Inspection.id))
    if drill is not None:
        query = query.where(Inspection.drill == drill)
    if after is not None:
        query = query.where(
            newest_first_after(col(Inspection.created_at), col(Inspection.id), after)
        )
    return list(session.exec(query.offset(offset).limit(limit)).all())


def overrides_of(session: Session, inspection_id: uuid.UUID) -> dict[date, bool]:
    rows = session.exec(
        select(TimetableOverride).where(TimetableOverride.inspection_id == inspection_id)
    ).all()
    return {row.day: row.on_site for row in rows}


def milestones_of(session: Session, inspection_id: uuid.UUID) -> dict[str, date]:
    rows = session.exec(
        select(MilestoneRecord).where(MilestoneRecord.inspection_id == inspection_id)
    ).all()
    return {row.key: row.day for row in rows}


def timetable_of(
    session: Session,
    inspection: Inspection,
    *,
    rules: Rules,
    calendar: WorkingCalendar | None = None,
    overrides: dict[date, bool] | None = None,
    milestones: dict[str, date] | None = None,
) -> Timetable:
    return compute(
        rules.framework(inspection.framework),
        rules.local_date(inspection.notified_at),
        calendar or rules.calendar(session),
        overrides if overrides is not None else overrides_of(session, inspection.id),
        milestones if milestones is not None else milestones_of(session, inspection.id),
    )


def planned_timetable(
    session: Session, *, rules: Rules, framework: str, notified_at: datetime
) -> Timetable:
    """The timetable an inspection announced now would have, before anything is written;
    TimetableError when the framework cannot place it on the calendar."""
    return compute(
        rules.framework(framework), rules.local_date(notified_at), rules.calendar(session)
    )


def status_of(table: Timetable, milestones: dict[str, date], today: date) -> str:
    if Milestone.closed.value in milestones:
        return "closed"
    if Milestone.action_statement_published.value in milestones:
        return "action_statement_published"
    if Milestone.report_published.value in milestones:
        return "awaiting_action_statement"
    if today > table.inspection_end:
        return "awaiting_report"
    if today >= table.on_site_start:
        return "in_progress"
    return "announced"


@dataclass(frozen=True)
class Standing:
    """An inspection's timetable as it stands (overrides and milestones applied) and its status
    on a given day."""

    inspection: Inspection
    table: Timetable
    milestones: dict[str, date]
    status: str


def standing(
    session: Session,
    inspection: Inspection,
    *,
    rules: Rules,
    today: date,
    calendar: WorkingCalendar | None = None,
) -> Standing:
    milestones = milestones_of(session, inspection.id)
    table = timetable_of(session, inspection, rules=rules, calendar=calendar, milestones=milestones)
    return Standing(inspection, table, milestones, status_of(table, milestones, today))


@dataclass(frozen=True)
class Summary:
    """One line of a list of inspections."""

    inspection: Inspection
    status: str
    """`unknown` when its framework file has been removed since."""
    on_site_start: date | None
    inspection_end: date | None


def summaries(
    session: Session, listed: list[Inspection], *, rules: Rules, today: date
) -> list[Summary]:
    """Each inspection with its status and on-site dates; one calendar for them all."""
    calendar = rules.calendar(session)
    found = []
    for inspection in listed:
        try:
            stands = standing(session, inspection, rules=rules, today=today, calendar=calendar)
        except (InvalidInput, TimetableError):
            found.append(Summary(inspection, "unknown", None, None))
            continue
        found.append(
            Summary(
                inspection, stands.status, stands.table.on_site_start, stands.table.inspection_end
            )
        )
    return found


def public(
    session: Session,
    inspection: Inspection,
    *,
    rules: Rules,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> InspectionPublic:
    overrides = overrides_of(session, inspection.id)
    milestones = milestones_of(session, inspection.id)
    table = timetable_of(
        session,
        inspection,
        rules=rules,
        calendar=calendar,
        overrides=overrides,
        milestones=milestones,
    )
    return InspectionPublic(
        id=inspection.id,
        framework=inspection.framework,
        status=status_of(table, milestones, rules.local_date(now)),  # type: ignore[arg-type]
        drill=inspection.drill,
        notified_at=inspection.notified_at,
        lead_inspector=inspection.lead_inspector,
        notes=inspection.notes,
        on_site_start=table.on_site_start,
        inspection_end=table.inspection_end,
        on_site_days=len(table.on_site_days),
        warnings=table.warnings,
        phases=[
            PhasePublic(
                key=p.key, label=p.label, on_site=p.on_site, start=p.start, end=p.end, days=p.days
            )
            for p in table.phases
        ],
        deadlines=[
            DeadlinePublic(
                key=d.key,
                label=d.label,
                due=d.due,
                working_days=d.working_days,
                counted_from=d.counted_from,
                from_date=d.from_date,
                met_on=d.met_on,
            )
            for d in table.deadlines
        ],
        overrides=[OverridePublic(date=day, on_site=on) for day, on in sorted(overrides.items())],
        milestones=dict(sorted(milestones.items())),
        created_at=inspection.created_at,
    )


def is_closed(session: Session, inspection_id: uuid.UUID) -> bool:
    """Closed (its `closed` milestone recorded): a record now, no longer anything to do."""
    return session.get(MilestoneRecord, (inspection_id, Milestone.closed.value)) is not None


def require_open(session: Session, inspection_id: uuid.UUID, *, what: str = "it") -> Inspection:
    """The inspection, if it can still change; 404 when unknown, 409 when closed."""
    inspection = get(session, inspection_id)
    if is_closed(session, inspection_id):
        raise Conflict(f"inspection {inspection_id} is closed; {what} can no longer change")
    return inspection


def open_ids() -> Select[tuple[uuid.UUID]]:
    """The ids of inspections not closed, for use inside a query."""
    closed = select(MilestoneRecord.inspection_id).where(
        MilestoneRecord.key == Milestone.closed.value
    )
    return select(Inspection.id).where(col(Inspection.id).not_in(closed))


def outbox_for(
    session: Session,
    inspection: Inspection,
    *,
    rules: Rules,
    now: datetime,
    table: Timetable | None = None,
) -> Outbox:
    """An outbox for messages about this inspection, with what every such message may say."""
    table = table or timetable_of(session, inspection, rules=rules)
    zone = rules.messaging.zone
    return Outbox(
        session,
        inspection_id=inspection.id,
        drill=inspection.drill,
        context={
            "council_name": rules.messaging.council_name,
            "inspection": {
                "framework_name": rules.framework(inspection.framework).name,
                "lead_inspector": inspection.lead_inspector or "",
                "notified_at": format_moment(inspection.notified_at, zone),
                "on_site_start": format_day(table.on_site_start),
                "inspection_end": format_day(table.inspection_end),
            },
        },
        now=now,
    )
