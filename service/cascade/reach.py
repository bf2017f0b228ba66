"""Who announcing now would reach: today's tree as the cascade will snapshot it, counted by the
channels people chose, for the confirmation page before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from service.contacts.models import Contact
from service.contacts.tree import DEFAULT_STEERING_GROUP, places
from service.notify.models import Medium
from service.notify.outbox import addresses


@dataclass(frozen=True)
class Reach:
    people: int
    by_email: int
    by_sms: int
    unreachable: int
    """Active people with no address on any channel they chose."""
    steering_group: int
    """The steering group (its group and the top of the tree): messaged at once."""


def reach(session: Session, steering_group: str = DEFAULT_STEERING_GROUP) -> Reach:
    """Counted the way the cascade will count: active people, by the channels they chose, and
    the steering group by the same rule (contacts/tree.py)."""
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            Contact.id,
            Contact.reports_to,
            Contact.active,
            Contact.groups,
            Contact.email,
            Contact.mobile,
            Contact.channels,
        )
    ).all()
    everyone = {row.id: row for row in rows}
    levels = places(everyone, steering_group)
    by_email = by_sms = unreachable = 0
    for contact_id in levels:
        found = addresses(everyone[contact_id])
        by_email += Medium.email in found
        by_sms += Medium.sms in found
        unreachable += not found
    return Reach(
        people=len(levels),
        by_email=by_email,
        by_sms=by_sms,
        unreachable=unreachable,
        steering_group=sum(1 for level, _ in levels.values() if level == 1),
    )
