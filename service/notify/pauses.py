"""Pausing a medium until a provider's daily limit starts again (GOV.UK Notify's reset at
midnight UTC): nothing is sent on that medium meanwhile, no attempt is spent and nothing is marked
failed; every replica and the dashboard read the same row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from service.db import insert_many
from service.notify.models import Medium, MediumPause

DAILY_LIMIT_REASON = "Notify's daily limit"
MEDIUM_NAMES = {Medium.email: "E-mail", Medium.sms: "SMS"}


def next_midnight_utc(now: datetime) -> datetime:
    """When Notify's daily counts start again (the UTC date is part of their key)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


@dataclass(frozen=True)
class Pause:
    medium: Medium
    until: datetime
    reason: str
    since: datetime

    @property
    def message(self) -> str:
        """'SMS paused until 00:00 UTC: Notify's daily limit'."""
        return f"{MEDIUM_NAMES[self.medium]} paused until {self.until:%H:%M} UTC: {self.reason}"


def active(session: Session, now: datetime) -> list[Pause]:
    rows = session.exec(
        select(MediumPause)
        .where(col(MediumPause.paused_until) > now)
        .order_by(col(MediumPause.medium))
    ).all()
    return [Pause(Medium(r.medium), r.paused_until, r.reason, r.since) for r in rows]


def paused_media(session: Session, now: datetime) -> set[str]:
    return set(
        session.exec(select(MediumPause.medium).where(col(MediumPause.paused_until) > now)).all()
    )


def pause(session: Session, medium: Medium, *, until: datetime, reason: str, now: datetime) -> bool:
    """Pause `medium` until `until`; True when it was not paused already (the caller then reaches
    the people waiting on it another way, once, whichever replica met the limit first)."""
    never = datetime(2000, 1, 1, tzinfo=UTC)
    insert_many(
        session,
        MediumPause.__table__,  # type: ignore[arg-type]
        [{"medium": medium.value, "paused_until": never, "reason": reason, "since": never}],
        skip_conflicts=True,
    )
    row = session.get(MediumPause, medium.value, with_for_update=True, populate_existing=True)
    assert row is not None
    if row.paused_until > now:
        row.paused_until = max(row.paused_until, until)
        session.add(row)
        return False
    row.paused_until, row.reason, row.since = until, reason, now
    session.add(row)
    return True
