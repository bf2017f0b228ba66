"""Server-side sessions: the browser holds a random token, the database its hash. A session
ends after a spell of inactivity, at an absolute limit however active it is, when the user signs
out (the row is deleted), and when an admin deactivates the user or resets their password."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.users.models import User, UserSession

TOUCH_EVERY = timedelta(minutes=1)
"""last_seen_at is written at most this often: a page load is not a write each time."""


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def start(session: Session, user: User, *, now: datetime, policy: SessionPolicy) -> str:
    """A new session for the user; the raw token for the cookie. Expired rows of anyone are
    swept here, where a write is happening anyway."""
    assert user.id is not None
    _sweep(session, now=now, policy=policy)
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(raw),
            user_id=user.id,
            created_at=now,
            expires_at=now + policy.absolute,
            last_seen_at=now,
        )
    )
    return raw


def resolve(
    session: Session, raw: str, *, now: datetime, policy: SessionPolicy
) -> tuple[User, UserSession] | None:
    """The signed-in user, or None for an unknown, expired or idle session or an inactive
    user. Reads only: `touch` records activity, in a write of its own."""
    found = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(UserSession.token_hash == _digest(raw))
    ).first()
    if found is None:
        return None
    row, user = found
    if not user.active or now >= row.expires_at or now - row.last_seen_at >= policy.idle:
        return None
    return user, row


def touch_due(row: UserSession, *, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, *, now: datetime) -> None:
    session.execute(
        sa.update(UserSession)
        .where(col(UserSession.id) == session_id, col(UserSession.last_seen_at) < now)
        .values(last_seen_at=now)
    )


def end(session: Session, raw: str) -> None:
    session.execute(sa.delete(UserSession).where(col(UserSession.token_hash) == _digest(raw)))


def end_all(session: Session, user_id: int) -> int:
    result = session.execute(sa.delete(UserSession).where(col(UserSession.user_id) == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def _sweep(session: Session, *, now: datetime, policy: SessionPolicy) -> None:
    session.execute(
        sa.delete(UserSession).where(
            sa.or_(
                col(UserSession.expires_at) <= now,
                col(UserSession.last_seen_at) <= now - policy.idle,
            )
        )
    )


def end_others(session: Session, user_id: int, keep_id: int | None) -> None:
    query = sa.delete(UserSession).where(col(UserSession.user_id) == user_id)
    if keep_id is not None:
        query = query.where(col(UserSession.id) != keep_id)
    session.execute(query)
