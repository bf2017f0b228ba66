"""One row per person per inspection: the tree as it stood at the announce, and how far the
cascade has reached that person."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class CascadeNode(SQLModel, table=True):
    __tablename__ = "cascade_node"
    __table_args__ = (
        sa.UniqueConstraint("ack_code"),
        sa.Index("ix_cascade_node_parent", "inspection_id", "parent_id"),
    )

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    contact_id: str = Field(foreign_key="contact.id", primary_key=True, max_length=64)
    ack_code: int = Field(sa_type=sa.BigInteger)
    """Short random number carried in the signed acknowledgement link (keeps SMS short)."""
    level: int
    """1 = steering group; a child is one deeper than the person it reports to."""
    parent_id: str | None = Field(default=None, max_length=64)
    deputy_id: str | None = Field(default=None, max_length=64)
    window_minutes: int
    group_size: int = 0
    """How many people report to this person in the snapshot: a group of none needs no step."""
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_via: str | None = Field(default=None, max_length=32)
    children_released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    broken_reason: str | None = Field(default=None, max_length=500)
