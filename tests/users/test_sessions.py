"""Server-side sessions: only a hash is stored; a session ends when idle, at its absolute limit,
on sign-out, and when the user is deactivated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from service.users import service as users
from service.users import sessions
from service.users.models import User, UserSession

pytestmark = pytest.mark.usefixtures("fast_hashing")

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
POLICY = sessions.SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8))


def make_user(session: Session) -> User:
    user, _ = users.create(
        session,
        username="hoyelaran",
        display_name="Harriet Oyelaran",
        role="lead",
        actor="tests",
        now=T0,
        password="violet teapot harbour",
    )
    session.commit()
    return user


def test_only_a_hash_of_the_token_is_stored(session: Session) -> None:
    raw = sessions.start(session, make_user(session), now=T0, policy=POLICY)
    session.commit()
    row = session.exec(select(UserSession)).one()
    assert raw not in row.token_hash and len(row.token_hash) == 64
    assert row.expires_at == T0 + POLICY.absolute and row.last_seen_at == T0


def test_a_session_ends_after_the_idle_time_unless_touched(session: Session) -> None:
    raw = sessions.start(session, make_user(session), now=T0, policy=POLICY)
    session.commit()
    later = T0 + timedelta(minutes=29)
    found = sessions.resolve(session, raw, now=later, policy=POLICY)
    assert found is not None and sessions.touch_due(found[1], now=later)
    sessions.touch(session, found[1].id or 0, now=later)
    session.commit()
    session.expire_all()
    assert sessions.resolve(session, raw, now=later + timedelta(minutes=29), policy=POLICY)
    assert sessions.resolve(session, raw, now=later + timedelta(minutes=30), policy=POLICY) is None


def test_a_busy_session_still_ends_at_its_absolute_limit(session: Session) -> None:
    raw = sessions.start(session, make_user(session), now=T0, policy=POLICY)
    session.commit()
    moment = T0
    while moment < T0 + POLICY.absolute - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        found = sessions.resolve(session, raw, now=moment, policy=POLICY)
        assert found is not None, moment
        sessions.touch(session, found[1].id or 0, now=moment)
        session.commit()
        session.expire_all()
    assert sessions.resolve(session, raw, now=T0 + POLICY.absolute, policy=POLICY) is None


def test_signing_out_and_deactivation_end_it(session: Session) -> None:
    user = make_user(session)
    first = sessions.start(session, user, now=T0, policy=POLICY)
    second = sessions.start(session, user, now=T0, policy=POLICY)
    session.commit()
    users.sign_out(session, token=first, user=user, now=T0)
    session.commit()
    assert sessions.resolve(session, first, now=T0, policy=POLICY) is None
    assert sessions.resolve(session, second, now=T0, policy=POLICY) is not None
    user.active = False
    session.add(user)
    session.commit()
    assert sessions.resolve(session, second, now=T0, policy=POLICY) is None
    assert sessions.resolve(session, "made-up", now=T0, policy=POLICY) is None


def test_starting_a_session_sweeps_expired_ones(session: Session) -> None:
    user = make_user(session)
    sessions.start(session, user, now=T0, policy=POLICY)
    session.commit()
    sessions.start(session, user, now=T0 + timedelta(hours=1), policy=POLICY)
    session.commit()
    assert [r.created_at for r in session.exec(select(UserSession)).all()] == [
        T0 + timedelta(hours=1)
    ]
