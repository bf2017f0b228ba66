"""Subscriptions, events and one delivery row per (subscription, event): every delivery is a row
before anything is sent, so a restart or a receiver that is down loses nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class DeliveryStatus(StrEnum):
    pending = "pending"
    """Waiting for its time (new, or backing off after a failure)."""
    sending = "sending"
    """Claimed by a worker until `claimed_until`."""
    succeeded = "succeeded"
    failed = "failed"
    """Given up: the subscription failed for 24 hours and was disabled."""


class WebhookSubscription(SQLModel, table=True):
    """The secret is kept as given out, like the service's own secrets (service/secrets.py):
    signing needs it, so a hash would not do."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    description: str | None = Field(default=None, max_length=500)
    secret: str = Field(max_length=200)
    enabled: bool = True
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """The first failure since the last success: 24 hours of failing disables the subscription."""
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    """One event, whoever receives it; `body` is the exact JSON sent (it is signed, so every
    retry and every replay carries the same bytes)."""

    __tablename__ = "webhook_event"

    id: str = Field(primary_key=True, max_length=64)
    """The `webhook-id` header: `msg_` and a random UUID's hex."""
    type: str = Field(max_length=64, index=True)
    inspection_id: uuid.UUID | None = Field(default=None, index=True)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_webhook_delivery_queue", "status", "subscription_id", "inspection_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    event_id: str = Field(foreign_key="webhook_event.id", max_length=64)
    inspection_id: uuid.UUID | None = None
    """Copied from the event: one inspection's events reach a subscription in order."""
    status: str = Field(default=DeliveryStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    """The receiver's HTTP status of the last attempt; None for a timeout or refused connection."""
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
