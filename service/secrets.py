"""Secrets the service makes for itself (the key that signs acknowledgement links), kept in the
database so that every replica shares them and a restart keeps links valid."""

from __future__ import annotations

import secrets as random_secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from service.db import READ_ONLY_OPTION, UTCDateTime


class AppSecret(SQLModel, table=True):
    __tablename__ = "app_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


def get_or_create(session: Session, name: str, *, now: datetime) -> str:
    found = session.get(AppSecret, name)
    if found is not None:
        return found.value
    bind = session.get_bind()
    if bind.get_execution_options().get(READ_ONLY_OPTION):
        # A reader (an acknowledgement page) cannot write: on SQLite its deferred transaction
        # may not upgrade while another writer runs ("database is locked"). Make it in a short
        # write of its own, which queues on the busy timeout like every other writer.
        with Session(bind.execution_options(**{READ_ONLY_OPTION: False})) as writer:
            value = get_or_create(writer, name, now=now)
            writer.commit()
        return value
    value = random_secrets.token_urlsafe(32)
    try:
        with session.begin_nested():
            session.add(AppSecret(name=name, value=value, created_at=now))
    except IntegrityError:  # another replica made it first
        found = session.get(AppSecret, name)
        assert found is not None
        return found.value
    return value
