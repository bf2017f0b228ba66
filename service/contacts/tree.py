"""Who is at which level of the communication tree: the one rule the contacts tree page, the
announce preview and the cascade's snapshot all use (DESIGN.md, "Communication tree rules").

The steering group is level 1: everyone in the group named by the setting `STEERING_GROUP` plus
everyone with no `reports_to`, so an org chart with the director at its root works as well as a
flat list. Everyone else is one level deeper than the person they report to. Someone reporting
to a deactivated person hangs from that person's nearest active manager, so nobody falls out of
the tree; a cycle in stored data (the rules refuse one) is cut rather than followed forever."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from service.config import DEFAULT_STEERING_GROUP
from service.contacts.models import Contact

__all__ = ["DEFAULT_STEERING_GROUP", "Place", "load_places", "places"]


class Place(NamedTuple):
    level: int
    parent: str | None
    """The nearest active manager (None at the top of the tree). A steering-group member who
    reports to someone keeps that manager here: the person told when they cannot be reached."""


def places(everyone: Mapping[str, Any], steering_group: str) -> dict[str, Place]:
    """Each active person's place. `everyone` maps ids to rows with `reports_to`, `active` and
    `groups` (active or not: an inactive manager is looked through)."""
    active = {cid for cid, person in everyone.items() if person.active}
    parent: dict[str, str | None] = {}
    for cid in active:
        above, seen = everyone[cid].reports_to, {cid}
        while above is not None and above not in active:
            if above in seen or above not in everyone:
                above = None
                break
            seen.add(above)
            above = everyone[above].reports_to
        parent[cid] = above
    steering = {
        cid
        for cid in active
        if parent[cid] is None or steering_group in (everyone[cid].groups or ())
    }
    levels: dict[str, int] = {}
    for cid in active:
        chain: list[str] = []
        current: str | None = cid
        while current is not None and current not in levels and current not in steering:
            if current in chain:  # a stored cycle: cut it here
                parent[current] = None
                steering.add(current)
                break
            chain.append(current)
            current = parent[current]
        if current is not None and current in steering:
            levels[current] = 1
        for member in reversed(chain):
            if member not in levels:
                above = parent[member]
                levels[member] = 1 if above is None or member in steering else levels[above] + 1
    return {cid: Place(levels[cid], parent[cid]) for cid in active}


def load_places(session: Session, steering_group: str) -> dict[str, Place]:
    """`places` of today's contacts, read as plain rows (a tree of 10,000 needs no ORM objects)."""
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            Contact.id, Contact.reports_to, Contact.active, Contact.groups
        )
    ).all()
    return places({row.id: row for row in rows}, steering_group)
