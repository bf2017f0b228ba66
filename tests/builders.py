"""Builders for test data: small functions instead of large fixtures."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.inspections.schemas import AnnounceRequest
from service.notify.models import Message
from service.rules import Rules
from tests.trees import DRAMA_MOBILES

ACTOR = "api-key:tests"


def london(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment given in Europe/London wall-clock time, as aware UTC."""
    from zoneinfo import ZoneInfo

    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/London")).astimezone(
        UTC
    )


def make_inspection(
    session: Session,
    rules: Rules,
    *,
    notified_at: datetime,
    now: datetime | None = None,
    framework: str = "sif-2013",
    drill: bool = False,
    lead_inspector: str | None = "Harriet Oyelaran",
    commit: bool = True,
) -> Inspection:
    inspection = inspection_flows.announce(
        session,
        rules=rules,
        request=AnnounceRequest(
            framework=framework,
            notified_at=notified_at,
            lead_inspector=lead_inspector,
            drill=drill,
        ),
        actor=ACTOR,
        now=now or notified_at,
    )
    if commit:
        session.commit()
    return inspection


_mobiles = itertools.count()
_MADE_UP_MOBILES = [m for m in DRAMA_MOBILES if 100 <= int(m[-3:]) < 900]
UNLISTED_MOBILE = "+447700900999"
"""In Ofcom's drama range but never given to a contact by `make_contact` (it uses 900100-900899)."""
DEFAULT = object()
"""`make_contact`'s marker for "make one up"; pass None for "this person has none"."""


def make_contact(
    session: Session,
    id: str,
    name: str,
    *,
    reports_to: str | None = None,
    deputy: str | None = None,
    channels: tuple[str, ...] = ("email", "sms"),
    window: int | None = None,
    email: str | None | object = DEFAULT,
    mobile: str | None | object = DEFAULT,
    role: str | None = "Service manager",
    active: bool = True,
    groups: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Contact:
    """A person in the tree, flushed so that others can report to them. Made-up addresses are
    `{id}@example.org` and a fresh number from Ofcom's drama range (+447700900100-899, less the
    ones GOV.UK Notify treats specially)."""
    moment = now or datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    contact = Contact(
        id=id,
        name=name,
        role=role,
        email=f"{id}@example.org" if email is DEFAULT else cast(str | None, email),
        mobile=(
            _MADE_UP_MOBILES[next(_mobiles) % len(_MADE_UP_MOBILES)]
            if mobile is DEFAULT
            else cast(str | None, mobile)
        ),
        reports_to=reports_to,
        deputy=deputy,
        groups=list(groups),
        channels=list(channels),
        ack_window_minutes=window,
        active=active,
        created_at=moment,
        updated_at=moment,
    )
    session.add(contact)
    session.flush()
    return contact


def read_messages(engine: Engine, inspection_id: uuid.UUID | None = None) -> list[Message]:
    """Outbox rows as they stand now (a fresh session: nothing cached), oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        query = select(Message).order_by(col(Message.created_at), col(Message.priority))
        if inspection_id is not None:
            query = query.where(Message.inspection_id == inspection_id)
        return list(session.exec(query).all())


def read_nodes(engine: Engine, inspection_id: uuid.UUID) -> dict[str, CascadeNode]:
    """The cascade's snapshot of the tree, by contact id, as it stands now."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(select(CascadeNode).where(CascadeNode.inspection_id == inspection_id))
        return {node.contact_id: node for node in rows.all()}
