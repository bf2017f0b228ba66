"""What happens across domains when an inspection is announced, its timetable changes, a
milestone is recorded or the council's calendar changes, and when a deadline reminder comes due.

Each runs in the caller's transaction and never commits. Announce writes the inspection, its plan
tasks, its cascade's first messages and every reminder together, so nothing announced can lack
them; a changed timetable moves deadline reminders, task due times and task reminders with it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service import audit_log, timeline
from service.calendar.closures import ClosureDay, add_closure_day, remove_closure_day
from service.calendar.working_days import WorkingCalendar
from service.cascade import flows as cascade_flows
from service.cascade import service as cascade
from service.errors import Conflict, InvalidInput
from service.frameworks import Milestone
from service.inspections import reminders
from service.inspections.models import Inspection, MilestoneRecord, TimetableOverride
from service.inspections.schemas import AnnounceRequest
from service.inspections.service import (
    is_closed,
    live_inspection,
    milestones_of,
    open_ids,
    outbox_for,
    overrides_of,
    public,
    require_open,
    timetable_of,
)
from service.inspections.timetable import Timetable, TimetableError, compute, phase_for_date
from service.plan import reminders as plan_reminders
from service.plan import start as plan
from service.plan import tasks as plan_tasks
from service.rules import Rules
from service.scheduler.due import DueJob
from service.webhooks import service as webhooks

FUTURE_TOLERANCE = timedelta(minutes=5)


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
        cascade.Run(
            session,
            inspection,
            outbox=outbox_for(session, inspection, rules=rules, now=now, table=table),
            messaging=rules.messaging,
            tasks=lambda: plan_tasks.announcement_lists(
                session, inspection.id, zone=rules.messaging.zone
            ),
            now=now,
            steering_group=rules.steering_group,
        )
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
    _emit(session, "inspection.announced", inspection, rules=rules, now=now)
    plan_tasks.emit_plan_created(session, inspection.id, now=now)
    return inspection


def _emit(
    session: Session, type: str, inspection: Inspection, *, rules: Rules, now: datetime
) -> None:
    """A webhook event carrying the inspection as `GET /api/v1/inspections/{id}` returns it."""
    webhooks.emit(
        session,
        type,
        lambda: public(session, inspection, rules=rules, now=now).model_dump(mode="json"),
        inspection.id,
        now=now,
    )


def _emit_deadlines_met(
    session: Session, inspection: Inspection, before: Timetable, after: Timetable, now: datetime
) -> None:
    for deadline in after.deadlines:
        earlier = before.deadline(deadline.key)
        if deadline.met_on is None or (earlier is not None and earlier.met_on is not None):
            continue
        webhooks.emit(
            session,
            "deadline.met",
            {
                "inspection_id": str(inspection.id),
                "key": deadline.key,
                "label": deadline.label,
                "due": deadline.due.isoformat(),
                "met_on": deadline.met_on.isoformat(),
                "on_time": deadline.met_on <= deadline.due,
            },
            inspection.id,
            now=now,
        )


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
    inspection = require_open(session, inspection_id)
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
    _emit(session, "timetable.changed", inspection, rules=rules, now=now)
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
    inspection = require_open(session, inspection_id)
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
    _emit(session, "inspection.milestone_recorded", inspection, rules=rules, now=now)
    _emit_deadlines_met(session, inspection, before, after, now)
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
        select(Inspection).where(col(Inspection.id).in_(open_ids()))
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


def add_closure(
    session: Session, *, rules: Rules, day: date, reason: str, actor: str, now: datetime
) -> tuple[ClosureDay, int]:
    """The new closure day and how many open inspections' deadlines moved. Raises
    ClosureDayExists, or InvalidInput when an inspection would be left with no on-site day."""
    before = rules.calendar(session)
    closure = add_closure_day(session, day=day, reason=reason, actor=actor, now=now)
    audit_log.record(
        session,
        actor=actor,
        action="closure_day_added",
        target=day.isoformat(),
        now=now,
        data={"reason": reason},
    )
    moved = recompute_open(
        session,
        rules=rules,
        before=before,
        actor=actor,
        now=now,
        why=f"closure day {day.isoformat()} added",
    )
    return closure, moved


def remove_closure(
    session: Session, *, rules: Rules, day: date, actor: str, now: datetime
) -> int | None:
    """None when `day` is not a closure day; else how many open inspections' deadlines moved."""
    before = rules.calendar(session)
    if not remove_closure_day(session, day=day):
        return None
    audit_log.record(
        session, actor=actor, action="closure_day_removed", target=day.isoformat(), now=now
    )
    return recompute_open(
        session,
        rules=rules,
        before=before,
        actor=actor,
        now=now,
        why=f"closure day {day.isoformat()} removed",
    )


def remind_deadline(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    """A deadline reminder came due: on the timeline, and to the steering group."""
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        return "skipped: inspection no longer exists"
    if is_closed(session, inspection.id):
        return "skipped: inspection closed"
    payload = job.payload
    days_before = int(payload["working_days_before"])
    when = (
        "today" if days_before == 0 else f"in {days_before} working day{'s' * (days_before != 1)}"
    )
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor="scheduler",
        kind="deadline_reminder",
        summary=f"Reminder: {payload['label']} is due {when} ({payload['due']})",
        data={**payload, "job_id": job.id},
        now=now,
    )
    cascade_flows.remind_steering_group(session, inspection, payload, rules=rules, now=now)
    webhooks.emit(
        session,
        "deadline.reminder",
        {"inspection_id": str(inspection.id), **payload, "working_days_before": days_before},
        inspection.id,
        now=now,
    )
    return "reminded"
