"""The API keys page (admins): the keys with their scopes and last use, making a key (shown once,
on the reply that made it, as the API does) and revoking one. The last active admin key cannot
be revoked here either: the page says why."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from service import api_keys
from service.api.deps import ReadSessionDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import require_permission
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import done, sentence
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["API key pages"])

KeyManager = Annotated[User, Depends(require_permission(Permission.manage_api_keys))]
IDS = {"scopes": "scopes"}
"""The checkboxes' error links to the first box."""


def _list_page(
    request: Request, session: Session, form: PageForm | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "api_keys.html",
        {"keys": api_keys.list_keys(session), "form": form},
        status_code=status_code,
    )


def _scope_items(chosen: list[str]) -> list[dict[str, object]]:
    return [
        {
            "value": scope,
            "text": scope,
            "hint": {"text": api_keys.SCOPE_DESCRIPTIONS[scope]},
            "checked": scope in chosen,
        }
        for scope in api_keys.SCOPES
    ]


def _new_page(
    request: Request, form: PageForm, chosen: list[str], status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "api_key_new.html",
        {"form": form, "scope_items": _scope_items(chosen)},
        status_code=status_code,
    )


@router.get("/api-keys")
def api_keys_page(request: Request, _: KeyManager, session: ReadSessionDep) -> Response:
    return _list_page(request, session)


@router.get("/api-keys/new")
def new_api_key_page(request: Request, _: KeyManager) -> Response:
    return _new_page(request, PageForm(ids=IDS), [])


@router.post("/api-keys")
def create_api_key(
    request: Request,
    admin: KeyManager,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """Answers with the key itself (not a redirect): the one place it is ever shown."""
    chosen = [scope for scope in scopes if scope in api_keys.SCOPES]
    try:
        key, raw = api_keys.create(
            session, name=name, scopes=scopes, actor=users.actor_for(admin), now=utcnow()
        )
        commit_or_conflict(session, f"an API key named {name.strip()!r} already exists")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, InvalidInput) else "name"
        message = (
            "Select at least one scope"
            if field == "scopes" and not scopes
            else sentence(exc.message)
        )
        form = PageForm(values={"name": name}, errors={field: message}, ids=IDS)
        return _new_page(request, form, chosen, 409 if isinstance(exc, Conflict) else 422)
    return render(request, "api_key_created.html", {"key": key, "raw": raw}, status_code=201)


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(
    request: Request,
    key_id: str,
    admin: KeyManager,
    session: SessionDep,
    reading: ReadSessionDep,
) -> Response:
    """`reading` shows the list again when the revocation is refused."""
    number = int(key_id) if key_id.isascii() and key_id.isdigit() and len(key_id) < 19 else 0
    try:
        key = api_keys.revoke_by_id(session, number, actor=users.actor_for(admin), now=utcnow())
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, "There is no such API key.")
    except Conflict as exc:
        session.rollback()
        form = PageForm(errors={"key": sentence(exc.message)}, ids={"key": f"key-{number}"})
        return _list_page(request, reading, form, 409)
    return done(
        request, "/api-keys", f"The API key {key.name} is revoked: it is refused from now on"
    )
