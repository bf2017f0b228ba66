"""Announce an inspection, change its timetable, record its milestones: the rules, no HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service import timeline
from service.cascade import service as cascade
from service.config import BankHolidayRegion
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Framework, Milestone, Registry
from service.inspections import reminders
from service.inspections.models import (
    AnnounceRequest,
    DeadlinePublic,
    Inspection,
    InspectionPublic,
    MilestoneRecord,
    OverridePublic,
    PhasePublic,
    TimetableOverride,
)
from service.inspections.timetable import Timetable, TimetableError, compute, phase_for_date
from service.plan import reminders as plan_reminders
from service.plan import start as plan
from service.plan.templates import PlanRegistry
from service.working_days import WorkingCalendar, load_calendar

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Rules:
    """What the rules need from configuration, built once at start."""

    frameworks: Registry
    region: BankHolidayRegion
    zone: ZoneInfo
    messaging: cascade.Messaging = field(default_factory=cascade.Messaging)
    plans: PlanRegistry = field(default_factory=PlanRegistry)

    def calendar(self, session: Session) -> WorkingCalendar:
        return load_calendar(session, self.region)

    def framework(self, key: str) -> Framework:
        framework = self.frameworks.get(key)
        if framework is None:
            raise InvalidInput(
                "framework",
                f"unknown framework {key!r}; known frameworks: {', '.join(self.frameworks.keys())}",
            )
        return framework

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def announce(
    session: Session, *, rules: Rules, request: AnnounceRequest, actor: str, now: datetime
) -> Inspection:
    """Start an inspection from the notification call; reminders are written in the same
    transaction so that nothing announced can lack them."""
    framework = rules.framework(request.framework)
    if request.notified_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("notified_at", "is more than 5 minutes in the future")
    if not request.drill:
        live = live_inspection(session)
        if live is not None:
            raise _already_live(live)
    inspection = Inspection(
        framework=framework.key,
        drill=request.drill,
        notified_at=request.notified_at.astimezone(UTC),  # as read back from the database
        lead_inspector=request.lead_inspector or None,
        notes=request.notes or None,
        live_slot=None if request.drill else 1,
        created_at=now,
        created_by=actor,
    )
    session.add(inspection)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        live = live_inspection(session)
        if live is not None:
            raise _already_live(live) from exc
        raise
    calendar = rules.calendar(session)
    table = timetable_of(session, inspection, rules=rules, calendar=calendar)
    started = plan.create_tasks(  # before the cascade: owners' announcements list their tasks
        session,
        inspection=inspection,
        plan=rules.plans.get(framework.key),
        table=table,
        milestones={},
        calendar=calendar,
        zone=rules.zone,
        actor=actor,
        now=now,
    )
    people = cascade.start(
        session,
        inspection=inspection,
        messaging=rules.messaging,
        framework_name=framework.name,
        on_site_start=table.on_site_start,
        inspection_end=table.inspection_end,
        now=now,
    )
    kind = "drill" if inspection.drill else "inspection"
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="announced",
        summary=(
            f"{kind.capitalize()} announced under {framework.name}: on site from "
            f"{table.on_site_start.isoformat()}, ends {table.inspection_end.isoformat()}; "
            f"{people} people in the communication tree, {started.tasks} tasks in the plan"
        ),
        data={
            "framework": framework.key,
            "notified_at": inspection.notified_at.isoformat(),
            "drill": inspection.drill,
            "lead_inspector": inspection.lead_inspector,
            "people": people,
            "tasks": started.tasks,
            "unmapped_roles": started.unmapped_roles,
        },
        now=now,
    )
    reminders.sync(
        session,
        inspection=inspection,
        table=table,
        calendar=calendar,
        rules_zone=rules.zone,
        now=now,
    )
    plan_reminders.sync(
        session, inspection=inspection, table=table, calendar=calendar, zone=rules.zone, now=now
    )
    return inspection


def _follow_timetable(
    session: Session,
    *,
    rules: Rules,
    inspection: Inspection,
    table: Timetable,
    milestones: dict[str, date],
    calendar: WorkingCalendar,
    actor: str,
    now: datetime,
    closed: bool = False,
) -> None:
    """Deadline reminders, task due times and task reminders follow a changed timetable."""
    reminders.sync(
        session,
        inspection=inspection,
        table=table,
        calendar=calendar,
        rules_zone=rules.zone,
        now=now,
        closed=closed,
    )
    plan.retime(
        session,
        inspection=inspection,
        table=table,
        milestones=milestones,
        calendar=calendar,
        zone=rules.zone,
        actor=actor,
        now=now,
        closed=closed,
    )


def _already_live(live: Inspection) -> Conflict:
    return Conflict(
        f"inspection {live.id} announced at {live.notified_at.isoformat()} is still live; "
        "record its `closed` milestone before announcing another (drills are always allowed)",
        live_inspection_id=str(live.id),
    )


def live_inspection(session: Session) -> Inspection | None:
    return session.exec(select(Inspection).where(Inspection.live_slot == 1)).first()


def get(session: Session, inspection_id: uuid.UUID) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound(f"no inspection {inspection_id}")
    return inspection


def list_inspections(
    session: Session, *, drill: bool | None = None, limit: int = 100, offset: int = 0
) -> list[Inspection]:
    query = select(Inspection).order_by(col(Inspection.created_at).desc(), col(Inspection.id))
    if drill is not None:
        query = query.where(Inspection.drill == drill)
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


def _require_open(session: Session, inspection: Inspection) -> None:
    if Milestone.closed.value in milestones_of(session, inspection.id):
        raise Conflict(f"inspection {inspection.id} is closed; it can no longer change")


def _deadline_changes(before: Timetable, after: Timetable) -> dict[str, dict[str, str]]:
    changes = {}
    for new in after.deadlines:
        old = before.deadline(new.key)
        if old is None or old.due != new.due:
            changes[new.key] = {
                "from": old.due.isoformat() if old else "",
                "to": new.due.isoformat(),
            }
    return changes


def override_day(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    day: date,
    on_site: bool,
    actor: str,
    now: datetime,
) -> Inspection:
    """The lead inspector changes one day; deadlines and pending reminders follow."""
    inspection = get(session, inspection_id)
    _require_open(session, inspection)
    framework = rules.framework(inspection.framework)
    calendar = rules.calendar(session)
    day0 = rules.local_date(inspection.notified_at)
    if day <= day0:
        raise InvalidInput("date", f"must be after the day of the call ({day0.isoformat()})")
    if not calendar.is_working_day(day):
        raise InvalidInput(
            "date",
            f"{day.isoformat()} is not a working day ({calendar.non_working_reason(day)}); "
            "inspectors are never on site then"
            + ("" if on_site else ", so there is nothing to take off site"),
        )
    if phase_for_date(framework, day0, calendar, day) is None:
        raise InvalidInput(
            "date", f"{day.isoformat()} is not in an on-site week of the {framework.key} timetable"
        )
    overrides = overrides_of(session, inspection.id)
    milestones = milestones_of(session, inspection.id)
    before = compute(framework, day0, calendar, overrides, milestones)
    overrides[day] = on_site
    try:
        after = compute(framework, day0, calendar, overrides, milestones)
    except TimetableError as exc:
        raise InvalidInput("on_site", f"cannot take {day.isoformat()} off site: {exc}") from exc
    row = session.get(TimetableOverride, (inspection.id, day))
    if row is None:
        session.add(
            TimetableOverride(
                inspection_id=inspection.id,
                day=day,
                on_site=on_site,
                recorded_at=now,
                recorded_by=actor,
            )
        )
    else:
        row.on_site, row.recorded_at, row.recorded_by = on_site, now, actor
    changes = _deadline_changes(before, after)
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="timetable_changed",
        summary=(
            f"{day.isoformat()} set {'on site' if on_site else 'off site'}; "
            f"{len(after.on_site_days)} on-site days, "
            f"inspection ends {after.inspection_end.isoformat()}"
        ),
        data={"date": day.isoformat(), "on_site": on_site, "deadlines": changes},
        now=now,
    )
    _follow_timetable(
        session,
        rules=rules,
        inspection=inspection,
        table=after,
        milestones=milestones,
        calendar=calendar,
        actor=actor,
        now=now,
    )
    return inspection


def record_milestone(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    key: Milestone,
    day: date,
    actor: str,
    now: datetime,
) -> Inspection:
    """Record (or correct) a milestone; deadlines recount from it and reminders follow."""
    inspection = get(session, inspection_id)
    _require_open(session, inspection)
    framework = rules.framework(inspection.framework)
    calendar = rules.calendar(session)
    day0 = rules.local_date(inspection.notified_at)
    today = rules.local_date(now)
    if day > today:
        raise InvalidInput("date", f"is in the future (today is {today.isoformat()})")
    overrides = overrides_of(session, inspection.id)
    milestones = milestones_of(session, inspection.id)
    before = compute(framework, day0, calendar, overrides, milestones)
    if key is Milestone.report_published and day <= before.inspection_end:
        raise InvalidInput(
            "date",
            "the report cannot be published before the inspection ends "
            f"({before.inspection_end.isoformat()})",
        )
    statement = milestones.get(Milestone.action_statement_published.value)
    if key is Milestone.report_published and statement is not None and day > statement:
        raise InvalidInput(
            "date",
            f"is after the written statement of action was published ({statement.isoformat()})",
        )
    if key is Milestone.action_statement_published:
        published = milestones.get(Milestone.report_published.value)
        if published is None:
            raise InvalidInput("key", "record report_published before action_statement_published")
        if day < published:
            raise InvalidInput(
                "date", f"is before the report was published ({published.isoformat()})"
            )
    if key is Milestone.closed and day < day0:
        raise InvalidInput("date", f"is before the call ({day0.isoformat()})")
    milestones[key.value] = day
    after = compute(framework, day0, calendar, overrides, milestones)
    row = session.get(MilestoneRecord, (inspection.id, key.value))
    if row is None:
        session.add(
            MilestoneRecord(
                inspection_id=inspection.id,
                key=key.value,
                day=day,
                recorded_at=now,
                recorded_by=actor,
            )
        )
    else:
        row.day, row.recorded_at, row.recorded_by = day, now, actor
    if key is Milestone.closed:
        inspection.live_slot = None
        session.add(inspection)
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="milestone_recorded",
        summary=f"{key.value.replace('_', ' ').capitalize()} on {day.isoformat()}",
        data={
            "key": key.value,
            "date": day.isoformat(),
            "deadlines": _deadline_changes(before, after),
        },
        now=now,
    )
    _follow_timetable(
        session,
        rules=rules,
        inspection=inspection,
        table=after,
        milestones=milestones,
        calendar=calendar,
        actor=actor,
        now=now,
        closed=key is Milestone.closed,
    )
    return inspection


def recompute_open(
    session: Session,
    *,
    rules: Rules,
    before: WorkingCalendar,
    actor: str,
    now: datetime,
    why: str,
) -> int:
    """The calendar changed (a closure day): move every open inspection's deadlines and pending
    reminders, and say so on the timelines whose deadlines moved. Returns how many moved."""
    session.flush()
    calendar = rules.calendar(session)
    moved = 0
    open_inspections = session.exec(
        select(Inspection).where(
            col(Inspection.id).not_in(
                select(MilestoneRecord.inspection_id).where(
                    MilestoneRecord.key == Milestone.closed.value
                )
            )
        )
    ).all()
    for inspection in open_inspections:
        overrides = overrides_of(session, inspection.id)
        milestones = milestones_of(session, inspection.id)
        framework = rules.framework(inspection.framework)
        day0 = rules.local_date(inspection.notified_at)
        try:
            table = compute(framework, day0, calendar, overrides, milestones)
        except TimetableError as exc:
            raise InvalidInput(
                "date", f"{why} would leave inspection {inspection.id} with no on-site day"
            ) from exc
        _follow_timetable(
            session,
            rules=rules,
            inspection=inspection,
            table=table,
            milestones=milestones,
            calendar=calendar,
            actor=actor,
            now=now,
        )
        changes = _deadline_changes(compute(framework, day0, before, overrides, milestones), table)
        if changes:
            moved += 1
            timeline.log(
                session,
                inspection_id=inspection.id,
                actor=actor,
                kind="deadlines_recomputed",
                summary=f"Deadlines moved: {why}",
                data={"deadlines": changes, "why": why},
                now=now,
            )
    return moved
