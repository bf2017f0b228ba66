"""Making, finding, listing and revoking feeds. The token in a feed's URL is its only credential
(Outlook and Google cannot send a header), so it is random, stored only as a hash and compared
in constant time; a revoked or unknown token is simply not found, and so is a person's feed
while that person is deactivated (someone who has left must not go on reading the plan; their
feed answers again if they are reactivated, since nothing about it was secret to them)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service import audit_log
from service.calendar_feeds.models import CalendarFeed
from service.contacts.models import Contact
from service.errors import InvalidInput, NotFound
from service.inspections.models import Inspection

LOOKUP_LENGTH = 12
"""The token's first characters, stored plainly to find the row (72 random bits)."""
MAX_TOKEN_LENGTH = 64
FEED_PATH = "/calendar/{token}.ics"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + FEED_PATH.format(token=token)


def webcal_url(url: str) -> str:
    """The same feed for a calendar app's subscribe button (webcal:// is fetched over https,
    or http for a plain-http base URL)."""
    return "webcal://" + url.split("://", 1)[1]


@dataclass(frozen=True)
class FeedRow:
    """A feed as lists show it (never its token)."""

    feed: CalendarFeed
    contact_name: str | None


def create(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    contact_id: str | None,
    actor: str,
    now: datetime,
) -> tuple[CalendarFeed, str]:
    """The new feed and its token (shown once: only its hash is kept)."""
    if session.get(Inspection, inspection_id) is None:
        raise InvalidInput("inspection_id", f"no inspection {inspection_id}")
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise InvalidInput("contact_id", f"no contact {contact_id!r}")
        if not contact.active:
            raise InvalidInput("contact_id", f"{contact.name} is inactive")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        inspection_id=inspection_id,
        contact_id=contact_id,
        token_lookup=token[:LOOKUP_LENGTH],
        token_hash=_digest(token),
        created_at=now,
        created_by=actor,
    )
    session.add(feed)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="calendar_feed_created",
        target=f"calendar-feed:{feed.id}",
        now=now,
        data={"inspection_id": str(inspection_id), "contact_id": contact_id},
    )
    return feed, token


def find(session: Session, token: str) -> CalendarFeed | None:
    """The live feed this token opens, or None (unknown, malformed, revoked, or the feed of a
    deactivated person, alike)."""
    if not LOOKUP_LENGTH < len(token) <= MAX_TOKEN_LENGTH:
        return None
    feed = session.exec(
        select(CalendarFeed).where(CalendarFeed.token_lookup == token[:LOOKUP_LENGTH])
    ).first()
    if feed is None or not hmac.compare_digest(feed.token_hash, _digest(token)):
        return None
    if feed.revoked_at is not None:
        return None
    if feed.contact_id is not None:
        person = session.get(Contact, feed.contact_id)
        if person is None or not person.active:
            return None
    return feed


def page(
    session: Session,
    *,
    inspection_id: uuid.UUID | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[FeedRow], bool]:
    """Oldest first (revoked ones too), after the feed id `after`; whether more follow."""
    query = (
        select(CalendarFeed, Contact.name)
        .join(Contact, col(CalendarFeed.contact_id) == col(Contact.id), isouter=True)
        .order_by(col(CalendarFeed.id))
    )
    if inspection_id is not None:
        query = query.where(CalendarFeed.inspection_id == inspection_id)
    if after is not None:
        query = query.where(col(CalendarFeed.id) > after)
    rows = session.exec(query.limit(limit + 1)).all()
    found = [FeedRow(feed, name) for feed, name in rows[:limit]]
    return found, len(rows) > limit


def revoke(session: Session, feed_id: int, *, actor: str, now: datetime) -> CalendarFeed:
    """Its URL answers 404 from now on. Revoking twice is harmless."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None:
        raise NotFound(f"no calendar feed {feed_id}")
    if feed.revoked_at is None:
        feed.revoked_at = now
        feed.revoked_by = actor
        session.add(feed)
        audit_log.record(
            session,
            actor=actor,
            action="calendar_feed_revoked",
            target=f"calendar-feed:{feed.id}",
            now=now,
        )
    return feed
