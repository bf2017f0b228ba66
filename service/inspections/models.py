"""Inspections: the tables, the announce request and the public shape the intranet relies on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime
from service.frameworks import Milestone
from service.request_models import RequestBody


class Inspection(SQLModel, table=True):
    __tablename__ = "inspection"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    framework: str = Field(max_length=64)
    drill: bool = False
    notified_at: datetime = Field(sa_type=UTCDateTime)
    lead_inspector: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, sa_type=sa.Text)
    live_slot: int | None = Field(default=None, unique=True)
    """1 while a real inspection is live, NULL otherwise: the database itself refuses a second."""
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(max_length=200)


class TimetableOverride(SQLModel, table=True):
    __tablename__ = "timetable_override"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    day: date = Field(primary_key=True)
    on_site: bool
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class MilestoneRecord(SQLModel, table=True):
    __tablename__ = "milestone"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=64)
    day: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


EARLIEST_NOTIFICATION = datetime(2000, 1, 1, tzinfo=UTC)
"""An earlier call is a typo; near year 1 the date arithmetic would also overflow."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Request(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class AnnounceRequest(_Request):
    framework: str = PydanticField(default="sif-2013", min_length=1, max_length=64)
    notified_at: AwareDatetime
    lead_inspector: str | None = PydanticField(default=None, max_length=200)
    drill: bool = False
    notes: str | None = PydanticField(default=None, max_length=10_000)

    @field_validator("notified_at", mode="before")
    @classmethod
    def _not_a_number(cls, value: Any) -> Any:
        # Pydantic would read a number (or a string of one) as Unix time; the contract is
        # ISO 8601 with an offset.
        if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
            raise ValueError("must be an ISO 8601 date and time with an offset, not a number")
        return value

    @field_validator("notified_at")
    @classmethod
    def _not_before_earliest(cls, value: datetime) -> datetime:
        if value < EARLIEST_NOTIFICATION:
            raise ValueError(f"must be on or after {EARLIEST_NOTIFICATION.isoformat()}")
        return value


class OverrideRequest(_Request):
    date: date
    on_site: bool


class MilestoneRequest(_Request):
    key: Milestone
    date: date


class PhasePublic(BaseModel):
    key: str
    label: str
    on_site: bool
    start: date
    end: date
    days: list[date]


class DeadlinePublic(BaseModel):
    key: str
    label: str
    due: date
    working_days: int
    counted_from: str
    from_date: date
    met_on: date | None


class OverridePublic(BaseModel):
    date: date
    on_site: bool


class InspectionPublic(BaseModel):
    id: uuid.UUID
    framework: str
    status: Literal[
        "announced",
        "in_progress",
        "awaiting_report",
        "awaiting_action_statement",
        "action_statement_published",
        "closed",
    ]
    drill: bool
    notified_at: datetime
    lead_inspector: str | None
    notes: str | None
    on_site_start: date
    inspection_end: date
    on_site_days: int
    warnings: list[str]
    phases: list[PhasePublic]
    deadlines: list[DeadlinePublic]
    overrides: list[OverridePublic]
    milestones: dict[str, date]
    created_at: datetime


class TimelineEntryPublic(BaseModel):
    at: datetime
    actor: str
    kind: str
    summary: str
    data: dict[str, object]
