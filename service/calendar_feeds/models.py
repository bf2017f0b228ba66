"""The feeds and what each event last looked like when it was published."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class CalendarFeed(SQLModel, table=True):
    """A subscription URL. Only a hash of its secret is kept, as for API keys; `token_lookup`
    (the token's first characters) finds the row so the hash is compared in constant time."""

    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=64)
    """A person's feed (their tasks and the on-site days); None for the whole inspection."""
    token_lookup: str = Field(max_length=16, unique=True)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)


class PublishedEvent(SQLModel, table=True):
    """An event as last published, per inspection (a task in the inspection's feed and in its
    owner's feed is one event): a different fingerprint moves SEQUENCE on."""

    __tablename__ = "calendar_event"

    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", primary_key=True)
    uid: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    sequence: int = 0
    changed_at: datetime = Field(sa_type=UTCDateTime)
