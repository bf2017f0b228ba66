"""The key that signs the pages' cookies (CSRF, flash messages): made once, kept in the
database (service.secrets) so that every replica and every restart uses the same one."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from service import secrets
from service.db import utcnow

SECRET_NAME = "page_signing_key"


def page_secret(request: Request) -> str:
    """Once a process, in a short write of its own: rendering needs it in exception handlers
    too, where no request dependency runs."""
    cached = getattr(request.app.state, "page_secret", None)
    if cached is not None:
        return cached
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        value = secrets.get_or_create(session, SECRET_NAME, now=utcnow())
        session.commit()
    request.app.state.page_secret = value
    return value
