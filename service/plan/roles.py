"""Who holds each plan role. Changing a role's person moves the role's open tasks in every open
inspection to whoever now holds it (re-resolved through `Owners`, so an inactive person's deputy
or the steering-group lead as usual), except tasks someone reassigned by hand."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from service import audit_log, timeline
from service.contacts.models import Contact
from service.errors import NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.plan.definitions import STEERING_GROUP_LEAD
from service.plan.models import LinksVoided, OwnerSource, RoleAssignment, Task, TaskStatus
from service.plan.owners import Owners
from service.plan.schemas import RolePublic
from service.plan.tasks import active_contact, sync_reminders
from service.rules import Rules

ROLE_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""The shape of a role key in plan files (anything else cannot be stored, so is not looked up)."""


def _known(rules: Rules, role: str) -> str:
    """The role's label; 404 for a role no plan names."""
    roles = rules.plans.roles()
    if role not in roles:
        raise NotFound(
            f"no role {role[:64]!r}; known roles: "
            + (", ".join(roles) or "none (no plan definition is loaded)")
        )
    return roles[role]


def list_roles(session: Session, *, rules: Rules) -> list[RolePublic]:
    """Every role any plan names, mapped or not."""
    labels = rules.plans.roles()
    assigned = {row.role: row.contact_id for row in session.exec(select(RoleAssignment)).all()}
    people = {
        contact.id: contact
        for contact in session.exec(
            select(Contact).where(col(Contact.id).in_(set(assigned.values())))
        ).all()
    }
    counts = dict(
        session.exec(
            select(Task.owner_role, func.count())
            .where(
                col(Task.inspection_id).in_(inspections.open_ids()),
                Task.status != TaskStatus.done.value,
                col(Task.owner_role).is_not(None),
            )
            .group_by(col(Task.owner_role))
        ).all()
    )
    return [
        _public(role, label, people.get(assigned.get(role, "")), counts)
        for role, label in labels.items()
    ]


def _public(
    role: str, label: str, contact: Contact | None, counts: dict[str | None, int]
) -> RolePublic:
    return RolePublic(
        role=role,
        label=label,
        contact_id=contact.id if contact else None,
        contact_name=contact.name if contact else None,
        active=contact.active if contact else None,
        deputy_id=contact.deputy if contact else None,
        open_tasks=counts.get(role, 0),
    )


def read(session: Session, *, rules: Rules, role: str) -> RolePublic:
    _known(rules, role)
    return next(item for item in list_roles(session, rules=rules) if item.role == role)


def assign(
    session: Session, *, rules: Rules, role: str, contact_id: str, actor: str, now: datetime
) -> RolePublic:
    """Give the role to an active contact; its open tasks follow."""
    label = _known(rules, role)
    contact = active_contact(session, "contact_id", contact_id)
    row = session.get(RoleAssignment, role)
    before = row.contact_id if row else None
    if before != contact.id:
        if row is None:
            session.add(
                RoleAssignment(role=role, contact_id=contact.id, updated_at=now, updated_by=actor)
            )
        else:
            row.contact_id, row.updated_at, row.updated_by = contact.id, now, actor
            session.add(row)
        moved = move_tasks(
            session,
            rules=rules,
            role=role,
            why=f"{label} is now {contact.name}",
            actor=actor,
            now=now,
        )
        audit_log.record(
            session,
            actor=actor,
            action="role_assigned",
            target=f"role:{role}",
            now=now,
            data={"from": before, "to": contact.id, "tasks_moved": moved},
        )
    return read(session, rules=rules, role=role)


def unassign(session: Session, *, rules: Rules, role: str, actor: str, now: datetime) -> None:
    """No one holds the role any more: its open tasks go to the steering-group lead. A role no
    plan names any longer can still be unmapped."""
    looks_like_a_role = role in rules.plans.roles() or ROLE_KEY.fullmatch(role)
    row = session.get(RoleAssignment, role) if looks_like_a_role else None
    if row is None:
        _known(rules, role)
        return
    label = rules.plans.roles().get(role, role)
    before = row.contact_id
    session.delete(row)
    moved = move_tasks(
        session, rules=rules, role=role, why=f"No one holds {label} now", actor=actor, now=now
    )
    audit_log.record(
        session,
        actor=actor,
        action="role_unassigned",
        target=f"role:{role}",
        now=now,
        data={"from": before, "tasks_moved": moved},
    )


def move_tasks(
    session: Session, *, rules: Rules, role: str, why: str, actor: str, now: datetime
) -> int:
    """Re-resolve the owners of the open tasks the role change can affect: the role's own, those
    that had no owner at all, and (for the steering-group lead) those that fell to the lead.
    Hand-reassigned tasks stay put. One timeline entry per inspection; returns how many moved."""
    session.flush()
    owners = Owners(session)
    affected = [Task.owner_role == role, Task.owner_source == OwnerSource.unassigned.value]
    if role == STEERING_GROUP_LEAD:
        affected.append(Task.owner_source == OwnerSource.steering_group_lead.value)
    tasks = session.exec(
        select(Task)
        .where(
            col(Task.inspection_id).in_(inspections.open_ids()),
            Task.status != TaskStatus.done.value,
            Task.owner_source != OwnerSource.reassigned.value,
            sa.or_(*affected),
        )
        .order_by(col(Task.inspection_id), col(Task.position))
        .with_for_update()
    ).all()
    moved: dict[uuid.UUID, dict[str, dict[str, str | None]]] = {}
    for task in tasks:
        owner = owners.for_role(task.owner_role)
        if (owner.contact_id, owner.source.value) == (task.owner_contact_id, task.owner_source):
            continue
        moved.setdefault(task.inspection_id, {})[task.key] = {
            "from": task.owner_contact_id,
            "to": owner.contact_id,
            "source": owner.source.value,
        }
        if owner.contact_id != task.owner_contact_id:
            task.void_links(LinksVoided.reassigned)
        task.owner_contact_id, task.owner_source, task.updated_at = (
            owner.contact_id,
            owner.source.value,
            now,
        )
        session.add(task)
    for inspection_id, changes in moved.items():
        inspection = session.get(Inspection, inspection_id)
        assert inspection is not None
        timeline.log(
            session,
            inspection_id=inspection_id,
            actor=actor,
            kind="role_changed",
            summary=f"{why}: {len(changes)} open task{'s' * (len(changes) != 1)} moved"[:1000],
            data={"role": role, "tasks": changes},
            now=now,
        )
        sync_reminders(session, inspection, rules=rules, now=now)
    return sum(len(changes) for changes in moved.values())
