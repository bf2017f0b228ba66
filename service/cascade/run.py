"""One transaction's view of one inspection's cascade (`Run`): what every step of the cascade
reads and writes through, so the people, their links, the paused media and the task lists are
looked up once per transaction, and the messages and windows it queues are written together."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

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

    def flush(self) -> None:
        """Write the queued messages and windows; a repeated one is skipped, never doubled."""
        self.outbox.flush()
        windows, self.windows = self.windows, []
        due.add(self.session, windows)
