"""Adding or removing a council closure day: the day, the audit record, and every open
inspection's deadlines, tasks and reminders moving with the calendar, in one transaction."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from service import audit
from service.inspections.service import Rules, recompute_open
from service.working_days import ClosureDay, add_closure_day, remove_closure_day


def close(
    session: Session, *, rules: Rules, day: date, reason: str, actor: str, now: datetime
) -> tuple[ClosureDay, int]:
    """The new closure day and how many open inspections' deadlines moved. Raises
    ClosureDayExists, or InvalidInput when an inspection would be left with no on-site day."""
    before = rules.calendar(session)
    closure = add_closure_day(session, day=day, reason=reason, actor=actor, now=now)
    audit.record(
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


def reopen(session: Session, *, rules: Rules, day: date, actor: str, now: datetime) -> int | None:
    """None when `day` is not a closure day; else how many open inspections' deadlines moved."""
    before = rules.calendar(session)
    if not remove_closure_day(session, day=day):
        return None
    audit.record(
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
