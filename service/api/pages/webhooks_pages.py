"""The Webhooks page, for admins: the intranet's subscriptions, each one's delivery log, and
buttons to send a ping, replay a delivery, rotate the secret and turn a disabled subscription
back on. A secret is shown once, on the page that made it, as the API shows it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import require_permission
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import done, sentence
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission
from service.webhooks import service as webhooks
from service.webhooks import targets

router = page_router(tags=["webhooks pages"])

WebhookManager = Annotated[User, Depends(require_permission(Permission.manage_webhooks))]
NO_WEBHOOK = "There is no such webhook."
LISTED = 500
DELIVERIES_SHOWN = 100


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 19 else 0


def _list(
    request: Request,
    session: Session,
    *,
    form: PageForm | None = None,
    made: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows, more = webhooks.page(session, after=None, limit=LISTED)
    chosen = set((form.values.get("events") or "").split()) if form else set()
    return render(
        request,
        "webhooks.html",
        {
            "webhooks": rows,
            "more": more,
            "form": form or PageForm(),
            "made": made,
            "event_items": [
                {"value": key, "text": key, "hint": {"text": text}, "checked": key in chosen}
                for key, text in webhooks.EVENT_TYPES.items()
            ],
        },
        status_code=status_code,
    )


@router.get("/webhooks")
def webhooks_page(request: Request, _: WebhookManager, session: ReadSessionDep) -> Response:
    return _list(request, session)


@router.post("/webhooks")
def create_webhook(
    request: Request,
    user: WebhookManager,
    session: SessionDep,
    reading: ReadSessionDep,
    url: Annotated[str, Form(max_length=2000)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Answers with the page itself (not a redirect), the only place the secret is shown."""
    settings = request.app.state.settings
    policy = targets.Policy(
        allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private
    )
    form = PageForm(
        values={"url": url, "description": description, "events": " ".join(events or [])}
    )
    try:
        if not url.strip():
            raise InvalidInput("url", "enter the address to send events to")
        if "\x00" in url or "\x00" in description or any("\x00" in e for e in events or []):
            raise InvalidInput("url" if "\x00" in url else "description", "must not contain NUL")
        if not events:
            raise InvalidInput("events", "choose at least one event")
        subscription = webhooks.create(
            session,
            url=targets.validate(url.strip(), policy),
            events=events,
            description=description.strip() or None,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        commit_or_conflict(session)
    except InvalidInput as exc:
        session.rollback()
        form.errors[exc.field] = sentence(exc.message)
        form.ids = {"events": "events"}
        return _list(request, reading, form=form, status_code=422)
    made = {"id": str(subscription.id), "secret": subscription.secret, "url": subscription.url}
    reading.rollback()  # a new snapshot, which holds the subscription just made
    return _list(request, reading, made=made, status_code=201)


def _detail(
    request: Request,
    session: Session,
    webhook_id: int,
    *,
    secret: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        subscription = webhooks.get(session, webhook_id)
        rows, more = webhooks.deliveries(session, webhook_id, limit=DELIVERIES_SHOWN)
    except NotFound:
        return not_found(request, NO_WEBHOOK)
    return render(
        request,
        "webhook.html",
        {"webhook": subscription, "deliveries": rows, "more": more, "secret": secret},
        status_code=status_code,
    )


@router.get("/webhooks/{webhook_id}")
def webhook_page(
    request: Request, webhook_id: str, _: WebhookManager, session: ReadSessionDep
) -> Response:
    return _detail(request, session, _number(webhook_id))


@router.post("/webhooks/{webhook_id}/ping")
def ping(request: Request, webhook_id: str, _: WebhookManager, session: SessionDep) -> Response:
    number = _number(webhook_id)
    try:
        webhooks.ping(session, number, now=utcnow())
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, NO_WEBHOOK)
    request.app.state.webhooks.wake()
    return done(
        request, f"/webhooks/{number}", "A ping is on its way; its delivery is listed below"
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
def replay(
    request: Request, webhook_id: str, delivery_id: str, user: WebhookManager, session: SessionDep
) -> Response:
    number = _number(webhook_id)
    try:
        webhooks.replay(
            session, number, _number(delivery_id), actor=users.actor_for(user), now=utcnow()
        )
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, "There is no such delivery of this webhook.")
    request.app.state.webhooks.wake()
    return done(request, f"/webhooks/{number}", "The delivery will be sent again, with the same id")


@router.post("/webhooks/{webhook_id}/rotate-secret")
def rotate(
    request: Request,
    webhook_id: str,
    user: WebhookManager,
    session: SessionDep,
    reading: ReadSessionDep,
) -> Response:
    """Answers with the page itself: the new secret is shown there once."""
    number = _number(webhook_id)
    try:
        subscription = webhooks.rotate_secret(
            session, number, actor=users.actor_for(user), now=utcnow()
        )
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, NO_WEBHOOK)
    reading.rollback()
    return _detail(request, reading, number, secret=subscription.secret)


@router.post("/webhooks/{webhook_id}/enable")
def enable(
    request: Request, webhook_id: str, user: WebhookManager, session: SessionDep
) -> Response:
    number = _number(webhook_id)
    try:
        webhooks.update(
            session, number, changes={"enabled": True}, actor=users.actor_for(user), now=utcnow()
        )
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, NO_WEBHOOK)
    request.app.state.webhooks.wake()
    return done(
        request, f"/webhooks/{number}", "The webhook is on again; waiting events go out now"
    )


@router.post("/webhooks/{webhook_id}/delete")
def delete(
    request: Request, webhook_id: str, user: WebhookManager, session: SessionDep
) -> Response:
    number = _number(webhook_id)
    try:
        webhooks.delete(session, number, actor=users.actor_for(user), now=utcnow())
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, NO_WEBHOOK)
    return done(request, "/webhooks", "The webhook and its delivery log are deleted")
