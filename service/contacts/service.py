"""Contacts and the communication tree: the rules, with no HTTP in sight.

Tree rules, checked on every write (API, import, CLI):
- `reports_to` and `deputy` name contacts that exist and are active; nobody reports to
  themselves or deputises for themselves; following `reports_to` upwards never comes back to
  where it started (no cycles). Empty `reports_to` puts someone in the steering group (level 1),
  as does the group named by `STEERING_GROUP` (tree.py).
- Each channel needs its address (`sms` a mobile, `email` an email), and a contact needs at least
  one of the two. Blank channels mean every channel the person has an address for.

Deactivating someone whom active contacts report to, or who deputises for an active contact, is
refused with Conflict naming those contacts (`reports_to_them`, `deputy_for`): moving people in
the tree silently would change who phones whom on the day, so a coordinator decides where they
go first. Contacts are never deleted (messages and past cascades refer to them); a deactivated
contact is left out of the tree and of exports and comes back with `update(..., active=True)` or
an import that lists them.

Every function takes `now` and an `actor` for the audit log and leaves the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, and_, col, func, or_, select

from service import audit_log
from service.contacts.models import Contact
from service.contacts.schemas import ContactUpdate
from service.contacts.tree import DEFAULT_STEERING_GROUP, load_places
from service.contacts.validation import (
    CHANNELS,
    clean_contact,
    national_mobile,
)
from service.errors import Conflict, InvalidInput, NotFound

COLUMNS = (
    "id",
    "name",
    "role",
    "email",
    "mobile",
    "reports_to",
    "deputy",
    "groups",
    "channels",
    "ack_window_minutes",
)
"""The import and export columns, in this order."""
EDITABLE = COLUMNS[1:]


def _searchable(value: str, field: str) -> str:
    """PostgreSQL cannot compare text holding NUL; no stored value holds a control character."""
    if any(ord(c) < 32 for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def get(session: Session, contact_id: str, *, lock: bool = False) -> Contact:
    """The contact; with `lock`, freshly read and locked until commit (PostgreSQL)."""
    if len(contact_id) > 64 or any(ord(c) < 32 for c in contact_id):
        raise NotFound(f"no contact with id {contact_id[:64]!r}")
    options: dict[str, Any] = {"with_for_update": True, "populate_existing": True} if lock else {}
    contact = session.get(Contact, contact_id, **options)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id!r}")
    return contact


def names_of(session: Session, ids: set[str]) -> dict[str, str]:
    """Each known contact's name by id, for lists that name people (the outbox)."""
    if not ids:
        return {}
    rows = session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(ids))).all()
    return dict(rows)


def _has_group(session: Session, group: str) -> sa.ColumnElement[bool]:
    """JSON array membership, spelt the way each database can use."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(col(Contact.groups), sa.dialects.postgresql.JSONB).contains([group])
    each = sa.func.json_each(col(Contact.groups)).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == group))


def list_contacts(
    session: Session,
    *,
    q: str | None = None,
    group: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    after: tuple[Any, ...] | None = None,
) -> tuple[list[Contact], int]:
    """One page of contacts ordered by name, then id, and how many match in all. `q` matches
    part of the name, id, role or email, ignoring case. `after` (a name and an id) starts after
    that contact: the API's keyset paging; the pages number theirs."""
    conditions: list[Any] = []
    if q and q.strip():
        needle = _searchable(q.strip().lower(), "q")
        conditions.append(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (
                        col(Contact.name),
                        col(Contact.id),
                        col(Contact.role),
                        col(Contact.email),
                    )
                )
            )
        )
    if group:
        conditions.append(_has_group(session, _searchable(group, "group")))
    if active is not None:
        conditions.append(col(Contact.active).is_(active))
    total = session.exec(select(func.count()).select_from(Contact).where(*conditions)).one()
    if after is not None:
        name, contact_id = after
        conditions.append(
            or_(
                col(Contact.name) > name,
                and_(col(Contact.name) == name, col(Contact.id) > contact_id),
            )
        )
    page = session.exec(
        select(Contact)
        .where(*conditions)
        .order_by(col(Contact.name), col(Contact.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(page), int(total)


def _first_error(errors: list[tuple[str, str]]) -> InvalidInput:
    field, message = errors[0]
    return InvalidInput(field, message)


def _check_links(
    session: Session, ident: str, *, reports_to: str | None, deputy: str | None
) -> None:
    """The tree rules that need the stored contacts."""
    for field, target in (("reports_to", reports_to), ("deputy", deputy)):
        if target is None:
            continue
        # Locked until commit on PostgreSQL, so a concurrent deactivation of the target waits
        # and then sees the new link (SQLite serialises writers already).
        other = session.get(Contact, target, with_for_update=True, populate_existing=True)
        if other is None:
            raise InvalidInput(field, f"no contact with id {target!r}")
        if not other.active:
            raise InvalidInput(field, f"{target!r} ({other.name}) is deactivated")
    path = [ident]
    current = reports_to
    while current is not None:
        if current in path:
            chain = " → ".join([*path, current])
            raise InvalidInput("reports_to", f"would make a cycle in the tree: {chain}")
        path.append(current)
        above = session.get(Contact, current)
        current = above.reports_to if above is not None else None


def create(session: Session, values: Mapping[str, Any], *, actor: str, now: datetime) -> Contact:
    """A new active contact; Conflict when the id is taken (even by a deactivated contact)."""
    cleaned, errors = clean_contact(values)
    if cleaned is None:
        raise _first_error(errors)
    existing = session.get(Contact, cleaned.id)
    if existing is not None:
        state = "" if existing.active else " (deactivated: update it with active=true instead)"
        raise Conflict(f"a contact with id {cleaned.id!r} already exists{state}", id=cleaned.id)
    _check_links(session, cleaned.id, reports_to=cleaned.reports_to, deputy=cleaned.deputy)
    contact = Contact(**cleaned.as_dict(), active=True, created_at=now, updated_at=now)
    session.add(contact)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="contact_created",
        target=f"contact:{contact.id}",
        now=now,
        data={"name": contact.name, "reports_to": contact.reports_to, "deputy": contact.deputy},
    )
    return contact


def _stored_values(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in COLUMNS}


def _default_channels(email: str | None, mobile: str | None) -> list[str]:
    addresses = {"email": email, "sms": mobile}
    return [channel for channel in CHANNELS if addresses[channel]]


def update(
    session: Session,
    contact_id: str,
    changes: ContactUpdate,
    *,
    actor: str,
    now: datetime,
) -> Contact:
    """Change the fields sent (None clears an optional one). When email or mobile change and
    channels are not sent, a contact on the default channels (every address they have) stays
    on the default for the new addresses; explicitly chosen channels are kept and checked.
    `active` False deactivates (see the module docstring), True reactivates."""
    contact = get(session, contact_id)
    sent = changes.model_dump(exclude_unset=True)
    activate = sent.pop("active", None)
    if activate is False:
        if sent:
            raise InvalidInput("active", "deactivate on its own, without other changes")
        return deactivate(session, contact_id, actor=actor, now=now)

    before = _stored_values(contact)
    merged = {**before, **sent}
    if "name" in sent and sent["name"] is None:
        raise InvalidInput("name", "is required")
    for listed in ("groups", "channels"):
        if listed in sent and sent[listed] is None:
            merged[listed] = []
    addresses_changed = any(key in sent and sent[key] != before[key] for key in ("email", "mobile"))
    if (
        addresses_changed
        and "channels" not in sent
        and list(before["channels"]) == _default_channels(before["email"], before["mobile"])
    ):
        merged["channels"] = []
    cleaned, errors = clean_contact(merged)
    if cleaned is None:
        raise _first_error(errors)
    after = cleaned.as_dict()
    links_changed = (
        after["reports_to"] != before["reports_to"] or after["deputy"] != before["deputy"]
    )
    reactivating = activate is True and not contact.active
    if links_changed or reactivating:
        _check_links(session, contact.id, reports_to=cleaned.reports_to, deputy=cleaned.deputy)
    changed = sorted(name for name in EDITABLE if after[name] != before[name])
    if not changed and not reactivating:
        return contact
    for name in changed:
        setattr(contact, name, after[name])
    if reactivating:
        contact.active = True
    contact.updated_at = now
    session.add(contact)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="contact_reactivated" if reactivating else "contact_updated",
        target=f"contact:{contact.id}",
        now=now,
        data={"fields": changed},
    )
    return contact


def dependants(session: Session, contact_id: str) -> tuple[list[Contact], list[Contact]]:
    """Active contacts who report to this one, and those whose deputy this one is."""
    reports = session.exec(
        select(Contact)
        .where(col(Contact.reports_to) == contact_id, col(Contact.active).is_(True))
        .order_by(col(Contact.id))
    ).all()
    deputised = session.exec(
        select(Contact)
        .where(col(Contact.deputy) == contact_id, col(Contact.active).is_(True))
        .order_by(col(Contact.id))
    ).all()
    return list(reports), list(deputised)


def deactivate(session: Session, contact_id: str, *, actor: str, now: datetime) -> Contact:
    """Take someone out of the tree. Refused (Conflict) while active contacts report to them or
    have them as deputy; doing it twice is harmless."""
    contact = get(session, contact_id, lock=True)
    if not contact.active:
        return contact
    reports, deputised = dependants(session, contact_id)
    if reports or deputised:
        parts = []
        if reports:
            parts.append("reporting to them: " + ", ".join(f"{c.id} ({c.name})" for c in reports))
        if deputised:
            parts.append(
                "with them as deputy: " + ", ".join(f"{c.id} ({c.name})" for c in deputised)
            )
        raise Conflict(
            f"{contact.id} ({contact.name}) is still in the tree; move these contacts first — "
            + "; ".join(parts),
            reports_to_them=[c.id for c in reports],
            deputy_for=[c.id for c in deputised],
        )
    contact.active = False
    contact.updated_at = now
    session.add(contact)
    session.flush()
    audit_log.record(
        session, actor=actor, action="contact_deactivated", target=f"contact:{contact.id}", now=now
    )
    return contact


def tree_levels(session: Session, steering_group: str = DEFAULT_STEERING_GROUP) -> dict[str, int]:
    """Each active contact's level in the tree (tree.py holds the rule)."""
    return {cid: place.level for cid, place in load_places(session, steering_group).items()}


def export_value(column: str, value: Any) -> str:
    """One cell of an export, in the form the importer reads back unchanged."""
    if value is None:
        return ""
    if column in ("groups", "channels"):
        return ";".join(value)
    if column == "mobile":
        return national_mobile(value)
    return str(value)


def export_rows(
    session: Session, steering_group: str = DEFAULT_STEERING_GROUP
) -> list[dict[str, str]]:
    """Every active contact as import columns, steering group first, then level by level:
    importing the result changes nothing."""
    levels = tree_levels(session, steering_group)
    contacts = session.exec(select(Contact).where(col(Contact.active).is_(True))).all()
    contacts = sorted(contacts, key=lambda c: (levels.get(c.id, 1), c.name, c.id))
    return [{name: export_value(name, getattr(c, name)) for name in COLUMNS} for c in contacts]
