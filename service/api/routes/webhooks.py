"""Webhooks: subscriptions managed with an admin key; deliveries signed as Standard Webhooks
(docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service.api.deps import Admin, ReadSessionDep, SessionDep, SettingsDep, nudge
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, encode_cursor
from service.config import Settings
from service.db import utcnow
from service.webhooks import service, targets
from service.webhooks.models import DeliveryStatus, WebhookSubscription
from service.webhooks.schemas import (
    DeliveriesPublic,
    DeliveryPublic,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND = {404: service.NOT_FOUND}


def policy(settings: Settings) -> targets.Policy:
    return targets.Policy(
        allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private
    )


def public(subscription: WebhookSubscription) -> WebhookPublic:
    assert subscription.id is not None
    return WebhookPublic(
        id=subscription.id,
        url=subscription.url,
        events=list(subscription.events),
        description=subscription.description,
        enabled=subscription.enabled,
        disabled_at=subscription.disabled_at,
        disabled_reason=subscription.disabled_reason,
        created_at=subscription.created_at,
        created_by=subscription.created_by,
    )


def delivery_public(row: service.DeliveryRow) -> DeliveryPublic:
    d = row.delivery
    assert d.id is not None
    waiting = d.status in (DeliveryStatus.pending, DeliveryStatus.sending)
    return DeliveryPublic(
        id=d.id,
        event_id=d.event_id,
        type=row.type,
        status=d.status,
        attempts=d.attempts,
        last_status=d.last_status,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if waiting else None,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events; the signing secret is shown once",
    responses=error_responses(401, 403, 422),
)
def create_webhook(
    body: WebhookCreate, session: SessionDep, settings: SettingsDep, principal: Admin
) -> WebhookCreated:
    """A URL that is not https, or whose host resolves to a loopback, private or link-local
    address, is a 422 naming `url`."""
    url = targets.validate(body.url, policy(settings))  # a DNS look-up: a sync route, off the loop
    subscription = service.create(
        session,
        url=url,
        events=body.events,
        description=body.description,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    assert subscription.id is not None
    return WebhookCreated(
        id=subscription.id,
        url=subscription.url,
        events=list(subscription.events),
        secret=subscription.secret,
    )


@router.get(
    "",
    response_model=WebhooksPublic,
    summary="The webhook subscriptions, oldest first (never their secrets)",
    responses=error_responses(401, 403, 422),
)
def list_webhooks(session: ReadSessionDep, _: Admin, page: CursorPageDep) -> WebhooksPublic:
    rows, more = service.page(
        session, after=page.after[1] if page.after else None, limit=page.limit
    )
    last = rows[-1] if rows else None
    return WebhooksPublic(
        items=[public(row) for row in rows],
        next_cursor=encode_cursor(last.created_at, last.id)
        if more and last is not None and last.id is not None
        else None,
    )


@router.get(
    "/{webhook_id}",
    response_model=WebhookPublic,
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def read_webhook(webhook_id: WebhookId, session: ReadSessionDep, _: Admin) -> WebhookPublic:
    return public(service.get(session, webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookPublic,
    summary="Change the URL, events or description; `enabled: true` turns it back on",
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Admin,
) -> WebhookPublic:
    changes = body.model_dump(exclude_unset=True)
    for name in ("url", "events", "enabled"):
        if name in changes and changes[name] is None:
            changes.pop(name)
    if "url" in changes:
        changes["url"] = targets.validate(changes["url"], policy(settings))
    subscription = service.update(
        session, webhook_id, changes=changes, actor=principal.actor, now=utcnow()
    )
    commit_or_conflict(session)
    nudge(request)
    return public(subscription)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a subscription and its delivery log",
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def delete_webhook(webhook_id: WebhookId, session: SessionDep, principal: Admin) -> Response:
    service.delete(session, webhook_id, actor=principal.actor, now=utcnow())
    commit_or_conflict(session)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=SecretRotated,
    summary="Make a new signing secret (shown once); the old one stops at once",
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def rotate_secret(webhook_id: WebhookId, session: SessionDep, principal: Admin) -> SecretRotated:
    subscription = service.rotate_secret(session, webhook_id, actor=principal.actor, now=utcnow())
    commit_or_conflict(session)
    return SecretRotated(id=webhook_id, secret=subscription.secret)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveriesPublic,
    summary="The delivery log, newest first: event id, type, attempts, last status, next try",
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def list_deliveries(
    webhook_id: WebhookId, session: ReadSessionDep, _: Admin, page: CursorPageDep
) -> DeliveriesPublic:
    rows, more = service.deliveries(
        session,
        webhook_id,
        before=page.after[1] if page.after else None,
        limit=page.limit,
    )
    last = rows[-1].delivery if rows else None
    return DeliveriesPublic(
        items=[delivery_public(row) for row in rows],
        next_cursor=encode_cursor(last.created_at, last.id)
        if more and last is not None and last.id is not None
        else None,
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryPublic,
    summary="Send a delivery again, with the same `webhook-id`",
    responses=error_responses(401, 403, 422, described={404: "No such webhook or delivery"}),
)
def replay_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    request: Request,
    session: SessionDep,
    principal: Admin,
) -> DeliveryPublic:
    row = service.replay(session, webhook_id, delivery_id, actor=principal.actor, now=utcnow())
    commit_or_conflict(session)
    nudge(request)
    return delivery_public(row)


@router.post(
    "/{webhook_id}/ping",
    status_code=202,
    response_model=DeliveryPublic,
    summary="Send a `ping` event to this subscription now",
    responses=error_responses(401, 403, 422, described=NOT_FOUND),
)
def ping_webhook(
    webhook_id: WebhookId, request: Request, session: SessionDep, _: Admin
) -> DeliveryPublic:
    row = service.ping(session, webhook_id, now=utcnow())
    commit_or_conflict(session)
    nudge(request)
    return delivery_public(row)
