"""Inspections: the tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


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
