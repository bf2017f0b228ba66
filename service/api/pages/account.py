"""The signed-in user's own password: chosen on the first sign-in with a one-time password,
and changeable at any time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from service.api.deps import SessionDep, SettingsDep
from service.api.pages.auth import (
    CHANGE_PASSWORD_PATH,
    CurrentSignedIn,
    SignedIn,
    cookies_secure,
    safe_next,
)
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import page_router, see_other
from service.api.pages.rendering import render
from service.db import utcnow
from service.users import passwords
from service.users import service as users

router = page_router(tags=["account pages"])


def _page(
    request: Request, found: SignedIn, form: PageForm, next_path: str, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "change_password.html",
        {
            "form": form,
            "next": next_path,
            "first": found.user.must_change_password,
            "min_length": passwords.MIN_LENGTH,
        },
        status_code=status_code,
    )


@router.get(CHANGE_PASSWORD_PATH)
def change_password_page(request: Request, found: CurrentSignedIn, next: str = "/") -> Response:
    return _page(request, found, PageForm(), safe_next(next))


@router.post(CHANGE_PASSWORD_PATH)
def change_password(
    request: Request,
    found: CurrentSignedIn,
    session: SessionDep,
    settings: SettingsDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    next_path = safe_next(next)
    user = users.get_by_id(session, found.user.id or 0)
    try:
        users.change_own_password(
            session,
            user,
            current=current_password,
            new=new_password,
            confirm=confirm_password,
            now=utcnow(),
            keep_session_id=found.session_id,
        )
    except users.InvalidFields as exc:
        session.rollback()
        form = PageForm(errors=dict(exc.problems))
        return _page(request, found, form, next_path, 422)
    session.commit()
    response = see_other(next_path)
    flash(request, response, "Your password has been changed", secure=cookies_secure(settings))
    return response
