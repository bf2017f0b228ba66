"""Signing in and out. A failed attempt is counted (service.users.throttle) and the page says
plainly when, and until when, a username or an address is locked."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from service.api.deps import SessionDep, SettingsDep
from service.api.pages.auth import (
    SESSION_COOKIE,
    MaybeSignedIn,
    change_password_url,
    cookies_secure,
    policy,
    safe_next,
)
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import page_router, see_other
from service.api.pages.rendering import render
from service.db import utcnow
from service.users import service as users
from service.users import sessions
from service.users.throttle import Lockout

router = page_router(tags=["sign-in pages"])

WRONG = "Enter a correct username and password: one or both are not right"


def _page(request: Request, form: PageForm, next_path: str, status_code: int) -> HTMLResponse:
    return render(request, "login.html", {"form": form, "next": next_path}, status_code=status_code)


def _locked_message(lock: Lockout, request: Request) -> str:
    zone = request.app.state.settings.zone
    at = lock.until.astimezone(zone).strftime("%-I:%M%p").lower()
    if lock.scope == "username":
        return (
            f"Too many failed attempts to sign in with this username. It is locked until {at}: "
            "try again then, or ask an admin to reset your password"
        )
    return f"Too many failed sign-in attempts from your network. Try again after {at}"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, found: MaybeSignedIn, next: str = "/") -> Response:
    if found is not None:
        target = safe_next(next)
        must_change = found.user.must_change_password
        return see_other(change_password_url(target) if must_change else target)
    return _page(request, PageForm(), safe_next(next), 200)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    next_path = safe_next(next)
    form = PageForm(values={"username": username})
    if not username.strip():
        form.add("username", "Enter your username")
    if not password:
        form.add("password", "Enter your password")
    if form.errors:
        return _page(request, form, next_path, 422)
    previous = request.cookies.get(SESSION_COOKIE)
    try:
        result = users.sign_in(
            session,
            username=username,
            password=password,
            address=_client_address(request),
            now=utcnow(),
            policy=policy(settings),
        )
    except users.SignInLocked as exc:
        session.commit()  # the failure that reached the limit counts
        form.add("username", _locked_message(exc.lock, request))
        return _page(request, form, next_path, 429)
    except users.SignInFailed:
        session.commit()
        form.add("username", WRONG)
        return _page(request, form, next_path, 401)
    if previous:
        sessions.end(session, previous)
    session.commit()
    must_change = result.user.must_change_password
    response = see_other(change_password_url(next_path) if must_change else next_path)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        path="/",
        secure=cookies_secure(settings),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, found: MaybeSignedIn, session: SessionDep, settings: SettingsDep
) -> Response:
    """Deletes the session row, so the cookie is worthless even if it was copied."""
    if found is not None:
        users.sign_out(session, token=found.token, user=found.user, now=utcnow())
        session.commit()
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    flash(request, response, "You have signed out", secure=cookies_secure(settings))
    return response
