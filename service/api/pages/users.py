"""Managing users (admins only): list, add, deactivate, reactivate, reset a password. A new or
reset password is a one-time password shown on the reply itself, once; it is never put in a
cookie, a URL or a log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, SessionDep
from service.api.pages.auth import UserManager, cookies_secure
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.users import service as users
from service.users.models import User
from service.users.permissions import ROLE_DESCRIPTIONS, Role

router = page_router(tags=["user pages"])


def _list_page(
    request: Request, session: Session, form: PageForm | None = None, status_code: int = 200
) -> Response:
    people = users.list_users(session)
    return render(request, "users.html", {"users": people, "form": form}, status_code=status_code)


def _role_items(chosen: str) -> list[dict[str, object]]:
    return [
        {
            "value": role.value,
            "text": role.value.capitalize(),
            "hint": {"text": ROLE_DESCRIPTIONS[role]},
            "checked": chosen == role.value,
        }
        for role in Role
    ]


def _new_page(request: Request, form: PageForm, status_code: int = 200) -> HTMLResponse:
    return render(
        request,
        "user_new.html",
        {"form": form, "role_items": _role_items(form.value("role"))},
        status_code=status_code,
    )


def _one_time_page(request: Request, heading: str, person: User, one_time: str) -> HTMLResponse:
    return render(
        request,
        "one_time_password.html",
        {"heading": heading, "person": person, "one_time": one_time},
    )


@router.get("/users")
def users_page(request: Request, _: UserManager, session: ReadSessionDep) -> Response:
    return _list_page(request, session)


@router.get("/users/new")
def new_user_page(request: Request, _: UserManager) -> Response:
    return _new_page(request, PageForm(ids={"role": "role"}))


@router.post("/users")
def create_user(
    request: Request,
    admin: UserManager,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    values = {"username": username, "display_name": display_name, "role": role}
    try:
        person, one_time = users.create(
            session,
            username=username,
            display_name=display_name,
            role=role,
            actor=users.actor_for(admin),
            now=utcnow(),
        )
    except users.InvalidFields as exc:
        session.rollback()
        problems = dict(exc.problems)
        if "role" in problems:
            problems["role"] = "Select the user's role"
        form = PageForm(values=values, errors=problems, ids={"role": "role"})
        return _new_page(request, form, 422)
    session.commit()
    assert one_time is not None
    return _one_time_page(request, "User added", person, one_time)


def _change(
    request: Request,
    admin: User,
    username: str,
    action: str,
    session: Session,
    reading: Session,
) -> Response:
    """`reading` shows the list again when the change is refused, after the write rolled back."""
    try:
        if action == "deactivate":
            person = users.deactivate(
                session,
                username=username,
                actor=users.actor_for(admin),
                now=utcnow(),
                acting_user=admin,
            )
            message = f"{person.display_name} has been deactivated and signed out"
        else:
            person = users.reactivate(
                session, username=username, actor=users.actor_for(admin), now=utcnow()
            )
            message = f"{person.display_name} can sign in again"
    except NotFound:
        return not_found(request, f"There is no user called {username}.")
    except Conflict as exc:
        session.rollback()
        form = PageForm(errors={"user": exc.message}, ids={"user": f"user-{username}"})
        return _list_page(request, reading, form, 409)
    session.commit()
    response = see_other("/users")
    flash(request, response, message, secure=cookies_secure(request.app.state.settings))
    return response


@router.post("/users/{username}/deactivate")
def deactivate_user(
    request: Request,
    admin: UserManager,
    username: str,
    session: SessionDep,
    reading: ReadSessionDep,
) -> Response:
    return _change(request, admin, username, "deactivate", session, reading)


@router.post("/users/{username}/reactivate")
def reactivate_user(
    request: Request,
    admin: UserManager,
    username: str,
    session: SessionDep,
    reading: ReadSessionDep,
) -> Response:
    return _change(request, admin, username, "reactivate", session, reading)


@router.post("/users/{username}/reset-password")
def reset_password(
    request: Request, admin: UserManager, username: str, session: SessionDep
) -> Response:
    try:
        person, one_time = users.set_password(
            session, username=username, actor=users.actor_for(admin), now=utcnow()
        )
    except NotFound:
        return not_found(request, f"There is no user called {username}.")
    session.commit()
    assert one_time is not None
    return _one_time_page(request, "Password reset", person, one_time)
