"""The cascade's numbers, counted by the database: the dashboard and its live updates ask for
them every few seconds during a 10,000-person cascade, so nothing here loads a row per person.
The statuses are those of `progress.node_status`, written as SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from service.cascade.models import CascadeNode, NodeStatus
from service.contacts.models import Contact
from service.notify.models import Message, MessageStatus

FIGURES = ("total", "reached", *(status.value for status in NodeStatus))


@dataclass(frozen=True)
class LevelCounts:
    level: int
    total: int = 0
    reached: int = 0
    waiting: int = 0
    notified: int = 0
    acknowledged: int = 0
    broken: int = 0


@dataclass(frozen=True)
class CascadeCounts:
    levels: list[LevelCounts] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(level, name) for level in self.levels)

    @property
    def overall(self) -> LevelCounts:
        return LevelCounts(level=0, **{name: self._sum(name) for name in FIGURES})

    def as_json(self) -> dict[str, Any]:
        overall = self.overall
        return {
            **{name: getattr(overall, name) for name in FIGURES},
            "levels": [
                {"level": lv.level, **{n: getattr(lv, n) for n in FIGURES}} for lv in self.levels
            ],
        }


def _status() -> sa.ColumnElement[str]:
    broken = sa.or_(
        col(CascadeNode.escalated_at).is_not(None),
        sa.func.coalesce(CascadeNode.broken_reason, "") != "",
    )
    return sa.case(
        (col(CascadeNode.acknowledged_at).is_not(None), NodeStatus.acknowledged.value),
        (broken, NodeStatus.broken.value),
        (col(CascadeNode.notified_at).is_not(None), NodeStatus.notified.value),
        else_=NodeStatus.waiting.value,
    )


def counts(session: Session, inspection_id: uuid.UUID) -> CascadeCounts:
    """People at each status, and reached (a message accepted, or acknowledged), by level."""
    sent_to = (
        sa.select(Message.contact_id)
        .where(
            Message.inspection_id == inspection_id,
            col(Message.status).in_([MessageStatus.sent, MessageStatus.delivered]),
        )
        .scalar_subquery()
    )
    reached = sa.or_(
        col(CascadeNode.acknowledged_at).is_not(None), col(CascadeNode.contact_id).in_(sent_to)
    )
    status = _status().label("status")
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            CascadeNode.level,
            status,
            sa.func.count(),
            sa.func.sum(sa.case((reached, 1), else_=0)),
        )
        .where(CascadeNode.inspection_id == inspection_id)
        .group_by(CascadeNode.level, status)
    ).all()
    by_level: dict[int, dict[str, int]] = {}
    for level, name, number, reached_number in rows:
        figures = by_level.setdefault(level, dict.fromkeys(FIGURES, 0))
        figures[name] += number
        figures["total"] += number
        figures["reached"] += int(reached_number or 0)
    return CascadeCounts(
        levels=[LevelCounts(level=lv, **figures) for lv, figures in sorted(by_level.items())]
    )


@dataclass(frozen=True)
class BrokenPerson:
    contact_id: str
    name: str
    level: int
    reason: str
    deputy_id: str | None
    deputy_name: str | None


def broken_people(
    session: Session, inspection_id: uuid.UUID, *, limit: int, offset: int = 0
) -> list[BrokenPerson]:
    """Where the tree broke, top levels first: only the page asked for is loaded."""
    deputy = sa.orm.aliased(Contact)
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            CascadeNode.contact_id,
            Contact.name,
            CascadeNode.level,
            CascadeNode.broken_reason,
            CascadeNode.deputy_id,
            deputy.name,
        )
        .join(Contact, col(Contact.id) == col(CascadeNode.contact_id))
        .outerjoin(deputy, deputy.id == col(CascadeNode.deputy_id))
        .where(CascadeNode.inspection_id == inspection_id, _status() == NodeStatus.broken.value)
        .order_by(col(CascadeNode.level), col(CascadeNode.contact_id))
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        BrokenPerson(
            contact_id=contact_id,
            name=name,
            level=level,
            reason=reason or "",
            deputy_id=deputy_id,
            deputy_name=deputy_name,
        )
        for contact_id, name, level, reason, deputy_id, deputy_name in rows
    ]
