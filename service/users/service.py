"""The rules for staff accounts: creating, deactivating, passwords and signing in. Each change
writes an audit event in the caller's transaction; nothing here commits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service import audit_log
from service.errors import Conflict, InvalidInput, NotFound
from service.spreadsheet import refuse_formula_start
from service.users import passwords, sessions, throttle
from service.users.models import User
from service.users.permissions import Role

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MAX_DISPLAY_NAME = 200


class InvalidFields(InvalidInput):
    """Several fields wrong at once (a form shows them all); the API and the CLI see the
    first, like any InvalidInput."""

    def __init__(self, problems: dict[str, str]):
        field, message = next(iter(problems.items()))
        super().__init__(field, message)
        self.problems = problems


class SignInFailed(Exception):
    """Wrong username or password; deliberately never says which."""


class SignInLocked(Exception):
    def __init__(self, lock: throttle.Lockout):
        super().__init__(f"locked by {lock.scope} until {lock.until.isoformat()}")
        self.lock = lock


def actor_for(user: User) -> str:
    return f"user:{user.username}"


def normalise_username(raw: str) -> str:
    """Folded to lower case: `HOyelaran` and `hoyelaran` are one account."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def _username_problem(username: str) -> str | None:
    if not username:
        return "Enter a username"
    if not USERNAME_PATTERN.match(username):
        return (
            "Username must be 2 to 64 characters: letters, numbers, full stops, hyphens, "
            "underscores or @, starting with a letter or number"
        )
    return None


def _display_name_problem(name: str) -> str | None:
    if not name:
        return "Enter the person's full name"
    if len(name) > MAX_DISPLAY_NAME:
        return f"Full name must be {MAX_DISPLAY_NAME} characters or fewer"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "Full name must not contain control characters"
    try:
        refuse_formula_start(name, what="Full name ")
    except ValueError as exc:
        return str(exc)
    return None


def _role_problem(role: str) -> str | None:
    if role not in {r.value for r in Role}:
        return "Select a role: " + ", ".join(r.value for r in Role)
    return None


def find(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == normalise_username(username))).first()


def get(session: Session, username: str) -> User:
    user = find(session, username)
    if user is None:
        raise NotFound(f"no user named {normalise_username(username)!r}")
    return user


def get_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


def create(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    actor: str,
    now: datetime,
    password: str | None = None,
) -> tuple[User, str | None]:
    """The new user and, when no password was given, the one-time password to hand over
    (shown once; the first sign-in asks for a new one)."""
    username = normalise_username(username)
    display_name = display_name.strip()
    problems = {
        field: problem
        for field, problem in (
            ("username", _username_problem(username)),
            ("display_name", _display_name_problem(display_name)),
            ("role", _role_problem(role)),
            (
                "password",
                passwords.problem_with(password, username=username) if password else None,
            ),
        )
        if problem
    }
    if "username" not in problems and find(session, username) is not None:
        problems = {"username": f"A user called {username} already exists", **problems}
    if problems:
        raise InvalidFields(problems)
    one_time = None if password else passwords.one_time_password()
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=passwords.hash_password(password or one_time or ""),
        must_change_password=password is None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="user_created",
        target=username,
        now=now,
        data={"role": role, "display_name": display_name},
    )
    return user, one_time


def _active_admins(session: Session) -> int:
    return len(session.exec(select(User.id).where(User.role == Role.admin, User.active)).all())


def deactivate(
    session: Session, *, username: str, actor: str, now: datetime, acting_user: User | None = None
) -> User:
    """Signs the user out everywhere at once. The last active admin stays: without one,
    nobody could manage users from the pages again."""
    user = get(session, username)
    if acting_user is not None and acting_user.id == user.id:
        raise Conflict("You cannot deactivate your own account")
    if not user.active:
        return user
    if user.role == Role.admin and _active_admins(session) <= 1:
        raise Conflict(f"{user.username} is the last active admin: add another admin first")
    user.active = False
    session.add(user)
    assert user.id is not None
    sessions.end_all(session, user.id)
    audit_log.record(session, actor=actor, action="user_deactivated", target=user.username, now=now)
    return user


def reactivate(session: Session, *, username: str, actor: str, now: datetime) -> User:
    user = get(session, username)
    if user.active:
        return user
    user.active = True
    session.add(user)
    audit_log.record(session, actor=actor, action="user_reactivated", target=user.username, now=now)
    return user


def set_password(
    session: Session,
    *,
    username: str,
    actor: str,
    now: datetime,
    password: str | None = None,
) -> tuple[User, str | None]:
    """An admin's reset: a one-time password (returned, to hand over) unless one is given.
    Ends the user's sessions, so whoever knew the old password is signed out."""
    user = get(session, username)
    if password is not None:
        problem = passwords.problem_with(password, username=user.username)
        if problem:
            raise InvalidInput("password", problem)
    one_time = None if password is not None else passwords.one_time_password()
    user.password_hash = passwords.hash_password(password or one_time or "")
    user.must_change_password = password is None
    session.add(user)
    assert user.id is not None
    sessions.end_all(session, user.id)
    audit_log.record(
        session,
        actor=actor,
        action="password_reset",
        target=user.username,
        now=now,
        data={"one_time": one_time is not None},
    )
    return user, one_time


def change_own_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    confirm: str,
    now: datetime,
    keep_session_id: int | None,
) -> User:
    """The user's own choice, checked against the one they have now. Their other sessions
    end (a password change is how someone locks out a browser they left signed in)."""
    problems: dict[str, str] = {}
    if not current:
        problems["current_password"] = "Enter your current password"
    elif not passwords.verify(current, user.password_hash)[0]:
        problems["current_password"] = "Current password is not right"
    if not new:
        problems["new_password"] = "Enter a new password"
    elif problem := passwords.problem_with(new, username=user.username):
        problems["new_password"] = problem
    elif current and new == current:
        problems["new_password"] = "New password must be different from your current one"
    if new and not problems.get("new_password") and new != confirm:
        problems["confirm_password"] = "Passwords do not match: type the new password again"
    if problems:
        raise InvalidFields(problems)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    session.add(user)
    assert user.id is not None
    sessions.end_others(session, user.id, keep_session_id)
    audit_log.record(
        session, actor=actor_for(user), action="password_changed", target=user.username, now=now
    )
    return user


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime,
    policy: sessions.SessionPolicy,
) -> SignedIn:
    """Checks the throttle first, then the password. A failure is counted in the caller's
    transaction, so the caller commits on failure too; the failure that reaches the limit
    raises SignInLocked, so the person is told at once."""
    username = normalise_username(username)[:64]
    lock = throttle.lockout(session, username=username, address=address, now=now)
    if lock is not None:
        raise SignInLocked(lock)
    user = find(session, username) if username else None
    if user is None or not user.active:
        passwords.verify_nobody(password)
        ok, rehashed = False, None
    else:
        ok, rehashed = passwords.verify(password, user.password_hash)
    if not ok or user is None:
        throttle.record_failure(session, username=username, address=address, now=now)
        lock = throttle.lockout(session, username=username, address=address, now=now)
        if lock is not None:
            audit_log.record(
                session,
                actor=f"address:{address}",
                action="sign_in_locked",
                target=username if lock.scope == "username" else address,
                now=now,
                data={"scope": lock.scope, "until": lock.until.isoformat()},
            )
            raise SignInLocked(lock)
        raise SignInFailed()
    if rehashed is not None:
        user.password_hash = rehashed
    user.last_login_at = now
    session.add(user)
    throttle.clear(session, username=username)
    token = sessions.start(session, user, now=now, policy=policy)
    audit_log.record(
        session, actor=actor_for(user), action="signed_in", target=user.username, now=now
    )
    return SignedIn(user=user, token=token)


def sign_out(session: Session, *, token: str, user: User, now: datetime) -> None:
    sessions.end(session, token)
    audit_log.record(
        session, actor=actor_for(user), action="signed_out", target=user.username, now=now
    )
