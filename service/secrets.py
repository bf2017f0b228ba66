"""Secrets the service makes for itself (the key that signs acknowledgement links), kept in the
database so that every replica shares them and a restart keeps links valid."""

from __future__ import annotations

import secrets as random_secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from service.db import UTCDateTime


class AppSecret(SQLModel, table=True):
    __tablename__ = "app_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


def get_or_create(session: Session, name: str, *, now: datetime) -> str:
    found = session.get(AppSecret, name)
    if found is not None:
        return found.value
    value = random_secrets.token_urlsafe(32)
    try:
        with session.begin_nested():
            session.add(AppSecret(name=name, value=value, created_at=now))
    except IntegrityError:  # another replica made it first
        found = session.get(AppSecret, name)
        assert found is not None
        return found.value
    return value
