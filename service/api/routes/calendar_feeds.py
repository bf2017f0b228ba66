"""Calendar feeds: made, listed and revoked with an admin key; the feed itself is read with
nothing but its URL, since Outlook and Google Calendar cannot send a credential."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.api.deps import Admin, ReadSessionDep, RulesDep, SessionDep, SettingsDep, get_engine
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, encode_cursor
from service.calendar_feeds import events, feeds
from service.calendar_feeds.models import PublishedEvent
from service.calendar_feeds.schemas import FeedCreate, FeedCreated, FeedPublic, FeedsPublic
from service.db import reader, utcnow

router = APIRouter(prefix="/api/v1/calendar-feeds", tags=["calendar feeds"])
feed_router = APIRouter()

NOT_FOUND = "No such calendar feed"
MEDIA_TYPE = "text/calendar; charset=utf-8"


def public(row: feeds.FeedRow) -> FeedPublic:
    feed = row.feed
    assert feed.id is not None
    return FeedPublic(
        id=feed.id,
        inspection_id=feed.inspection_id,
        contact_id=feed.contact_id,
        contact_name=row.contact_name,
        created_at=feed.created_at,
        created_by=feed.created_by,
        revoked_at=feed.revoked_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=FeedCreated,
    summary="Make a calendar feed of an inspection, or of one person's part in it",
    responses=error_responses(401, 403, 422),
)
def create_feed(
    body: FeedCreate, session: SessionDep, settings: SettingsDep, principal: Admin
) -> FeedCreated:
    """The URL is the feed's only credential and is shown once (only a hash is kept): lost, make
    a new feed and revoke the old one. An unknown inspection or contact is a 422 naming it."""
    feed, token = feeds.create(
        session,
        inspection_id=body.inspection_id,
        contact_id=body.contact_id,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    assert feed.id is not None
    url = feeds.feed_url(settings.public_base_url, token)
    return FeedCreated(id=feed.id, url=url, webcal_url=feeds.webcal_url(url))


@router.get(
    "",
    response_model=FeedsPublic,
    summary="The calendar feeds, revoked ones too (never their URLs)",
    responses=error_responses(401, 403, 422),
)
def list_feeds(
    session: ReadSessionDep,
    _: Admin,
    page: CursorPageDep,
    inspection_id: Annotated[uuid.UUID | None, Query(description="Only this inspection's")] = None,
) -> FeedsPublic:
    after = page.after
    rows, more = feeds.page(
        session, inspection_id=inspection_id, after=after[1] if after else None, limit=page.limit
    )
    last = rows[-1].feed if rows else None
    return FeedsPublic(
        items=[public(row) for row in rows],
        next_cursor=encode_cursor(last.created_at, last.id)
        if more and last is not None and last.id is not None
        else None,
    )


@router.delete(
    "/{feed_id}",
    status_code=204,
    summary="Revoke a calendar feed: its URL answers 404 from now on",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def revoke_feed(
    feed_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    principal: Admin,
) -> Response:
    feeds.revoke(session, feed_id, actor=principal.actor, now=utcnow())
    commit_or_conflict(session)
    return Response(status_code=204)


def _publish(
    engine: Engine, inspection_id: uuid.UUID, found: list[events.FeedEvent]
) -> dict[str, PublishedEvent]:
    """Record changed events in a short write of their own; the feed's reads never take the
    writer's lock when nothing changed (the usual case: subscribers poll hourly)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            states = events.publish(session, inspection_id, found, now=utcnow())
            session.commit()
        except IntegrityError:
            # Another reader published the same new events at the same moment: theirs stand.
            session.rollback()
            states = events.publish(session, inspection_id, found, now=utcnow())
            session.commit()
        return states


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    asked = request.headers.get("if-none-match")
    if asked is not None:
        return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in asked.split(","))
    since = request.headers.get("if-modified-since")
    if since is None or modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        return False
    return modified <= when


@feed_router.get("/calendar/{token}.ics", include_in_schema=False)
def read_feed(
    token: str,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    rules: RulesDep,
    settings: SettingsDep,
) -> Response:
    """The feed (not in the OpenAPI schema: the URL is the credential, not an API key)."""
    with Session(reader(engine), expire_on_commit=False) as session:
        feed = feeds.find(session, token)
        if feed is None:
            return Response(
                "No such calendar feed: it may have been revoked.",
                status_code=404,
                media_type="text/plain; charset=utf-8",
            )
        collected = events.collect(session, feed, rules=rules, base_url=settings.public_base_url)
        states = events.published(session, feed.inspection_id)
    if events.stale(collected.events, states):
        states = _publish(engine, feed.inspection_id, collected.events)
    body = events.to_ical(collected, states, zone=rules.zone)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    modified = events.last_modified(collected, states) or feed.created_at
    modified = modified.astimezone(UTC).replace(microsecond=0)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "private, no-cache",
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="inspection.ics"'
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
