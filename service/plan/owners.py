"""Roles to people: a plan role maps to a contact, the contact's deputy stands in when they are
inactive, and an unmapped role falls to the steering-group lead, so no task is ever ownerless
while anyone is in the contacts list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from service.contacts.models import Contact
from service.plan.definitions import STEERING_GROUP_LEAD
from service.plan.models import OwnerSource, RoleAssignment


@dataclass(frozen=True)
class Owner:
    contact_id: str | None
    source: OwnerSource


class Owners:
    """One transaction's view of the role map; loads only the people it needs."""

    def __init__(self, session: Session):
        self.session = session
        self.assignments = {
            row.role: row.contact_id for row in session.exec(select(RoleAssignment)).all()
        }
        wanted = set(self.assignments.values())
        self.contacts: dict[str, Contact] = {
            c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(wanted))).all()
        }
        deputies = {c.deputy for c in self.contacts.values() if c.deputy} - set(self.contacts)
        if deputies:
            for contact in session.exec(select(Contact).where(col(Contact.id).in_(deputies))):
                self.contacts[contact.id] = contact
        self._cache: dict[str, Owner] = {}

    def _person(self, role: str) -> Owner | None:
        contact = self.contacts.get(self.assignments.get(role, ""))
        if contact is None:
            return None
        if contact.active:
            return Owner(contact.id, OwnerSource.role)
        deputy = self.contacts.get(contact.deputy or "")
        if deputy is not None and deputy.active:
            return Owner(deputy.id, OwnerSource.deputy)
        return None

    def steering_group_lead(self) -> str | None:
        """The lead's person; without a mapping, the first member of the steering group (the
        top of the communication tree, by id) so that someone always holds the plan."""
        found = self._person(STEERING_GROUP_LEAD)
        if found is not None:
            return found.contact_id
        return self.session.exec(
            select(Contact.id)
            .where(col(Contact.reports_to).is_(None), col(Contact.active).is_(True))
            .order_by(col(Contact.id))
        ).first()

    def for_role(self, role: str | None) -> Owner:
        key = role or ""
        if key not in self._cache:
            found = self._person(key) if role else None
            if found is None:
                lead = self.steering_group_lead()
                found = Owner(
                    lead, OwnerSource.steering_group_lead if lead else OwnerSource.unassigned
                )
            self._cache[key] = found
        return self._cache[key]
