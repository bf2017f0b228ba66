"""One transaction's view of one inspection's cascade (`Run`): what every step of the cascade
reads and writes through, so the people, their links, the paused media and the task lists are
looked up once per transaction, and the messages and windows it queues are written together."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from service import signed_links
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.contacts.tree import DEFAULT_STEERING_GROUP
from service.inspections.models import Inspection
from service.notify import pauses
from service.notify.models import Medium
from service.notify.outbox import Outbox, addresses, spare_addresses
from service.rules import Messaging
from service.scheduler import due

TaskLists = Callable[[], Mapping[str, list[dict[str, str]]]]
"""Each owner's open plan tasks, for their announcement; asked for only when one is sent."""


class Run:
    """One transaction's view of one inspection's cascade: the people, their links, the outbox
    their messages go to and the due rows their windows become."""

    def __init__(
        self,
        session: Session,
        inspection: Inspection,
        *,
        outbox: Outbox,
        messaging: Messaging,
        tasks: TaskLists,
        now: datetime,
        steering_group: str = DEFAULT_STEERING_GROUP,
    ):
        self.session = session
        self.steering_group = steering_group
        self.inspection = inspection
        self.outbox = outbox
        self.messaging = messaging
        self.now = now
        self.signer = signed_links.ack_signer(session, now=now)
        self._contacts: dict[str, Contact] = {}
        self._task_lists = tasks
        self._tasks: Mapping[str, list[dict[str, str]]] | None = None
        self._paused: set[str] | None = None
        self.windows: list[dict[str, Any]] = []
        self._notified: dict[datetime, list[str]] = {}
        self._released: list[str] = []
        self.groups: dict[str, list[CascadeNode]] = {}
        """Groups read ahead by `cascade.groups.read_ahead`, by the contact id of their head."""

    @property
    def paused(self) -> set[str]:
        """Media paused now (a provider's daily limit): read once per run."""
        if self._paused is None:
            self._paused = pauses.paused_media(self.session, self.now)
        return self._paused

    def reachable(self, contact: Contact) -> dict[Medium, str]:
        """Where to message someone now: the channels they chose, or, when every one of those is
        paused, the addresses they have on the media that are not."""
        chosen = addresses(contact)
        if not chosen or not all(medium.value in self.paused for medium in chosen):
            return chosen
        spare = {m: a for m, a in spare_addresses(contact).items() if m.value not in self.paused}
        return {**chosen, **spare}

    def tasks_for(self, contact_id: str) -> list[dict[str, str]]:
        if self._tasks is None:
            self._tasks = self._task_lists()
        return self._tasks.get(contact_id, [])

    @property
    def drill(self) -> bool:
        return self.inspection.drill

    def contact(self, contact_id: str | None) -> Contact | None:
        if contact_id is None:
            return None
        if contact_id not in self._contacts:
            found = self.session.get(Contact, contact_id)
            if found is None:
                return None
            self._contacts[contact_id] = found
        return self._contacts[contact_id]

    def remember(self, contacts: Iterable[Contact]) -> None:
        for contact in contacts:
            self._contacts[contact.id] = contact

    def ack_url(self, node: CascadeNode) -> str:
        return signed_links.link(
            self.messaging.public_base_url,
            signed_links.ACK_PATH,
            self.signer.token_for(node.ack_code),
        )

    def notified(self, node: CascadeNode, *, window_closes_at: datetime) -> None:
        """Note that `node` was messaged now; written by `flush` with the rest of its group."""
        set_committed_value(node, "notified_at", self.now)
        set_committed_value(node, "window_closes_at", window_closes_at)
        self._notified.setdefault(window_closes_at, []).append(node.contact_id)

    def released(self, node: CascadeNode) -> None:
        """Note that `node`'s group was released now (see `notified`)."""
        set_committed_value(node, "children_released_at", self.now)
        self._released.append(node.contact_id)

    def _write_tree(self) -> None:
        """A group's marks in one statement, not the unit of work's update per person
        (`bench/releases.py --people 5000`: 294-297 against 259-266 µs of CPU a message written
        on PostgreSQL; on SQLite within 5%), nor one for the people messaged and another for the
        group released (a statement fewer in each group's savepoint). The marks are set on the
        objects as already written, so the unit of work does not write them again."""
        notified, self._notified = self._notified, {}
        released, self._released = self._released, []
        if not notified and not released:
            return
        table: sa.Table = CascadeNode.__table__  # type: ignore[attr-defined]
        c = table.c
        now = sa.literal(self.now, c.notified_at.type)
        messaged = [person for people in notified.values() for person in people]
        marks: dict[str, sa.ColumnElement[Any]] = {}
        if messaged:
            marks["notified_at"] = sa.case((c.contact_id.in_(messaged), now), else_=c.notified_at)
            marks["window_closes_at"] = sa.case(
                *(
                    (c.contact_id.in_(people), sa.literal(closes, c.window_closes_at.type))
                    for closes, people in notified.items()
                ),
                else_=c.window_closes_at,
            )
        if released:
            marks["children_released_at"] = sa.case(
                (c.contact_id.in_(released), now), else_=c.children_released_at
            )
        self.session.execute(
            sa.update(table)
            .where(c.inspection_id == self.inspection.id, c.contact_id.in_(messaged + released))
            .values(marks)
        )

    def flush(self) -> None:
        """Write the tree's marks, the queued messages and windows; a repeated message or window
        is skipped, never doubled."""
        self._write_tree()
        self.outbox.flush()
        windows, self.windows = self.windows, []
        due.add(self.session, windows)
