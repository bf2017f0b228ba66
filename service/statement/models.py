"""The written statement of action: the table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class Stage(StrEnum):
    draft = "draft"
    approved = "approved"
    published = "published"


class ActionStatement(SQLModel, table=True):
    __tablename__ = "action_statement"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    stage: str = Field(max_length=16)
    title: str = Field(max_length=200)
    draft_url: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, sa_type=sa.Text)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_on: date | None = None
    approved_at_meeting: str | None = Field(default=None, max_length=200)
    published_on: date | None = None
    published_url: str | None = Field(default=None, max_length=2000)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
