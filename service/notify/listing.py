"""The outbox read back: every message the service produced, whatever the channel, filtered and
paged newest first; and how a message's address and acknowledgement link are shown to someone
who may not see them in full (addresses masked as in the logs, no link that acts in the
recipient's name)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, and_, col, func, or_, select

from service.notify.masking import mask_email, mask_phone
from service.notify.models import Medium, Message

ACK_LINK = re.compile(r"https?://\S+?/ack/[A-Za-z0-9_.~=-]+")


@dataclass(frozen=True)
class MessageFilter:
    """Only the messages matching every filter given."""

    inspection_id: uuid.UUID | None = None
    contact_id: str | None = None
    purpose: str | None = None
    medium: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class MessagePage:
    items: list[Message]
    total: int
    """Messages matching the filter, on every page."""


def page(
    session: Session,
    chosen: MessageFilter,
    *,
    offset: int = 0,
    limit: int = 50,
    after: tuple[Any, ...] | None = None,
) -> MessagePage:
    """Newest first; messages of one moment by priority (the steering group's first), then id.
    `after` (the last message's `created_at`, priority and id) starts after that message."""
    filters = [
        column == value
        for column, value in (
            (Message.inspection_id, chosen.inspection_id),
            (Message.contact_id, chosen.contact_id),
            (Message.purpose, chosen.purpose),
            (Message.medium, chosen.medium),
            (Message.status, chosen.status),
        )
        if value is not None
    ]
    total = session.exec(select(func.count()).select_from(Message).where(*filters)).one()
    if after is not None:
        at, priority, row_id = after
        filters.append(
            or_(
                col(Message.created_at) < at,
                and_(
                    col(Message.created_at) == at,
                    or_(
                        col(Message.priority) > priority,
                        and_(col(Message.priority) == priority, col(Message.id) > row_id),
                    ),
                ),
            )
        )
    items = session.exec(
        select(Message)
        .where(*filters)
        .order_by(col(Message.created_at).desc(), col(Message.priority), col(Message.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return MessagePage(items=list(items), total=total)


def shown_address(message: Message, *, full: bool) -> str:
    """The address in full, or masked for someone who may not see it."""
    if full:
        return message.address
    if message.medium == Medium.email:
        return mask_email(message.address)
    return mask_phone(message.address)


def ack_link(message: Message) -> str | None:
    """The acknowledgement link in the message, so that on the embedded channel someone testing
    the tree can follow it as the recipient would (the page it opens asks before recording
    anything). Only for those who may see addresses in full: it acts in the recipient's name."""
    found = ACK_LINK.search(message.body)
    return found.group(0) if found else None
