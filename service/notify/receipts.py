"""Delivery receipts from GOV.UK Notify update our message rows. Notify retries a callback
(every 5 minutes, 5 times), so the same receipt twice must change nothing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, select

from service.cascade import flows
from service.inspections.service import Rules
from service.notify.govuk_notify import DeliveryReceipt
from service.notify.models import DELIVERED, FAILED, Message


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
    session: Session, receipt: DeliveryReceipt, *, rules: Rules, now: datetime
) -> str:
    """What the receipt did: `unknown`, `unchanged` or the new status."""
    message = find_message(session, receipt)
    if message is None:
        return "unknown"
    ours = receipt.our_status
    if message.status in (DELIVERED, FAILED) or (
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
    if ours == DELIVERED:
        message.delivered_at = receipt.completed_at or now
    elif ours == FAILED:
        message.failed_at = receipt.completed_at or now
        message.last_error = f"GOV.UK Notify: {receipt.status}"
    session.add(message)
    session.flush()
    if ours == FAILED:
        flows.message_failed(
            session, message, f"GOV.UK Notify reported {receipt.status}", rules=rules, now=now
        )
    return ours
