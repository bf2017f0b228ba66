"""The contact table (its request and public shapes are in schemas.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime

DEFAULT_ACK_WINDOW_MINUTES = 15
"""DESIGN.md: a node's children are notified when it acknowledges or when this window closes."""


class Contact(SQLModel, table=True):
    """A person in the tree. `reports_to` empty means the steering group (level 1).
    `ack_window_minutes` None means the default window; 0 means cascade immediately."""

    __tablename__ = "contact"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    role: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    mobile: str | None = Field(default=None, max_length=20, index=True)
    """E.164, e.g. +447700900123."""
    reports_to: str | None = Field(
        default=None, foreign_key="contact.id", max_length=64, index=True
    )
    deputy: str | None = Field(default=None, foreign_key="contact.id", max_length=64)
    groups: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    channels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    """Ordered by preference, from `email`, `sms`."""
    ack_window_minutes: int | None = None
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
