"""Changes that belong to no inspection (closure days, API keys) are recorded here, so every
change has a who and a when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from service.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target: str = Field(max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEvent(at=now, actor=actor, action=action, target=target, data=data or {}))
