"""The embedded default's first start: an admin API key, printed once, so the service is usable
out of the box without a separate set-up step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service import api_keys, audit

ADMIN_KEY_NAME = "admin"


def create_admin_key_once(engine: Engine, *, now: datetime) -> str | None:
    """The raw key when this start created it; None when any API key already exists."""
    with Session(engine, expire_on_commit=False) as session:
        if session.exec(select(api_keys.ApiKey.id)).first() is not None:
            return None
        _, raw = api_keys.create(session, name=ADMIN_KEY_NAME, scopes=["admin"], now=now)
        audit.record(
            session, actor="first-start", action="api_key_created", target=ADMIN_KEY_NAME, now=now
        )
        try:
            session.commit()
        except IntegrityError:  # another process made it first
            return None
    return raw
