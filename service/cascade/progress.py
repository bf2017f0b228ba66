"""How far the cascade has reached: for the dashboard, the intranet and the rehearsal report."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from service.cascade.models import CascadeNode, NodeStatus, SmsReply
from service.cascade.schemas import (
    BrokenLink,
    CascadeProgress,
    LevelProgress,
    MediumPaused,
    RehearsalReport,
)
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.notify import pauses
from service.notify.models import Message, MessageStatus

REPORT_MARKS_MINUTES = (15, 30, 60)


class NodeFacts(Protocol):
    """What progress reads of a tree node: a `CascadeNode`, or a plain row of its columns (a
    page of thousands of people is read as rows, not as ORM objects)."""

    contact_id: str
    level: int
    deputy_id: str | None
    notified_at: datetime | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    broken_reason: str | None


def node_status(node: NodeFacts) -> NodeStatus:
    if node.acknowledged_at is not None:
        return NodeStatus.acknowledged
    if node.escalated_at is not None or node.broken_reason:
        return NodeStatus.broken
    if node.notified_at is not None:
        return NodeStatus.notified
    return NodeStatus.waiting


@dataclass(frozen=True)
class NodeView:
    node: NodeFacts
    name: str
    reached_at: datetime | None
    status: NodeStatus


def _views(session: Session, inspection_id: uuid.UUID) -> list[NodeView]:
    """Plain rows, not ORM objects: building a thousand `CascadeNode`s was most of the time of
    `GET /api/v1/inspections/{id}/cascade`."""
    first_sent = dict(
        session.execute(
            sa.select(Message.contact_id, sa.func.min(Message.sent_at))  # type: ignore[call-overload]
            .where(
                Message.inspection_id == inspection_id,
                col(Message.status).in_([MessageStatus.sent, MessageStatus.delivered]),
            )
            .group_by(Message.contact_id)
        ).all()
    )
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            CascadeNode.contact_id,
            CascadeNode.level,
            CascadeNode.deputy_id,
            CascadeNode.notified_at,
            CascadeNode.acknowledged_at,
            CascadeNode.escalated_at,
            CascadeNode.broken_reason,
            Contact.name,
        )
        .join(Contact, col(Contact.id) == col(CascadeNode.contact_id))
        .where(CascadeNode.inspection_id == inspection_id)
        .order_by(col(CascadeNode.level), col(CascadeNode.contact_id))
    ).all()
    views = []
    for row in rows:
        moments = [m for m in (first_sent.get(row.contact_id), row.acknowledged_at) if m]
        views.append(
            NodeView(
                node=row,
                name=row.name,
                reached_at=min(moments) if moments else None,
                status=node_status(row),
            )
        )
    return views


def _all_reached_at(views: list[NodeView]) -> datetime | None:
    if not views or any(v.reached_at is None for v in views):
        return None
    return max(v.reached_at for v in views if v.reached_at is not None)


def _broken(views: list[NodeView]) -> list[BrokenLink]:
    return [
        BrokenLink(
            contact_id=v.node.contact_id,
            name=v.name,
            level=v.node.level,
            reason=v.node.broken_reason or "",
            deputy_id=v.node.deputy_id,
        )
        for v in views
        if v.status is NodeStatus.broken
    ]


@dataclass(frozen=True)
class Reply:
    contact_id: str | None
    name: str
    text: str
    received_at: datetime


def replies(session: Session, inspection_id: uuid.UUID, *, limit: int) -> list[Reply]:
    """Texts people sent back that did not acknowledge, newest first, for the lead to read."""
    rows = session.execute(
        sa.select(SmsReply, Contact.name)  # type: ignore[call-overload]
        .outerjoin(Contact, col(Contact.id) == col(SmsReply.contact_id))
        .where(SmsReply.inspection_id == inspection_id, col(SmsReply.acknowledged).is_(False))
        .order_by(col(SmsReply.received_at).desc())
        .limit(limit)
    ).all()
    return [
        Reply(reply.contact_id, name or reply.contact_id or "", reply.text, reply.received_at)
        for reply, name in rows
    ]


def paused(session: Session, now: datetime) -> list[MediumPaused]:
    return [
        MediumPaused(medium=p.medium, until=p.until, reason=p.reason, message=p.message)
        for p in pauses.active(session, now)
    ]


def progress(
    session: Session, inspection: Inspection, *, now: datetime | None = None
) -> CascadeProgress:
    """Counts, broken links and reach times; with `now`, the media paused at that moment."""
    views = _views(session, inspection.id)
    by_status = Counter(dict.fromkeys(NodeStatus, 0))
    by_status.update(v.status for v in views)
    levels: dict[int, Counter[str]] = {}
    for view in views:
        counter = levels.setdefault(view.node.level, Counter())
        counter["total"] += 1
        counter[view.status] += 1
        counter["reached"] += view.reached_at is not None
    messages = Counter(
        dict(
            session.execute(
                sa.select(Message.status, sa.func.count())  # type: ignore[call-overload]
                .where(Message.inspection_id == inspection.id)
                .group_by(Message.status)
            ).all()
        )
    )
    steering = [v for v in views if v.node.level == 1]
    return CascadeProgress(
        inspection_id=inspection.id,
        drill=inspection.drill,
        started_at=inspection.created_at,
        total=len(views),
        by_status=dict(by_status),
        levels=[
            LevelProgress(
                level=level,
                total=counter["total"],
                reached=counter["reached"],
                **{status.value: counter[status] for status in NodeStatus},
            )
            for level, counter in sorted(levels.items())
        ],
        broken=_broken(views),
        messages=dict(messages),
        steering_group_reached_at=_all_reached_at(steering),
        everyone_reached_at=_all_reached_at(views),
        paused=paused(session, now) if now is not None else [],
    )


def rehearsal_report(session: Session, inspection: Inspection) -> RehearsalReport:
    """How fast the tree reached everyone and where it broke (DESIGN.md, drills)."""
    views = _views(session, inspection.id)
    start = inspection.created_at
    steering = [v for v in views if v.node.level == 1]
    steering_acks = [v.node.acknowledged_at for v in steering]
    all_steering_acked = (
        max(a for a in steering_acks if a) if steering and all(steering_acks) else None
    )
    total = len(views)

    def share_by(minutes: int) -> float:
        if not total:
            return 0.0
        cutoff = start + timedelta(minutes=minutes)
        done = sum(
            1
            for v in views
            if v.node.acknowledged_at is not None and v.node.acknowledged_at <= cutoff
        )
        return round(100.0 * done / total, 1)

    def seconds_since_start(moment: datetime | None) -> float | None:
        return None if moment is None else round((moment - start).total_seconds(), 1)

    reached_all = _all_reached_at(views)
    return RehearsalReport(
        inspection_id=inspection.id,
        drill=inspection.drill,
        started_at=start,
        people=total,
        steering_group_size=len(steering),
        steering_group_acknowledged_at=all_steering_acked,
        seconds_until_steering_group_acknowledged=seconds_since_start(all_steering_acked),
        everyone_reached_at=reached_all,
        seconds_until_everyone_reached=seconds_since_start(reached_all),
        acknowledged_percent={f"{m}_minutes": share_by(m) for m in REPORT_MARKS_MINUTES},
        acknowledged=sum(1 for v in views if v.node.acknowledged_at is not None),
        broken=_broken(views),
    )
