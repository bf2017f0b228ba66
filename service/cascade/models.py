"""One row per person per inspection: the tree as it stood at the announce, and how far the
cascade has reached that person."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class NodeStatus(StrEnum):
    """How far the cascade has reached one person (`progress.node_status` says which)."""

    waiting = "waiting"
    notified = "notified"
    acknowledged = "acknowledged"
    broken = "broken"


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


class SmsReply(SQLModel, table=True):
    """A text someone sent back while the cascade waited for them (Notify's inbound-SMS
    callback), kept whether it acknowledged or not: "on leave till Monday" is for the lead to
    read, and the escalation goes on."""

    __tablename__ = "sms_reply"
    __table_args__ = (sa.UniqueConstraint("notify_id", "inspection_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    notify_id: str = Field(max_length=64)
    """Notify's id for the received text: its retried callback changes nothing."""
    inspection_id: uuid.UUID | None = Field(default=None, foreign_key="inspection.id", index=True)
    contact_id: str | None = Field(default=None, max_length=64)
    text: str = Field(max_length=1000)
    acknowledged: bool = False
    received_at: datetime = Field(sa_type=UTCDateTime)
