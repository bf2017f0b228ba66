"""The sign-in throttle: five failures in 15 minutes lock the username for 15 minutes, twenty
lock the address; the lock holds across sessions (it is in the database), ends when it says, and
a success wipes the username's count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.users import service as users
from service.users import sessions, throttle
from service.users.models import LoginAttempt

pytestmark = pytest.mark.usefixtures("fast_hashing")

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
POLICY = sessions.SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=12))
PASSWORD = "violet teapot harbour"


@pytest.fixture
def hoyelaran(session: Session) -> None:
    users.create(
        session,
        username="hoyelaran",
        display_name="Harriet Oyelaran",
        role="lead",
        actor="tests",
        now=T0,
        password=PASSWORD,
    )
    session.commit()


def attempt(
    session: Session,
    password: str,
    at: datetime,
    address: str = "192.0.2.7",
    who: str = "hoyelaran",
) -> str:
    """`ok`, `failed` or `locked`; committed either way, as the page does."""
    try:
        users.sign_in(
            session, username=who, password=password, address=address, now=at, policy=POLICY
        )
        outcome = "ok"
    except users.SignInLocked:
        outcome = "locked"
    except users.SignInFailed:
        outcome = "failed"
    session.commit()
    return outcome


def test_the_fifth_failure_locks_for_fifteen_minutes_from_then(
    session: Session, hoyelaran: None
) -> None:
    outcomes = [attempt(session, "guess", T0 + timedelta(minutes=3 * i)) for i in range(5)]
    assert outcomes == ["failed"] * 4 + ["locked"]
    fifth = T0 + timedelta(minutes=12)
    lock = throttle.lockout(session, username="hoyelaran", address="198.51.100.1", now=fifth)
    assert lock == throttle.Lockout(scope="username", until=fifth + timedelta(minutes=15))
    # The right password is refused while locked, from any address, and is not counted.
    assert attempt(session, PASSWORD, fifth + timedelta(minutes=14), "198.51.100.1") == "locked"
    assert len(session.exec(select(LoginAttempt)).all()) == 5
    assert attempt(session, PASSWORD, fifth + timedelta(minutes=15)) == "ok"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_locked")).all()
    assert [(e.target, e.data["scope"]) for e in events] == [("hoyelaran", "username")]


def test_failures_spread_wider_than_the_window_do_not_lock(
    session: Session, hoyelaran: None
) -> None:
    outcomes = [attempt(session, "guess", T0 + timedelta(minutes=4 * i)) for i in range(8)]
    assert outcomes == ["failed"] * 8


def test_a_success_wipes_the_count(session: Session, hoyelaran: None) -> None:
    for i in range(4):
        attempt(session, "guess", T0 + timedelta(minutes=i))
    assert attempt(session, PASSWORD, T0 + timedelta(minutes=5)) == "ok"
    outcomes = [attempt(session, "guess", T0 + timedelta(minutes=6 + i)) for i in range(4)]
    assert outcomes == ["failed"] * 4


def test_an_unknown_username_locks_like_a_real_one(session: Session) -> None:
    outcomes = [
        attempt(session, "guess", T0 + timedelta(seconds=i), who="nobody") for i in range(5)
    ]
    assert outcomes == ["failed"] * 4 + ["locked"]


def test_many_usernames_from_one_address_lock_the_address(
    session: Session, hoyelaran: None
) -> None:
    outcomes = [
        attempt(session, "guess", T0 + timedelta(seconds=i), who=f"user{i}") for i in range(20)
    ]
    assert outcomes == ["failed"] * 19 + ["locked"]
    # A real user from that address is refused too; from elsewhere they get in.
    assert attempt(session, PASSWORD, T0 + timedelta(minutes=1)) == "locked"
    assert attempt(session, PASSWORD, T0 + timedelta(minutes=1), "198.51.100.1") == "ok"


def test_old_failures_are_swept(session: Session) -> None:
    attempt(session, "guess", T0, who="nobody")
    attempt(session, "guess", T0 + timedelta(days=2), who="somebody")
    assert [a.username for a in session.exec(select(LoginAttempt)).all()] == ["somebody"]
