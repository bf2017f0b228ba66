"""Sign-in throttle: five failures for one username within 15 minutes lock that username for
15 minutes from the fifth; twenty from one client address lock the address the same way.

Failures are rows (login_attempt), so every replica sees the same count. Attempts made while
locked are refused without looking at the password and are not counted, so the lock ends when
it says it will (someone guessing cannot keep it closed for good by guessing on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.users.models import LoginAttempt

WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20
KEEP = timedelta(days=1)
"""Older failures are deleted as new ones come in: they can no longer lock anything."""


@dataclass(frozen=True)
class Lockout:
    scope: str
    """`username` or `address`: which limit was reached."""
    until: datetime


def _lock_end(times: list[datetime], limit: int) -> datetime | None:
    """When the latest lock these failures caused ends: a run of `limit` failures within
    WINDOW locks for LOCK from the last of them."""
    times = sorted(times)
    ends = [
        times[i] + LOCK
        for i in range(limit - 1, len(times))
        if times[i] - times[i - limit + 1] <= WINDOW
    ]
    return max(ends, default=None)


def lockout(session: Session, *, username: str, address: str, now: datetime) -> Lockout | None:
    since = now - WINDOW - LOCK
    checks = (
        ("username", LoginAttempt.username == username, MAX_FAILURES_PER_USERNAME),
        ("address", LoginAttempt.client_address == address, MAX_FAILURES_PER_ADDRESS),
    )
    for scope, condition, limit in checks:
        times = session.exec(
            select(LoginAttempt.at).where(condition, col(LoginAttempt.at) > since)
        ).all()
        end = _lock_end(list(times), limit)
        if end is not None and end > now:
            return Lockout(scope=scope, until=end)
    return None


def record_failure(session: Session, *, username: str, address: str, now: datetime) -> None:
    session.execute(sa.delete(LoginAttempt).where(col(LoginAttempt.at) < now - KEEP))
    session.add(LoginAttempt(at=now, username=username[:64], client_address=address[:64]))


def clear(session: Session, *, username: str) -> None:
    """A successful sign-in wipes the username's slate (not the address's: one person signing
    in does not vouch for everyone behind the same address)."""
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.username == username))
