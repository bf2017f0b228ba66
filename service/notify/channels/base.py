"""What every channel (outbox, SMTP, GOV.UK Notify) offers the dispatcher.

Channels raise their own errors split into retryable and permanent; the dispatcher decides on that
split alone (the habit of GOV.UK Notify's own delivery code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from service.notify.models import Medium


@dataclass(frozen=True)
class OutgoingMessage:
    """One message, already rendered. `id` is our outbox row id: it travels to the provider as its
    reference (Notify's `reference`, the e-mail's Message-ID), so a retry after a crash is
    recognisable."""

    id: str
    medium: Medium
    to: str
    """An e-mail address, or a mobile number in E.164 (+447700900123)."""
    subject: str
    body: str
    html_body: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; `provider_id` is its id for it, if it gives one."""

    provider_id: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


class ChannelError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RetryableError(ChannelError):
    """Try again later: rate limits, 5xx, timeouts, a refused connection. `retry_after` is the
    provider's own hint in seconds, when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(RetryableError):
    """The provider as a whole did not serve the request: the connection was refused or dropped,
    no answer came in time, it answered 5xx, or its per-minute rate limit (429) was met. Every
    message through it fails alike until it recovers, so this is no failure of the message: the
    dispatcher holds the provider and spends no attempt of the message's budget on it."""


class PermanentError(ChannelError):
    """This message will never go this way (an invalid number, a rejected address): escalate."""


class DailyLimitError(ChannelError):
    """The provider's daily limit is spent (Notify's TooManyRequestsError): stop using this channel
    until tomorrow, fall back to the other one and tell the lead."""


class Channel(Protocol):
    name: str
    media: frozenset[Medium]

    async def send(self, message: OutgoingMessage) -> Accepted:
        """Hand one message to the provider, or raise one of the errors above."""
        ...

    async def aclose(self) -> None: ...
