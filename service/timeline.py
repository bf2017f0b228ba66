"""The inspection's timeline: who did what, when. `log` is the one way to record an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from service.db import UTCDateTime


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=64)
    summary: str = Field(max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


def log(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    actor: str,
    kind: str,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        inspection_id=inspection_id,
        at=now,
        actor=actor,
        kind=kind,
        summary=summary,
        data=data or {},
    )
    session.add(entry)
    return entry


def entries(session: Session, inspection_id: uuid.UUID) -> list[TimelineEntry]:
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.inspection_id == inspection_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    return list(session.exec(query).all())
