"""Who is signed in, for pages: `CurrentUser` sends a signed-out browser to the sign-in page
(and back afterwards), `require_role` / `require_permission` answer a signed-in user who lacks
the right with a 403 page, and a user holding a one-time password is sent to choose their own
before anything else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from service.api.deps import ReadSessionDep, SessionDep, SettingsDep
from service.config import Settings
from service.db import utcnow
from service.users import sessions
from service.users.models import User
from service.users.permissions import Permission, Role, can

SESSION_COOKIE = "iw_session"
CHANGE_PASSWORD_PATH = "/account/password"
LOGIN_PATH = "/login"


class SignInRequired(Exception):
    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    def __init__(self, user: User, needed: str):
        super().__init__(needed)
        self.user = user
        self.needed = needed


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: int
    token: str


def policy(settings: Settings) -> sessions.SessionPolicy:
    return sessions.SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )


def cookies_secure(settings: Settings) -> bool:
    """Cookies are marked Secure when the service is reached over HTTPS."""
    return settings.public_base_url.startswith("https://")


def here(request: Request) -> str:
    """This page's path and query, for coming back after signing in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_url(next_path: str) -> str:
    return LOGIN_PATH + ("?" + urlencode({"next": next_path}) if next_path not in ("", "/") else "")


def change_password_url(next_path: str) -> str:
    suffix = "" if next_path in ("", "/") else "?" + urlencode({"next": next_path})
    return CHANGE_PASSWORD_PATH + suffix


def safe_next(value: str | None) -> str:
    """Only a path on this site: never `//elsewhere` or a full URL (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\r\n\t"):
        return "/"
    return value


def signed_in(
    request: Request, reading: ReadSessionDep, writing: SessionDep, settings: SettingsDep
) -> SignedIn | None:
    """The session behind this request's cookie, or None. Read in the page's read session, which
    is then ended: a write page or a stream must not hold it open. The occasional last-seen
    touch is a short write of its own, so a reading page never takes the writer's lock."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    now = utcnow()
    found = sessions.resolve(reading, raw, now=now, policy=policy(settings))
    reading.commit()
    if found is None:
        return None
    user, row = found
    assert row.id is not None
    if sessions.touch_due(row, now=now):
        sessions.touch(writing, row.id, now=now)
        writing.commit()
    request.state.user = user  # for the layout
    return SignedIn(user=user, session_id=row.id, token=raw)


MaybeSignedIn = Annotated[SignedIn | None, Depends(signed_in)]
"""Who is signed in, if anyone (the sign-in page, signing out, the CSRF refusal page)."""


def current_signed_in(request: Request, found: MaybeSignedIn) -> SignedIn:
    if found is None:
        raise SignInRequired(here(request))
    if found.user.must_change_password and request.url.path != CHANGE_PASSWORD_PATH:
        raise PasswordChangeRequired(here(request))
    return found


def current_user(found: Annotated[SignedIn, Depends(current_signed_in)]) -> User:
    return found.user


CurrentSignedIn = Annotated[SignedIn, Depends(current_signed_in)]
CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[..., User]:
    allowed = {Role(r) for r in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise PageForbidden(user, "the role " + " or ".join(sorted(allowed)))
        return user

    return check


def require_permission(permission: Permission) -> Callable[..., User]:
    def check(user: CurrentUser) -> User:
        if not can(user.role, permission):
            raise PageForbidden(user, permission.value.replace("_", " "))
        return user

    return check


UserManager = Annotated[User, Depends(require_permission(Permission.manage_users))]
