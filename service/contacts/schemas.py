"""The API's shapes for contacts: what a request may send, and a contact as the API shows it
(field names are a contract with the council's intranet)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from service.contacts.models import Contact
from service.paging import CursorList


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


class ContactsPublic(CursorList[ContactPublic]):
    """One page of contacts by name, then id."""
