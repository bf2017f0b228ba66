"""Accounts: creating, deactivating, resetting and changing passwords, signing in. Each change is
in the audit log; a refused change writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from service.audit_log import AuditEvent
from service.errors import Conflict, InvalidInput, NotFound
from service.users import passwords, sessions
from service.users import service as users
from service.users.models import LoginAttempt, User, UserSession

pytestmark = pytest.mark.usefixtures("fast_hashing")

NOW = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)
POLICY = sessions.SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=12))
PASSWORD = "violet teapot harbour"


def add(session: Session, username: str, role: str = "viewer", **kw: object) -> User:
    user, _ = users.create(
        session,
        username=username,
        display_name=str(kw.pop("name", "Harriet Oyelaran")),
        role=role,
        actor="tests",
        now=NOW,
        password=kw.pop("password", PASSWORD),  # type: ignore[arg-type]
    )
    session.commit()
    return user


def actions(session: Session) -> list[tuple[str, str, str]]:
    rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [(e.actor, e.action, e.target) for e in rows]


def test_a_new_user_gets_a_one_time_password_that_must_be_changed(session: Session) -> None:
    user, one_time = users.create(
        session,
        username="  HOyelaran ",
        display_name=" Harriet Oyelaran ",
        role="lead",
        actor="user:admin",
        now=NOW,
    )
    session.commit()
    assert one_time is not None
    stored = session.exec(select(User)).one()
    assert (stored.username, stored.display_name, stored.role) == (
        "hoyelaran",
        "Harriet Oyelaran",
        "lead",
    )
    assert stored.must_change_password and stored.active and stored.created_at == NOW
    assert one_time not in stored.password_hash
    assert passwords.verify(one_time, stored.password_hash)[0]
    assert actions(session) == [("user:admin", "user_created", "hoyelaran")]
    assert user.id == stored.id


def test_a_password_given_is_kept_and_need_not_be_changed(session: Session) -> None:
    user = add(session, "twojcik", name="Tomasz Wójcik")
    assert not user.must_change_password
    assert passwords.verify(PASSWORD, user.password_hash)[0]


def test_usernames_are_unique_whatever_the_case(session: Session) -> None:
    add(session, "hoyelaran")
    with pytest.raises(InvalidInput) as refused:
        users.create(
            session, username="HOYELARAN", display_name="H O", role="viewer", actor="t", now=NOW
        )
    assert refused.value.field == "username" and "already exists" in refused.value.message
    session.rollback()
    assert len(session.exec(select(User)).all()) == 1


@pytest.mark.sqlite_only
def test_every_problem_is_reported_at_once_and_nothing_is_written(session: Session) -> None:
    with pytest.raises(users.InvalidFields) as refused:
        users.create(
            session,
            username="=cmd|x",
            display_name="",
            role="superuser",
            actor="t",
            now=NOW,
            password="short",
        )
    assert set(refused.value.problems) == {"username", "display_name", "role", "password"}
    assert refused.value.field == "username"  # what the API and the CLI see
    session.rollback()
    assert session.exec(select(User)).all() == []
    assert actions(session) == []


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "@SUM(A1)", "-Harriet", "+Harriet"])
def test_a_full_name_starting_a_formula_is_refused(session: Session, name: str) -> None:
    with pytest.raises(users.InvalidFields) as refused:
        add(session, "hoyelaran", name=name)
    assert refused.value.field == "display_name"
    assert "must not start with = + - or @" in refused.value.message
    assert session.exec(select(User)).all() == []


def test_deactivating_signs_the_user_out_everywhere(session: Session) -> None:
    add(session, "admin", role="admin")
    user = add(session, "hoyelaran", role="lead")
    for _ in range(2):
        sessions.start(session, user, now=NOW, policy=POLICY)
    session.commit()
    users.deactivate(session, username="HOyelaran", actor="user:admin", now=NOW)
    session.commit()
    assert not session.get(User, user.id).active  # type: ignore[union-attr]
    assert session.exec(select(UserSession)).all() == []
    assert actions(session)[-1] == ("user:admin", "user_deactivated", "hoyelaran")
    users.reactivate(session, username="hoyelaran", actor="user:admin", now=NOW)
    session.commit()
    assert session.get(User, user.id).active  # type: ignore[union-attr]
    assert actions(session)[-1] == ("user:admin", "user_reactivated", "hoyelaran")


def test_the_last_active_admin_and_oneself_cannot_be_deactivated(session: Session) -> None:
    only = add(session, "admin", role="admin")
    with pytest.raises(Conflict, match="last active admin"):
        users.deactivate(session, username="admin", actor="cli", now=NOW)
    other = add(session, "second", role="admin")
    with pytest.raises(Conflict, match="your own account"):
        users.deactivate(session, username="second", actor="x", now=NOW, acting_user=other)
    users.deactivate(session, username="admin", actor="user:second", now=NOW, acting_user=other)
    session.commit()
    assert not session.get(User, only.id).active  # type: ignore[union-attr]


@pytest.mark.sqlite_only
def test_unknown_users_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        users.deactivate(session, username="nobody", actor="cli", now=NOW)
    with pytest.raises(NotFound):
        users.set_password(session, username="nobody", actor="cli", now=NOW)


def test_a_reset_gives_a_new_one_time_password_and_ends_sessions(session: Session) -> None:
    user = add(session, "hoyelaran")
    sessions.start(session, user, now=NOW, policy=POLICY)
    session.commit()
    _, one_time = users.set_password(session, username="hoyelaran", actor="user:admin", now=NOW)
    session.commit()
    stored = session.get(User, user.id)
    assert one_time and stored is not None and stored.must_change_password
    assert passwords.verify(one_time, stored.password_hash)[0]
    assert not passwords.verify(PASSWORD, stored.password_hash)[0]
    assert session.exec(select(UserSession)).all() == []
    assert actions(session)[-1] == ("user:admin", "password_reset", "hoyelaran")


def test_changing_ones_own_password_checks_the_current_one_and_keeps_this_session(
    session: Session,
) -> None:
    user = add(session, "hoyelaran")
    here = sessions.start(session, user, now=NOW, policy=POLICY)
    sessions.start(session, user, now=NOW, policy=POLICY)  # another browser
    session.commit()
    kept = sessions.resolve(session, here, now=NOW, policy=POLICY)
    assert kept is not None
    with pytest.raises(users.InvalidFields) as refused:
        users.change_own_password(
            session, user, current="wrong", new="short", confirm="", now=NOW, keep_session_id=None
        )
    assert set(refused.value.problems) == {"current_password", "new_password"}
    session.rollback()
    with pytest.raises(users.InvalidFields) as refused:
        users.change_own_password(
            session,
            user,
            current=PASSWORD,
            new="amber lantern orchard",
            confirm="amber lantern orchid",
            now=NOW,
            keep_session_id=None,
        )
    assert set(refused.value.problems) == {"confirm_password"}
    session.rollback()
    users.change_own_password(
        session,
        user,
        current=PASSWORD,
        new="amber lantern orchard",
        confirm="amber lantern orchard",
        now=NOW,
        keep_session_id=kept[1].id,
    )
    session.commit()
    assert [row.id for row in session.exec(select(UserSession)).all()] == [kept[1].id]
    stored = session.get(User, user.id)
    assert stored is not None and passwords.verify("amber lantern orchard", stored.password_hash)[0]
    assert actions(session)[-1] == ("user:hoyelaran", "password_changed", "hoyelaran")


@pytest.mark.sqlite_only
def test_the_new_password_must_differ_from_the_current_one(session: Session) -> None:
    user = add(session, "hoyelaran")
    with pytest.raises(users.InvalidFields) as refused:
        users.change_own_password(
            session,
            user,
            current=PASSWORD,
            new=PASSWORD,
            confirm=PASSWORD,
            now=NOW,
            keep_session_id=None,
        )
    assert refused.value.problems == {
        "new_password": "New password must be different from your current one"
    }


def test_signing_in_starts_a_session_and_records_it(session: Session) -> None:
    add(session, "hoyelaran")
    result = users.sign_in(
        session,
        username="HOyelaran",
        password=PASSWORD,
        address="192.0.2.7",
        now=NOW,
        policy=POLICY,
    )
    session.commit()
    assert result.user.username == "hoyelaran" and result.user.last_login_at == NOW
    assert sessions.resolve(session, result.token, now=NOW, policy=POLICY) is not None
    assert actions(session)[-1] == ("user:hoyelaran", "signed_in", "hoyelaran")


@pytest.mark.parametrize("who", ["wrong password", "unknown", "deactivated"])
def test_a_failed_sign_in_says_nothing_about_why_and_is_counted(session: Session, who: str) -> None:
    add(session, "admin", role="admin")
    add(session, "hoyelaran")
    if who == "deactivated":
        users.deactivate(session, username="hoyelaran", actor="t", now=NOW)
        session.commit()
    username = "nobody" if who == "unknown" else "hoyelaran"
    password = "not the password" if who == "wrong password" else PASSWORD
    with pytest.raises(users.SignInFailed):
        users.sign_in(
            session,
            username=username,
            password=password,
            address="192.0.2.7",
            now=NOW,
            policy=POLICY,
        )
    session.commit()
    attempts = session.exec(select(LoginAttempt)).all()
    assert [(a.username, a.client_address) for a in attempts] == [(username, "192.0.2.7")]
    assert session.exec(select(UserSession)).all() == []
