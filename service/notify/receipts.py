"""Delivery receipts from GOV.UK Notify update our message rows. Notify retries a callback
(every 5 minutes, 5 times), so the same receipt twice must change nothing.

Notify sends no receipt for a technical failure, nor for `sent` (abroad), and a callback can be
lost: a message still `sent` with no final news after NOTIFY_STATUS_POLL_MINUTES is looked up
(`overdue`, then `apply_statuses` with what `GET /v2/notifications/{id}` said), and the answer is
applied as a receipt would be. A technical failure escalates like a permanent one. The rows are
the record, so nothing is lost across a restart."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.notify.channels.notify_callbacks import DeliveryReceipt
from service.notify.models import DeliveryFailed, Message, MessageStatus, UnreadCallback

log = structlog.get_logger(__name__)


def find_message(session: Session, receipt: DeliveryReceipt) -> Message | None:
    if receipt.reference:
        try:
            found = session.get(Message, uuid.UUID(receipt.reference))
        except ValueError:
            found = None
        if found is not None:
            return found
    try:  # Notify's ids are UUIDs; anything else (NUL included) cannot be one of ours
        provider_id = str(uuid.UUID(receipt.id))
    except ValueError:
        return None
    return session.exec(select(Message).where(Message.provider_id == provider_id)).first()


def apply_receipt(
    session: Session, receipt: DeliveryReceipt, *, on_failure: DeliveryFailed, now: datetime
) -> str:
    """What the receipt did: `unknown`, `unchanged` or the new status."""
    message = find_message(session, receipt)
    if message is None:
        return "unknown"
    ours = receipt.our_status
    if message.status in (MessageStatus.delivered, MessageStatus.failed) or (
        message.provider_status == receipt.status and message.status == ours
    ):
        return "unchanged"
    message.provider_status = receipt.status
    message.provider_id = message.provider_id or receipt.id
    message.provider = message.provider or "govuk_notify"
    # A receipt can overtake our own record of the send (the sender died holding the row):
    # the message left when Notify says, so the person counts as reached.
    message.sent_at = message.sent_at or receipt.sent_at or receipt.created_at
    message.status = ours
    message.claimed_until = None
    if ours == MessageStatus.delivered:
        message.delivered_at = receipt.completed_at or now
    elif ours == MessageStatus.failed:
        message.failed_at = receipt.completed_at or now
        message.last_error = f"GOV.UK Notify: {receipt.status}"
    session.add(message)
    session.flush()
    if ours == MessageStatus.failed:
        on_failure(session, message, f"GOV.UK Notify reported {receipt.status}", now)
    return ours


UNREAD_BODY_LIMIT = 100_000
"""Characters of an unread callback kept: far beyond any real receipt, bounded all the same."""


def keep_unread(
    session: Session, *, kind: str, body: bytes, problem: str, now: datetime
) -> UnreadCallback:
    """A callback we could not read: kept as it came (less any NUL, which PostgreSQL's text cannot
    hold) and logged without its body, which may hold a phone number. The caller answers 200:
    Notify gives up on a callback answered with a 4xx, so a 4xx would lose it for good, and a
    5xx would only bring the same unreadable body back five times."""
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")[:UNREAD_BODY_LIMIT]
    unread = UnreadCallback(kind=kind, body=text, problem=problem[:1000], received_at=now)
    session.add(unread)
    session.flush()
    log.warning("notify_callback_unread", kind=kind, problem=problem[:300], id=str(unread.id))
    return unread


IN_FLIGHT = ("created", "sending", "pending")
NOTIFY = "govuk_notify"
NOT_FOUND = "not-found"


def overdue(
    engine: Engine, *, now: datetime, after: timedelta, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """(message id, Notify's id) of messages accepted by Notify, still without a final status,
    last heard of (sent or looked up) more than `after` ago: oldest first."""
    heard = sa.func.coalesce(Message.status_checked_at, Message.sent_at)
    with Session(engine) as session:
        rows = session.execute(
            sa.select(Message.id, Message.provider_id)  # type: ignore[call-overload]
            .where(
                Message.status == MessageStatus.sent,
                Message.provider == NOTIFY,
                col(Message.provider_id).is_not(None),
                sa.or_(
                    col(Message.provider_status).is_(None),
                    col(Message.provider_status).in_(IN_FLIGHT),
                ),
                heard <= now - after,
            )
            .order_by(heard)
            .limit(limit)
        ).all()
    return [(row[0], row[1]) for row in rows]


def apply_statuses(
    engine: Engine,
    found: list[tuple[uuid.UUID, dict[str, Any] | None]],
    *,
    on_failure: DeliveryFailed,
    now: datetime,
) -> dict[str, int]:
    """Apply what Notify said of each message (None: it has no record of it, so the message
    never went: failed, and the cascade finds another way). Returns a count per outcome."""
    outcomes: dict[str, int] = {}
    with Session(engine) as session:
        for message_id, api in found:
            message = session.get(Message, message_id)
            if message is None or message.status != MessageStatus.sent:
                continue
            message.status_checked_at = now
            session.add(message)
            if api is None:
                outcome = _not_found(session, message, on_failure=on_failure, now=now)
            else:
                try:
                    receipt = DeliveryReceipt.from_notification(api)
                except ValueError as exc:
                    log.warning("status_unreadable", message_id=str(message_id), error=str(exc))
                    continue
                with session.begin_nested():
                    outcome = apply_receipt(session, receipt, on_failure=on_failure, now=now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        session.commit()
    if outcomes:
        log.info("statuses_looked_up", **outcomes)
    return outcomes


def _not_found(
    session: Session, message: Message, *, on_failure: DeliveryFailed, now: datetime
) -> str:
    message.status = MessageStatus.failed
    message.provider_status = NOT_FOUND
    message.failed_at = now
    message.last_error = "GOV.UK Notify has no record of this message"
    session.add(message)
    session.flush()
    on_failure(session, message, "GOV.UK Notify has no record of the message", now)
    return MessageStatus.failed
