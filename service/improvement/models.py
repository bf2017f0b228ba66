"""The improvement pathway's tables: one board per inspection, its meetings."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class PathwayStatus(StrEnum):
    open = "open"
    withdrawn = "withdrawn"
    """The outcome was corrected away from the grade that opened it."""


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class ImprovementBoard(SQLModel, table=True):
    """The inspection's pathway: opened once by the recorded outcome, its board's name and
    members (roles) as the framework file gave them, changed by the lead since."""

    __tablename__ = "improvement_board"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    name: str = Field(max_length=200)
    members: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    grade: str = Field(max_length=64)
    """The overall grade that opened the pathway."""
    status: str = Field(default=PathwayStatus.open.value, max_length=16)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    opened_by: str = Field(max_length=200)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class BoardMeeting(SQLModel, table=True):
    __tablename__ = "board_meeting"
    __table_args__ = (
        sa.UniqueConstraint("inspection_id", "number", name="uq_board_meeting_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="improvement_board.inspection_id", index=True)
    number: int
    """1 for the first meeting; never reused, so a task key named after it stays unique."""
    starts_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=MeetingStatus.scheduled.value, max_length=16)
    report_task_id: uuid.UUID | None = Field(default=None, foreign_key="plan_task.id")
    """The progress report due before it, when the framework asks for one."""
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
