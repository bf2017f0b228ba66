"""The outbox read back: filters, newest first with the steering group first within a moment,
totals across pages, masked addresses and the acknowledgement link."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.notify import listing
from service.notify.models import Message, MessageStatus
from tests.builders import london

CREATED = london(2026, 11, 17, 10, 30)


def _message(medium: str, address: str, *, minutes: int, priority: int, **values: str) -> Message:
    return Message(
        medium=medium,
        address=address,
        purpose=values.get("purpose", "announcement"),
        dedupe_key=f"test:{uuid.uuid4()}",
        priority=priority,
        subject="Ofsted have called",
        body=values.get("body", "Please acknowledge."),
        status=values.get("status", MessageStatus.queued),
        next_attempt_at=CREATED,
        created_at=CREATED + timedelta(minutes=minutes),
    )


def _stored(engine: Engine) -> list[Message]:
    messages = [
        _message("email", "harriet@example.org", minutes=0, priority=2),
        _message("email", "tomasz@example.org", minutes=0, priority=1),
        _message("sms", "+447700900123", minutes=5, priority=1, status=MessageStatus.sent),
    ]
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(messages)
        session.commit()
    return messages


def test_newest_first_then_by_priority_with_a_total_across_pages(
    engine: Engine, session: Session
) -> None:
    early_low, early_high, late = _stored(engine)
    found = listing.page(session, listing.MessageFilter(), limit=2)
    assert found.total == 3
    assert [m.id for m in found.items] == [late.id, early_high.id]
    rest = listing.page(session, listing.MessageFilter(), offset=2, limit=2)
    assert [m.id for m in rest.items] == [early_low.id]


def test_every_filter_given_must_match(engine: Engine, session: Session) -> None:
    _, _, late = _stored(engine)
    found = listing.page(session, listing.MessageFilter(medium="sms", status="sent"))
    assert found.total == 1 and found.items[0].id == late.id
    none = listing.page(session, listing.MessageFilter(medium="sms", status="queued"))
    assert none.total == 0 and none.items == []


def test_addresses_are_masked_unless_shown_in_full() -> None:
    email = _message("email", "harriet@example.org", minutes=0, priority=1)
    sms = _message("sms", "+447700900123", minutes=0, priority=1)
    assert listing.shown_address(email, full=True) == "harriet@example.org"
    assert listing.shown_address(email, full=False) == "h***@example.org"
    assert listing.shown_address(sms, full=False) == "+44***123"


def test_the_acknowledgement_link_is_found_in_the_text() -> None:
    link = "https://iw.example.org/ack/abc.DEF-123"
    message = _message("sms", "+447700900123", minutes=0, priority=1, body=f"Reply 1 or {link}")
    assert listing.ack_link(message) == link
    assert listing.ack_link(_message("sms", "+447700900123", minutes=0, priority=1)) is None
