"""A person's group (the people who report to them, not yet messaged), as their release reads
it: one query a group, or one for a whole chunk of release rows read ahead."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from service.cascade.models import CascadeNode
from service.cascade.run import Run
from service.contacts.models import Contact


def unmessaged(run: Run, node: CascadeNode) -> list[CascadeNode]:
    """The group not yet messaged, with their contacts read in the same query (or before, with
    other groups, by `read_ahead`)."""
    group = run.groups.pop(node.contact_id, None)
    if group is not None:
        return [child for child in group if child.notified_at is None]
    rows = run.session.exec(_groups_query(run, [node.contact_id])).all()
    run.remember(contact for _, contact in rows if contact is not None)
    return [child for child, _ in rows]


def _groups_query(run: Run, heads: list[str]) -> Any:
    return (
        select(CascadeNode, Contact)
        .outerjoin(Contact, col(Contact.id) == col(CascadeNode.contact_id))
        .where(
            CascadeNode.inspection_id == run.inspection.id,
            col(CascadeNode.parent_id).in_(heads),
            col(CascadeNode.notified_at).is_(None),
        )
    )


def read_ahead(run: Run, heads: list[CascadeNode]) -> None:
    """Read the groups of several people about to be released, with one query: a chunk of
    release rows costs one round trip for its groups, not one each. A person's group is messaged
    only by their release, so what is read here is what `unmessaged` would read later."""
    wanted = [head.contact_id for head in heads if head.children_released_at is None]
    if not wanted:
        return
    groups: dict[str, list[CascadeNode]] = {head: [] for head in wanted}
    rows = run.session.exec(_groups_query(run, wanted)).all()
    run.remember(contact for _, contact in rows if contact is not None)
    for child, _ in rows:
        groups[child.parent_id or ""].append(child)
    run.groups.update(groups)
