"""The transactional outbox: every message is a row, written in the same transaction as the
change that caused it, before anything is sent; and the council's edited templates."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime

QUEUED, SENDING, SENT, DELIVERED, FAILED, CANCELLED = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "cancelled",
)


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (sa.Index("ix_message_due", "status", "priority", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    inspection_id: uuid.UUID | None = Field(default=None, foreign_key="inspection.id", index=True)
    contact_id: str | None = Field(
        default=None, foreign_key="contact.id", max_length=64, index=True
    )
    medium: str = Field(max_length=8)
    """`email` or `sms` (the `channel` of the outbox API)."""
    provider: str | None = Field(default=None, max_length=32)
    address: str = Field(max_length=320)
    purpose: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=255, unique=True)
    """One message per person per purpose: a second write with the same key is refused."""
    priority: int = 0
    """Lower goes first: the tree level, so the steering group never queues behind all staff."""
    subject: str = Field(max_length=500)
    body: str = Field(sa_type=sa.Text)
    html_body: str | None = Field(default=None, sa_type=sa.Text)
    drill: bool = False
    status: str = Field(default=QUEUED, max_length=24)
    provider_status: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MessageTemplate(SQLModel, table=True):
    """A council's edit of a shipped template; absent means the shipped default is used."""

    __tablename__ = "message_template"

    purpose: str = Field(primary_key=True, max_length=32)
    medium: str = Field(primary_key=True, max_length=8)
    subject: str = Field(default="", max_length=500)
    body: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
