"""Judgements: the table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class JudgementRecord(SQLModel, table=True):
    """One graded judgement of an inspection's report; the key `overall` holds the report's own
    overall grade where the framework records it."""

    __tablename__ = "judgement"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    grade: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)
