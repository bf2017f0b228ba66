"""The API's shapes for messages and their templates: the outbox as the API lists it, the
templates in use, the council's edits and previews (field names are a contract)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from service.notify.models import Medium, Message, Purpose
from service.notify.templates.placeholders import PLACEHOLDERS
from service.notify.templates.store import Template
from service.notify.templates.validate import MAX_BODY_CHARACTERS, MAX_SUBJECT_CHARACTERS
from service.paging import CursorList
from service.request_models import RequestBody

# --- the outbox ------------------------------------------------------------------------------


class MessagePublic(BaseModel):
    id: uuid.UUID
    inspection_id: uuid.UUID | None
    contact_id: str | None
    channel: str
    provider: str | None
    to: str
    purpose: str
    subject: str
    body: str
    status: str
    provider_status: str | None
    attempts: int
    last_error: str | None
    drill: bool
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls(
            id=message.id,
            inspection_id=message.inspection_id,
            contact_id=message.contact_id,
            channel=message.medium,
            provider=message.provider,
            to=message.address,
            purpose=message.purpose,
            subject=message.subject,
            body=message.body,
            status=message.status,
            provider_status=message.provider_status,
            attempts=message.attempts,
            last_error=message.last_error,
            drill=message.drill,
            created_at=message.created_at,
            sent_at=message.sent_at,
            delivered_at=message.delivered_at,
        )


class MessagesPublic(CursorList[MessagePublic]):
    """One page of messages, newest first."""


# --- templates -------------------------------------------------------------------------------


class Placeholder(BaseModel):
    name: str
    description: str


class TemplatePublic(BaseModel):
    purpose: Purpose
    medium: Medium
    subject: str | None = Field(description="None for SMS.")
    body: str
    placeholders: list[Placeholder]
    customised: bool = Field(description="True when the council's edit is in use.")
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, template: Template) -> TemplatePublic:
        return cls(
            purpose=template.purpose,
            medium=template.medium,
            subject=template.subject if template.medium is Medium.email else None,
            body=template.body,
            placeholders=[
                Placeholder(name=name, description=description)
                for name, description in PLACEHOLDERS[template.purpose].items()
            ],
            customised=template.customised,
            updated_at=template.updated_at,
            updated_by=template.updated_by,
        )


class TemplatesPublic(CursorList[TemplatePublic]):
    pass


class _Text(RequestBody):
    """Template text keeps its white space exactly as written."""


class TemplateUpdate(_Text):
    subject: str | None = Field(
        default=None,
        max_length=MAX_SUBJECT_CHARACTERS,
        description="Required for e-mail; leave out for SMS.",
    )
    body: str = Field(max_length=MAX_BODY_CHARACTERS)


class TemplatePreviewRequest(_Text):
    contact_id: str | None = Field(
        default=None, max_length=64, description="A stored contact; else an invented person."
    )
    subject: str | None = Field(
        default=None,
        max_length=MAX_SUBJECT_CHARACTERS,
        description="Unsaved subject to preview instead of the stored one.",
    )
    body: str | None = Field(
        default=None,
        max_length=MAX_BODY_CHARACTERS,
        description="Unsaved body to preview instead of the stored one.",
    )
    drill: bool = Field(default=False, description="Show it as sent in a rehearsal.")


class TemplatePreview(BaseModel):
    subject: str | None
    body: str
    html_body: str | None
    sms_fragments: int | None
    characters: int
