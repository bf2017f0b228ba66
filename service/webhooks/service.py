"""Subscriptions and the outbox: `emit` writes an event and one delivery row per subscriber in
the caller's transaction, so an event exists exactly when the change it reports was committed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service import audit_log
from service.errors import InvalidInput, NotFound
from service.webhooks import signing
from service.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

EVENT_TYPES: dict[str, str] = {
    "inspection.announced": "An inspection (or a drill) was announced",
    "inspection.milestone_recorded": "Report published, action statement published or closed",
    "inspection.judgements_recorded": "The report's judgements were recorded",
    "timetable.changed": "A day of the timetable was set on or off site",
    "cascade.progress": "Another tenth of the communication tree acknowledged",
    "cascade.completed": "Everyone in the communication tree acknowledged",
    "contact.escalated": "Someone did not acknowledge in time and was escalated",
    "task.created": "A task was added to the plan",
    "task.completed": "A task was marked done",
    "task.overdue": "A task passed its due time undone",
    "deadline.reminder": "A statutory deadline is coming up",
    "deadline.met": "A statutory deadline was met",
    "ping": "A test event sent from the API or the Webhooks page",
}
NOT_FOUND = "No such webhook"


def new_event_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _iso(now: datetime) -> str:
    return now.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body_of(type: str, data: dict[str, Any], now: datetime) -> str:
    return json.dumps(
        {"type": type, "timestamp": _iso(now), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def _add_event(
    session: Session,
    type: str,
    data: dict[str, Any],
    inspection_id: uuid.UUID | None,
    subscribers: list[int],
    now: datetime,
) -> WebhookEvent:
    event = WebhookEvent(
        id=new_event_id(),
        type=type,
        inspection_id=inspection_id,
        body=body_of(type, data, now),
        created_at=now,
    )
    session.add(event)
    session.flush()
    session.add_all(
        WebhookDelivery(
            subscription_id=subscription_id,
            event_id=event.id,
            inspection_id=inspection_id,
            next_attempt_at=now,
            created_at=now,
        )
        for subscription_id in subscribers
    )
    return event


Data = dict[str, Any] | Callable[[], dict[str, Any]]
"""The resource as the API returns it (JSON-ready), or what makes it: only called when someone
listens, so an event nobody asked for costs one small query."""


def _subscribers(session: Session, type: str) -> list[int]:
    rows = session.exec(
        select(WebhookSubscription.id, WebhookSubscription.events).where(
            col(WebhookSubscription.enabled).is_(True)
        )
    ).all()
    return [sid for sid, events in rows if sid is not None and type in (events or [])]


def listening(session: Session, *types: str) -> bool:
    """Whether any enabled subscription asked for one of `types`: work done only for a webhook
    (counting a cascade's progress) is skipped when nobody listens."""
    return any(_subscribers(session, type) for type in types)


def emit(
    session: Session,
    type: str,
    data: Data,
    inspection_id: uuid.UUID | None = None,
    *,
    now: datetime,
) -> WebhookEvent | None:
    """Queue `type` for every enabled subscription that asked for it, in the caller's
    transaction (an outbox: the event exists exactly when the change does); nothing is written
    when nobody listens."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    subscribers = _subscribers(session, type)
    if not subscribers:
        return None
    return _add_event(
        session, type, data() if callable(data) else data, inspection_id, subscribers, now
    )


def check_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            "events", f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}"
        )
    return list(dict.fromkeys(events))


def get(session: Session, subscription_id: int) -> WebhookSubscription:
    found = session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def create(
    session: Session,
    *,
    url: str,
    events: list[str],
    description: str | None,
    actor: str,
    now: datetime,
) -> WebhookSubscription:
    subscription = WebhookSubscription(
        url=url,
        events=check_events(events),
        description=description,
        secret=signing.new_secret(),
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="webhook_created",
        target=f"webhook:{subscription.id}",
        data={"url": url, "events": subscription.events},
        now=now,
    )
    return subscription


def update(
    session: Session,
    subscription_id: int,
    *,
    changes: dict[str, Any],
    actor: str,
    now: datetime,
) -> WebhookSubscription:
    """`changes` holds only the fields sent. Enabling again forgets the failures that disabled
    the subscription; its waiting deliveries go out from now."""
    subscription = get(session, subscription_id)
    if "events" in changes:
        changes["events"] = check_events(changes["events"])
    for name in ("url", "events", "description"):
        if name in changes:
            setattr(subscription, name, changes[name])
    if "enabled" in changes and changes["enabled"] != subscription.enabled:
        subscription.enabled = bool(changes["enabled"])
        subscription.failing_since = None
        if subscription.enabled:
            subscription.disabled_at = subscription.disabled_reason = None
            session.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.subscription_id == subscription_id,
                    WebhookDelivery.status == DeliveryStatus.pending,
                )
                .values(next_attempt_at=now, first_failed_at=None)
            )
        else:
            subscription.disabled_at, subscription.disabled_reason = now, f"disabled by {actor}"
    subscription.updated_at = now
    session.add(subscription)
    audit_log.record(
        session,
        actor=actor,
        action="webhook_updated",
        target=f"webhook:{subscription_id}",
        data={key: value for key, value in changes.items()},
        now=now,
    )
    return subscription


def delete(session: Session, subscription_id: int, *, actor: str, now: datetime) -> None:
    subscription = get(session, subscription_id)
    session.execute(
        sa.delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    )
    session.delete(subscription)
    audit_log.record(
        session,
        actor=actor,
        action="webhook_deleted",
        target=f"webhook:{subscription_id}",
        data={"url": subscription.url},
        now=now,
    )


def rotate_secret(
    session: Session, subscription_id: int, *, actor: str, now: datetime
) -> WebhookSubscription:
    """Deliveries from now on are signed with the new secret only."""
    subscription = get(session, subscription_id)
    subscription.secret = signing.new_secret()
    subscription.updated_at = now
    session.add(subscription)
    audit_log.record(
        session,
        actor=actor,
        action="webhook_secret_rotated",
        target=f"webhook:{subscription_id}",
        now=now,
    )
    return subscription


def page(
    session: Session, *, after: int | None, limit: int | None
) -> tuple[list[WebhookSubscription], bool]:
    query = select(WebhookSubscription).order_by(col(WebhookSubscription.id))
    if after is not None:
        query = query.where(col(WebhookSubscription.id) > after)
    if limit is not None:
        query = query.limit(limit + 1)
    rows = list(session.exec(query).all())
    more = limit is not None and len(rows) > limit
    return rows[:limit] if limit is not None else rows, more


@dataclass(frozen=True)
class DeliveryRow:
    delivery: WebhookDelivery
    type: str


def deliveries(
    session: Session,
    subscription_id: int,
    *,
    before: int | None = None,
    limit: int | None = 50,
) -> tuple[list[DeliveryRow], bool]:
    """Newest first."""
    get(session, subscription_id)
    query = (
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(col(WebhookDelivery.id).desc())
    )
    if before is not None:
        query = query.where(col(WebhookDelivery.id) < before)
    if limit is not None:
        query = query.limit(limit + 1)
    rows = [DeliveryRow(delivery, type) for delivery, type in session.exec(query).all()]
    more = limit is not None and len(rows) > limit
    return rows[:limit] if limit is not None else rows, more


def delivery_row(session: Session, subscription_id: int, delivery_id: int) -> DeliveryRow:
    found = session.exec(
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
    ).first()
    if found is None:
        raise NotFound("No such delivery of this webhook")
    return DeliveryRow(found[0], found[1])


def replay(
    session: Session, subscription_id: int, delivery_id: int, *, actor: str, now: datetime
) -> DeliveryRow:
    """Send the event again, with the same `webhook-id` (receivers see it is the same event)."""
    row = delivery_row(session, subscription_id, delivery_id)
    delivery = row.delivery
    delivery.status = DeliveryStatus.pending
    delivery.next_attempt_at = now
    delivery.claimed_until = delivery.first_failed_at = None
    session.add(delivery)
    audit_log.record(
        session,
        actor=actor,
        action="webhook_replayed",
        target=f"webhook:{subscription_id}",
        data={"delivery_id": delivery_id, "event_id": delivery.event_id},
        now=now,
    )
    return row


def ping(session: Session, subscription_id: int, *, now: datetime) -> DeliveryRow:
    """A `ping` to this subscription alone, whatever events it asked for."""
    subscription = get(session, subscription_id)
    assert subscription.id is not None
    event = _add_event(
        session,
        "ping",
        {"webhook_id": subscription.id, "url": subscription.url},
        None,
        [subscription.id],
        now,
    )
    session.flush()
    delivery = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
    ).one()
    return DeliveryRow(delivery, "ping")
