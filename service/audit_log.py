"""Changes that belong to no inspection (closure days, API keys) are recorded here, so every
change has a who and a when; `page` reads them back, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

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


def actions(session: Session) -> list[str]:
    """The actions recorded so far, for a filter's choices."""
    return sorted(session.exec(select(AuditEvent.action).distinct()).all())


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    """Events of the action asked for (or all), on every page."""


def page(
    session: Session, *, action: str | None = None, offset: int = 0, limit: int = 50
) -> AuditPage:
    """Newest first; only `action`'s events when given."""
    query = select(AuditEvent)
    counting = select(sa.func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
        counting = counting.where(AuditEvent.action == action)
    events = session.exec(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return AuditPage(events=list(events), total=session.exec(counting).one())
