"""The contact table and its public shapes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
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


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactCreate(_Input):
    """A new contact. Blank `channels` means every channel the person has an address for."""

    id: str = PydanticField(min_length=1, max_length=64)
    name: str = PydanticField(min_length=1, max_length=200)
    role: str | None = PydanticField(default=None, max_length=200)
    email: str | None = PydanticField(default=None, max_length=320)
    mobile: str | None = PydanticField(default=None, max_length=40)
    reports_to: str | None = PydanticField(default=None, max_length=64)
    deputy: str | None = PydanticField(default=None, max_length=64)
    groups: list[str] = PydanticField(default_factory=list, max_length=50)
    channels: list[str] = PydanticField(default_factory=list, max_length=2)
    ack_window_minutes: int | None = PydanticField(default=None, ge=0, le=1440)


class ContactUpdate(_Input):
    """Only the fields sent change; `null` clears an optional field. `active: true` brings a
    deactivated contact back (its tree links are checked again); `false` deactivates."""

    name: str | None = PydanticField(default=None, min_length=1, max_length=200)
    role: str | None = PydanticField(default=None, max_length=200)
    email: str | None = PydanticField(default=None, max_length=320)
    mobile: str | None = PydanticField(default=None, max_length=40)
    reports_to: str | None = PydanticField(default=None, max_length=64)
    deputy: str | None = PydanticField(default=None, max_length=64)
    groups: list[str] | None = PydanticField(default=None, max_length=50)
    channels: list[str] | None = PydanticField(default=None, max_length=2)
    ack_window_minutes: int | None = PydanticField(default=None, ge=0, le=1440)
    active: bool | None = None


class ContactPublic(BaseModel):
    """A contact as the API shows it: mobile in E.164, channels in order of preference."""

    id: str
    name: str
    role: str | None
    email: str | None
    mobile: str | None
    reports_to: str | None
    deputy: str | None
    groups: list[str]
    channels: list[str]
    ack_window_minutes: int | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> ContactPublic:
        return cls(
            id=contact.id,
            name=contact.name,
            role=contact.role,
            email=contact.email,
            mobile=contact.mobile,
            reports_to=contact.reports_to,
            deputy=contact.deputy,
            groups=list(contact.groups or []),
            channels=list(contact.channels or []),
            ack_window_minutes=contact.ack_window_minutes,
            active=contact.active,
            created_at=contact.created_at,
            updated_at=contact.updated_at,
        )
