"""The callbacks GOV.UK Notify makes to us: a delivery receipt and a received text, as Notify
documents and sends them (notifications-tech-docs, Callbacks), the status map from Notify's
notification statuses to ours, and the bearer-token check of each callback. Sending to Notify is
`govuk_notify.py`."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.notify.models import MessageStatus

NotifyStatus = Literal[
    "created",
    "sending",
    "pending",
    "sent",
    "delivered",
    "permanent-failure",
    "temporary-failure",
    "technical-failure",
]

_STATUS_MAP: dict[str, str] = {
    "created": MessageStatus.sent,
    "sending": MessageStatus.sent,
    "pending": MessageStatus.sent,
    "sent": MessageStatus.sent,  # sent abroad: the network gives no more news
    "delivered": MessageStatus.delivered,
    "permanent-failure": MessageStatus.failed,
    "temporary-failure": MessageStatus.failed,
    "technical-failure": MessageStatus.failed,
}
FINAL_STATUSES = frozenset(
    {"sent", "delivered", "permanent-failure", "temporary-failure", "technical-failure"}
)
"""After these Notify sends no further receipt for the notification."""


def map_notify_status(status: str) -> str:
    """Notify's notification status → our message status (service/notify/models.py): created,
    sending, pending → sent (accepted, in flight); sent (abroad, no receipt to come) → sent;
    delivered → delivered; permanent-, temporary-, technical-failure → failed."""
    try:
        return _STATUS_MAP[status]
    except KeyError:
        raise ValueError(f"unknown GOV.UK Notify status {status!r}") from None


def _as_utc(value: datetime | None) -> datetime | None:
    """Notify's times are UTC: its callback docs give `2017-05-14T12:15:30.000000Z` for every
    time and call `date_received` "the UTC datetime" (notifications-tech-docs, Callbacks), and
    notifications-api writes them with a literal Z from naive UTC. So one without an offset is
    taken as UTC, never left naive to break a comparison later; one with an offset is converted
    here, where a time that leaves the calendar (year 1 at +01:00) is a field error, not a 500
    when it is stored."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is outside the calendar once converted to UTC") from exc


class DeliveryReceipt(BaseModel):
    """The body of Notify's delivery-status callback (POSTed with our bearer token; Notify retries a
    failed callback every 5 minutes, 5 times, so handling one twice must be harmless)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    reference: str | None = None
    to: str = Field(repr=False)
    status: NotifyStatus
    created_at: datetime
    completed_at: datetime | None = None
    sent_at: datetime | None = None
    notification_type: Literal["email", "sms", "letter"]
    template_id: str | None = None
    template_version: int | None = None

    @field_validator("created_at", "completed_at", "sent_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @classmethod
    def from_notification(cls, api: dict[str, Any]) -> DeliveryReceipt:
        """The receipt that `GET /v2/notifications/{id}` amounts to (the fields Notify's
        `send_delivery_status_to_service` builds from the same record)."""
        template = api.get("template") if isinstance(api.get("template"), dict) else {}
        return cls.model_validate(
            {
                "id": api.get("id"),
                "reference": api.get("reference"),
                "to": api.get("email_address") or api.get("phone_number") or "",
                "status": api.get("status"),
                "created_at": api.get("created_at"),
                "completed_at": api.get("completed_at"),
                "sent_at": api.get("sent_at"),
                "notification_type": api.get("type"),
                "template_id": template.get("id"),
                "template_version": template.get("version"),
            }
        )

    @property
    def our_status(self) -> str:
        return map_notify_status(self.status)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def worth_resending(self) -> bool:
        """Notify's advice: a temporary failure (phone off, inbox full) or a technical failure
        may go through later; a permanent failure (no such number or address) will not."""
        return self.status in ("temporary-failure", "technical-failure")


class InboundSms(BaseModel):
    """The body of Notify's received-text-message callback."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    source_number: str = Field(repr=False)
    destination_number: str
    message: str = Field(repr=False)
    date_received: datetime

    @field_validator("date_received")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value) or value

    @field_validator("source_number", "destination_number")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def source_e164(self) -> str:
        """The sender in E.164, as our contacts store it: Notify sends UK numbers as
        '447700900123' (sometimes '07700900123')."""
        digits = re.sub(r"[^\d]", "", self.source_number)
        if self.source_number.startswith("+"):
            return f"+{digits}"
        if digits.startswith("00"):
            return f"+{digits[2:]}"
        if digits.startswith("0"):
            return f"+44{digits[1:]}"
        return f"+{digits}"


def callback_token_matches(authorization: str | None, expected: str) -> bool:
    """Whether a callback's `Authorization: Bearer <token>` carries the token we gave Notify
    (compared in constant time)."""
    if not authorization or not expected:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())
