"""The embedded default channel: nothing leaves the machine.

The message row the dispatcher already holds is the record (and the outbox page shows it), so
"sending" here only says yes. It lets the service run out of the box, and drills run without
messaging anyone."""

from __future__ import annotations

import structlog

from service.notify.channels.base import Accepted, Medium, OutgoingMessage
from service.notify.masking import mask_email, mask_phone

log = structlog.get_logger(__name__)


class OutboxChannel:
    name = "outbox"
    media: frozenset[Medium] = frozenset({Medium.email, Medium.sms})

    async def send(self, message: OutgoingMessage) -> Accepted:
        masked = (
            mask_email(message.to) if message.medium == Medium.email else mask_phone(message.to)
        )
        log.debug("outbox.kept", message_id=message.id, medium=str(message.medium), to=masked)
        return Accepted(provider_id=None)

    async def aclose(self) -> None:
        return None
