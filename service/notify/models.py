"""The transactional outbox: every message is a row, written in the same transaction as the
change that caused it, before anything is sent; and the council's edited templates."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from service.db import UTCDateTime


class Medium(StrEnum):
    email = "email"
    sms = "sms"


class Purpose(StrEnum):
    """Why a message is sent; one message per person per purpose (and per subject of it)."""

    announcement = "announcement"
    escalation = "escalation"
    reminder = "reminder"
    drill = "drill"
    task_reminder = "task_reminder"
    task_overdue = "task_overdue"
    task_digest = "task_digest"
    reply_help = "reply_help"
    """The one answer to a text reply that did not acknowledge: how to acknowledge."""


class MessageStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


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
    status: str = Field(default=MessageStatus.queued, max_length=24)
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
    status_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When Notify was last asked for the status of this message (no receipt had come)."""


class MessageTemplate(SQLModel, table=True):
    """A council's edit of a shipped template; absent means the shipped default is used."""

    __tablename__ = "message_template"

    purpose: str = Field(primary_key=True, max_length=32)
    medium: str = Field(primary_key=True, max_length=8)
    subject: str = Field(default="", max_length=500)
    body: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)


class MediumPause(SQLModel, table=True):
    """A medium no message may be sent on until `paused_until`: the provider's daily limit is
    spent. A row in the database, so every replica and the dashboard see the same pause."""

    __tablename__ = "medium_pause"

    medium: str = Field(primary_key=True, max_length=8)
    paused_until: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=500)
    since: datetime = Field(sa_type=UTCDateTime)


class UnreadCallback(SQLModel, table=True):
    """A callback from Notify that could not be read, kept as it came: answering 4xx would lose
    it for good (Notify retries only after a 5xx or 429), so it is answered 200 and kept here."""

    __tablename__ = "notify_unread_callback"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32)
    """`receipt` or `inbound_sms`."""
    body: str = Field(sa_type=sa.Text)
    problem: str = Field(max_length=1000)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


DeliveryFailed = Callable[[Session, Message, str, datetime], None]
"""What the rest of the service does when a message can never be delivered (the cascade
escalates): run in the transaction that records the failure, wired in main.py, so that notify
knows no domain."""

MediumPaused = Callable[[Session, Medium, datetime], None]
"""What the rest of the service does when a medium is paused (the cascade reaches the people
waiting on it by their other medium): run in the transaction that records the pause, and again in
each later one that puts more of the medium's messages back to wait (they were in flight when the
limit was met), so it must reach each person once however often it runs."""
