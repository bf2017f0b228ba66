"""The API's shapes for webhooks (field names are a contract)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from service.request_models import RequestBody

URL_EXAMPLE = "https://intranet.example.org/hooks/inspection-week"
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENTS_FIELD = PydanticField(
    min_length=1,
    max_length=20,
    description="Event types to receive (see docs/webhooks.md); `ping` always arrives when asked",
)


class WebhookCreate(RequestBody):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": URL_EXAMPLE,
                    "events": ["inspection.announced", "cascade.completed"],
                    "description": "Intranet banner",
                }
            ]
        },
    )

    url: str = PydanticField(min_length=8, max_length=2000, description="https only")
    events: list[str] = EVENTS_FIELD
    description: str | None = PydanticField(default=None, max_length=500)


class WebhookUpdate(RequestBody):
    """Only the fields sent change; `enabled: true` turns a disabled subscription back on."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        extra="forbid",
        json_schema_extra={"examples": [{"events": ["task.overdue"]}, {"enabled": True}]},
    )

    url: str | None = PydanticField(default=None, min_length=8, max_length=2000)
    events: list[str] | None = PydanticField(default=None, min_length=1, max_length=20)
    description: str | None = PydanticField(default=None, max_length=500)
    enabled: bool | None = None


class WebhookCreated(BaseModel):
    """The secret signs every delivery; it is shown here once and never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "url": URL_EXAMPLE,
                    "events": ["inspection.announced", "cascade.completed"],
                    "secret": SECRET_EXAMPLE,
                }
            ]
        }
    )

    id: int
    url: str
    events: list[str]
    secret: str


class SecretRotated(BaseModel):
    """The new secret, shown once; deliveries from now on are signed with it alone."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 1, "secret": SECRET_EXAMPLE}]})

    id: int
    secret: str


class WebhookPublic(BaseModel):
    """A subscription as listed: never its secret."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "url": URL_EXAMPLE,
                    "events": ["inspection.announced", "cascade.completed"],
                    "description": "Intranet banner",
                    "enabled": True,
                    "disabled_at": None,
                    "disabled_reason": None,
                    "created_at": "2026-03-03T09:12:00Z",
                    "created_by": "api-key:intranet",
                }
            ]
        }
    )

    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    created_by: str


class WebhooksPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [WebhookPublic.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[WebhookPublic]
    """Oldest first."""
    next_cursor: str | None = PydanticField(
        description="Pass as `cursor` for the webhooks after these; null when there are no more"
    )


DELIVERY_EXAMPLE = {
    "id": 42,
    "event_id": "msg_5f0c2b8e9a7d4c1e8b3f6a2d9e0c1b7a",
    "type": "inspection.announced",
    "status": "pending",
    "attempts": 2,
    "last_status": 503,
    "last_error": "HTTP 503: Service Unavailable",
    "next_attempt_at": "2026-03-03T09:12:20Z",
    "delivered_at": None,
    "created_at": "2026-03-03T09:12:00Z",
}


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DELIVERY_EXAMPLE]})

    id: int
    event_id: str = PydanticField(description="The `webhook-id` header: the same on every retry")
    type: str
    status: str = PydanticField(description="pending, sending, succeeded or failed")
    attempts: int
    last_status: int | None = PydanticField(
        description="The receiver's HTTP status last time; null for no answer"
    )
    last_error: str | None
    next_attempt_at: datetime | None = PydanticField(
        description="When it is tried next; null once succeeded or failed"
    )
    delivered_at: datetime | None
    created_at: datetime


class DeliveriesPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [DELIVERY_EXAMPLE], "next_cursor": None}]}
    )

    items: list[DeliveryPublic]
    """Newest first."""
    next_cursor: str | None = PydanticField(
        description="Pass as `cursor` for older deliveries; null when there are no more"
    )
