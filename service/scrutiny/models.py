"""Committees and their meetings: the tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class CommitteeKind(StrEnum):
    scrutiny = "scrutiny"
    cabinet = "cabinet"
    board = "board"
    """An improvement or safeguarding partnership board."""
    other = "other"


class Committee(SQLModel, table=True):
    """A standing body of the council; the same committee hears every inspection's plans."""

    __tablename__ = "committee"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class CommitteeMeeting(SQLModel, table=True):
    """A meeting of a committee that takes one inspection's action plans."""

    __tablename__ = "committee_meeting"
    __table_args__ = (
        sa.UniqueConstraint(
            "committee_id", "inspection_id", "meets_on", name="uq_committee_meeting_day"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    meets_on: date
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
