"""Rehearsals compared: for every drill, the figures of its rehearsal report (`progress.
rehearsal_report`) counted by the database in one grouped statement, so the steering group sees
whether the council gets faster from one rehearsal to the next.

"No channel reached" counts the people no message was accepted for and who never acknowledged:
every channel they had failed, or they had none."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from service.cascade.models import CascadeNode
from service.cascade.over_time import seconds_between
from service.inspections.models import Inspection
from service.notify.models import Message, MessageStatus

MARKS = (15, 30, 60)
MOST = 100


def _broken() -> sa.ColumnElement[bool]:
    return sa.and_(
        col(CascadeNode.acknowledged_at).is_(None),
        sa.or_(
            col(CascadeNode.escalated_at).is_not(None),
            sa.func.coalesce(CascadeNode.broken_reason, "") != "",
        ),
    )


@dataclass(frozen=True)
class Rehearsal:
    inspection_id: uuid.UUID
    started_at: datetime
    people: int
    steering_group: int
    seconds_until_steering_group_acknowledged: float | None
    acknowledged_within: dict[int, int]
    broken: int
    no_channel: int

    def percent_within(self, minutes: int) -> float:
        """As the rehearsal report rounds it: one decimal place."""
        if not self.people:
            return 0.0
        return round(100.0 * self.acknowledged_within[minutes] / self.people, 1)


def rehearsals(session: Session, *, limit: int = MOST) -> list[Rehearsal]:
    """The latest `limit` drills, oldest first (a trend reads left to right)."""
    drills = session.execute(
        sa.select(Inspection.id, Inspection.created_at)  # type: ignore[call-overload]
        .where(col(Inspection.drill).is_(True))
        .order_by(col(Inspection.created_at).desc(), col(Inspection.id))
        .limit(limit)
    ).all()
    if not drills:
        return []
    started = {drill_id: at for drill_id, at in drills}
    acked = col(CascadeNode.acknowledged_at)
    after = seconds_between(session, acked, Inspection.created_at)
    steering = CascadeNode.level == 1
    broken = _broken()
    accepted = (
        sa.select(1)
        .where(
            Message.inspection_id == CascadeNode.inspection_id,
            Message.contact_id == CascadeNode.contact_id,
            col(Message.status).in_([MessageStatus.sent, MessageStatus.delivered]),
        )
        .exists()
    )
    within = [
        sa.func.sum(sa.case((sa.and_(acked.is_not(None), after <= 60 * m), 1), else_=0))
        for m in MARKS
    ]
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            CascadeNode.inspection_id,
            sa.func.count(),
            sa.func.sum(sa.case((steering, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(steering, acked.is_not(None)), 1), else_=0)),
            sa.func.max(sa.case((steering, after))),
            *within,
            sa.func.sum(sa.case((broken, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(acked.is_(None), ~accepted), 1), else_=0)),
        )
        .join(Inspection, col(Inspection.id) == col(CascadeNode.inspection_id))
        .where(col(CascadeNode.inspection_id).in_(list(started)))
        .group_by(CascadeNode.inspection_id)
    ).all()
    found = {row[0]: row for row in rows}
    listed = []
    for drill_id, at in sorted(drills, key=lambda d: (d[1], str(d[0]))):
        row = found.get(drill_id)
        if row is None:
            listed.append(Rehearsal(drill_id, at, 0, 0, None, dict.fromkeys(MARKS, 0), 0, 0))
            continue
        _, people, group, group_acked, last_ack, *rest = row
        *marks, broken_number, no_channel = rest
        everyone_in_group = int(group or 0) > 0 and int(group_acked or 0) == int(group or 0)
        steering_seconds = None
        if everyone_in_group and last_ack is not None:
            steering_seconds = round(float(last_ack), 1)
        listed.append(
            Rehearsal(
                inspection_id=drill_id,
                started_at=at,
                people=int(people),
                steering_group=int(group or 0),
                seconds_until_steering_group_acknowledged=steering_seconds,
                acknowledged_within={m: int(n or 0) for m, n in zip(MARKS, marks, strict=True)},
                broken=int(broken_number or 0),
                no_channel=int(no_channel or 0),
            )
        )
    return listed


def broken_by_level(session: Session, drills: list[Rehearsal]) -> list[tuple[int, list[int]]]:
    """Where the tree keeps breaking: for each level of the tree, the people broken in each of
    `drills` (in their order), levels where nobody ever broke left out."""
    if not drills:
        return []
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            CascadeNode.inspection_id, CascadeNode.level, sa.func.count()
        )
        .where(col(CascadeNode.inspection_id).in_([d.inspection_id for d in drills]), _broken())
        .group_by(CascadeNode.inspection_id, CascadeNode.level)
    ).all()
    found = {(drill_id, level): int(n) for drill_id, level, n in rows}
    levels = sorted({level for _, level in found})
    return [(level, [found.get((d.inspection_id, level), 0) for d in drills]) for level in levels]
