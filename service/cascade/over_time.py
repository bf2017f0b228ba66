"""The cascade over time: how many people were reached and acknowledged by each minute since the
call, counted by the database in minute buckets (never a row per person, so the dashboard can ask
for it at every refresh during a 10,000-person cascade), with the moments worth marking on a
chart: when the steering group's window closed, the first escalation and when the whole steering
group had acknowledged.

"Reached" is what `counts.counts` and `progress` call reached: a message to the person accepted
(its first `sent_at`) or the person acknowledged, whichever came first."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from service.cascade.models import CascadeNode
from service.db import UTCDateTime
from service.notify.models import Message, MessageStatus

LIVE_MINUTES = 180
"""A cascade not finished this long after it started is drawn to its last event, not to now."""


@dataclass(frozen=True)
class Marker:
    key: str
    label: str
    minute: float


@dataclass(frozen=True)
class OverTime:
    """Cumulative figures at the end of each minute since the call: `minutes[i]` minutes after
    it, `reached[i]` people had been reached and `acknowledged[i]` had acknowledged; the
    `steering_` lists count the steering group (level 1) apart, as the first thing a lead looks
    for on the morning of a call."""

    total: int
    minutes: list[int]
    reached: list[int]
    acknowledged: list[int]
    steering_total: int = 0
    markers: list[Marker] = field(default_factory=list)
    reached_buckets: dict[int, int] = field(default_factory=dict)
    acknowledged_buckets: dict[int, int] = field(default_factory=dict)
    steering_reached: list[int] = field(default_factory=list)
    steering_acknowledged: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total == 0

    def reached_all_in(self) -> int | None:
        """Minutes until the last person was reached, or None while someone is not."""
        if not self.total or sum(self.reached_buckets.values()) < self.total:
            return None
        return max(self.reached_buckets) + 1

    def acknowledged_within(self, minutes: int) -> int:
        return sum(n for minute, n in self.acknowledged_buckets.items() if minute < minutes)

    def percent(self, number: int) -> int:
        return round(100 * number / self.total) if self.total else 0

    def summary(self) -> str:
        """One sentence above the chart, as GOV.UK asks of a chart."""
        if not self.total:
            return "Nobody is in this cascade yet."
        reached = sum(self.reached_buckets.values())
        within = self.acknowledged_within(15)
        all_in = self.reached_all_in()
        if all_in is not None:
            everyone = "The 1 person" if self.total == 1 else f"All {self.total:,} people"
            first = f"{everyone} reached in {_minutes(all_in)}"
        else:
            people = "person" if self.total == 1 else "people"
            first = f"{reached:,} of {self.total:,} {people} reached so far"
        return f"{first}; {self.percent(within)}% acknowledged within 15 minutes."

    def rows(self) -> list[dict[str, Any]]:
        """The table beside the chart: one row a minute in which something happened."""
        return [
            {
                "minute": minute,
                "reached": reached,
                "acknowledged": acknowledged,
                "reached_percent": self.percent(reached),
                "acknowledged_percent": self.percent(acknowledged),
                "steering_reached": steering_reached,
                "steering_acknowledged": steering_acknowledged,
            }
            for minute, reached, acknowledged, steering_reached, steering_acknowledged in zip(
                self.minutes,
                self.reached,
                self.acknowledged,
                self.steering_reached,
                self.steering_acknowledged,
                strict=True,
            )
        ]


def _minutes(number: int) -> str:
    return "1 minute" if number == 1 else f"{number:,} minutes"


def seconds_between(session: Session, moment: Any, begins: Any) -> sa.ColumnElement[float]:
    """Seconds from `begins` to `moment` (columns or bound times), worked out by the database."""
    if session.get_bind().dialect.name == "sqlite":
        days = sa.func.julianday(moment) - sa.func.julianday(begins)
        return sa.func.round(days * 86400.0, 3)
    return sa.extract("epoch", moment - begins)


def _minute_of(session: Session, moment: Any, start: datetime) -> sa.ColumnElement[int]:
    """Whole minutes from `start` to `moment`, worked out by the database (never below 0)."""
    begins = sa.bindparam("call_started", start, type_=UTCDateTime)
    seconds = seconds_between(session, moment, begins)
    if session.get_bind().dialect.name == "sqlite":
        minute = sa.cast(seconds / 60, sa.Integer)
        return sa.case((seconds < 0, 0), else_=minute)
    return sa.cast(sa.func.greatest(sa.func.floor(seconds / 60), 0), sa.Integer)


def over_time(
    session: Session, inspection_id: uuid.UUID, *, start: datetime, now: datetime | None = None
) -> OverTime:
    """Two grouped counts and one row of markers; `now` stretches a cascade still going on to
    the present minute, so a flat line shows that nothing has moved."""
    first_sent = (
        sa.select(
            col(Message.contact_id).label("contact_id"),
            sa.func.min(Message.sent_at).label("sent_at"),
        )
        .where(
            Message.inspection_id == inspection_id,
            col(Message.status).in_([MessageStatus.sent, MessageStatus.delivered]),
            col(Message.sent_at).is_not(None),
        )
        .group_by(Message.contact_id)
        .subquery()
    )
    acked = col(CascadeNode.acknowledged_at)
    sent = first_sent.c.sent_at
    reached_at = sa.case(
        (acked.is_(None), sent),
        (sent.is_(None), acked),
        (acked < sent, acked),
        else_=sent,
    )
    level_one = CascadeNode.level == 1
    steering_flag = sa.case((level_one, 1), else_=0).label("steering")
    reached_minute = _minute_of(session, reached_at, start).label("minute")
    reached_rows = session.execute(
        sa.select(reached_minute, steering_flag, sa.func.count())
        .select_from(CascadeNode)
        .outerjoin(first_sent, first_sent.c.contact_id == col(CascadeNode.contact_id))
        .where(
            CascadeNode.inspection_id == inspection_id,
            sa.or_(acked.is_not(None), sent.is_not(None)),
        )
        .group_by(reached_minute, steering_flag)
    ).all()
    ack_minute = _minute_of(session, acked, start).label("minute")
    ack_rows = session.execute(
        sa.select(ack_minute, steering_flag, sa.func.count())
        .where(CascadeNode.inspection_id == inspection_id, acked.is_not(None))
        .group_by(ack_minute, steering_flag)
    ).all()
    totals = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((level_one, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(level_one, acked.is_not(None)), 1), else_=0)),
            sa.func.min(sa.case((level_one, col(CascadeNode.window_closes_at)))),
            sa.func.max(sa.case((level_one, acked))),
            sa.func.min(col(CascadeNode.escalated_at)),
        ).where(CascadeNode.inspection_id == inspection_id)
    ).one()
    total, steering, steering_acked, window_closes, steering_done, first_escalation = totals
    total, steering, steering_acked = int(total or 0), int(steering or 0), int(steering_acked or 0)
    reached_buckets, steering_reached_buckets = _buckets(reached_rows)
    ack_buckets, steering_ack_buckets = _buckets(ack_rows)

    def since(moment: Any) -> float | None:
        if moment is None:
            return None
        if isinstance(moment, str):  # SQLite hands back an aggregate of times as text
            moment = datetime.fromisoformat(moment)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=start.tzinfo)
        return max(0.0, round((moment - start).total_seconds() / 60, 2))

    markers = []
    for key, label, moment in (
        ("window", "Steering group's window closes", since(window_closes)),
        ("escalation", "First escalation", since(first_escalation)),
        (
            "steering",
            "Steering group all acknowledged",
            since(steering_done) if steering and steering_acked == steering else None,
        ),
    ):
        if moment is not None:
            markers.append(Marker(key=key, label=label, minute=moment))

    last_event = max([*reached_buckets, *ack_buckets], default=-1) + 1
    end = max(last_event, 1)
    running = now is not None and (now - start).total_seconds() < LIVE_MINUTES * 60
    if now is not None and running and sum(reached_buckets.values()) < total:
        # Still going this morning: to the present minute, so a flat line shows a stall.
        end = max(end, int((now - start).total_seconds() // 60) + 1)
    end = max(end, *(int(m.minute) + 1 for m in markers)) if markers else end
    # One point at the end of every minute in which something changed (and at the end).
    changes = sorted({m + 1 for m in (*reached_buckets, *ack_buckets)} | {end})
    return OverTime(
        total=total,
        minutes=[0, *changes],
        reached=_cumulative(reached_buckets, changes),
        acknowledged=_cumulative(ack_buckets, changes),
        steering_total=steering,
        markers=markers,
        reached_buckets=dict(reached_buckets),
        acknowledged_buckets=dict(ack_buckets),
        steering_reached=_cumulative(steering_reached_buckets, changes),
        steering_acknowledged=_cumulative(steering_ack_buckets, changes),
    )


def _buckets(rows: Any) -> tuple[Counter[int], Counter[int]]:
    """Everyone's and the steering group's counts by minute, from (minute, steering, n) rows."""
    everyone: Counter[int] = Counter()
    steering: Counter[int] = Counter()
    for minute, is_steering, number in rows:
        everyone[int(minute)] += int(number)
        if is_steering:
            steering[int(minute)] += int(number)
    return everyone, steering


def _cumulative(buckets: Counter[int], changes: list[int]) -> list[int]:
    """0, then the running total by the end of each minute in `changes` (ascending)."""
    totals = [0]
    running = 0
    previous = 0
    for minute in changes:
        running += sum(buckets.get(m, 0) for m in range(previous, minute))
        previous = minute
        totals.append(running)
    return totals
