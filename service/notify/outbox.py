"""The one writer of the outbox (DESIGN.md, "Nothing is lost").

Every message is rendered and written as a row in the transaction of the change that caused it;
the dispatcher sends rows, never anything else. A dedupe key per person, purpose and subject makes
a repeated write a no-op, so a handler that runs twice, or two causes of one message, never send
it twice. Callers hand in the people as plain objects (no domain import): anything with the
attributes of `Person` will do.

Rendering happens here, inside the caller's transaction: it is one linear pass over a bounded
template (templates/render.py), so it cannot hold the database for long whatever a coordinator
saved. When the council's edit cannot be used for someone, they get the shipped words and the
inspection's timeline says so, once per template per flush."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from service import timeline
from service.db import insert_many
from service.notify.models import Medium, Message, MessageStatus, Purpose
from service.notify.templates.render import render

FALLBACK_KIND = "template_fell_back"
FALLBACK_ACTOR = "messages"
NAMES_IN_SUMMARY = 5
PEOPLE_IN_DATA = 100


class Person(Protocol):
    """Who a message is for: a contact, as the contacts domain keeps them."""

    id: str
    name: str
    role: str | None
    email: str | None
    mobile: str | None
    channels: Sequence[str]


def addresses(person: Person) -> dict[Medium, str]:
    """Where a person can be reached, by the channels they chose (all they have, when none)."""
    found: dict[Medium, str] = {}
    if person.email:
        found[Medium.email] = person.email
    if person.mobile:
        found[Medium.sms] = person.mobile
    chosen = [Medium(c) for c in person.channels if c in Medium.__members__] or list(found)
    return {medium: found[medium] for medium in chosen if medium in found}


def spare_addresses(person: Person) -> dict[Medium, str]:
    """Addresses a person has but did not choose: the "other channel" for a re-send."""
    chosen = addresses(person)
    spare: dict[Medium, str] = {}
    if person.email and Medium.email not in chosen:
        spare[Medium.email] = person.email
    if person.mobile and Medium.sms not in chosen:
        spare[Medium.sms] = person.mobile
    return spare


def first_choice(person: Person) -> dict[Medium, str]:
    """The person's first-choice address only: for reminders and digests, not emergencies."""
    return dict(list(addresses(person).items())[:1])


class Outbox:
    """One transaction's messages about one inspection: `enqueue` renders and holds them,
    `flush` writes them in one statement, skipping any whose dedupe key is already taken."""

    def __init__(
        self,
        session: Session,
        *,
        inspection_id: uuid.UUID | None,
        drill: bool,
        context: Mapping[str, Any],
        now: datetime,
    ):
        self.session = session
        self.inspection_id = inspection_id
        self.drill = drill
        self.context = dict(context)
        """What every message about this inspection may say (council, framework, dates)."""
        self.now = now
        self._rows: list[dict[str, Any]] = []
        self._fell_back: dict[tuple[Purpose, Medium], list[tuple[Person, str]]] = {}

    def enqueue(
        self,
        *,
        person: Person,
        medium: Medium,
        address: str,
        purpose: Purpose,
        dedupe: str,
        priority: int,
        values: Mapping[str, Any],
    ) -> None:
        """`dedupe` names the person and what the message is about; `priority` is lower first
        (the tree level), so the steering group never waits behind all staff."""
        context = {
            **self.context,
            "contact": {"name": person.name, "role": person.role or ""},
            "ack_url": "",
            "reply_code": "",
            "tasks": [],
            **values,
        }
        rendered = render(
            self.session, purpose=purpose, medium=medium, context=context, drill=self.drill
        )
        if rendered.fell_back is not None:
            self._fell_back.setdefault((purpose, medium), []).append((person, rendered.fell_back))
        self._rows.append(
            {
                "id": uuid.uuid4(),
                "inspection_id": self.inspection_id,
                "contact_id": person.id,
                "medium": medium.value,
                "address": address,
                "purpose": purpose.value,
                "dedupe_key": self.key(dedupe, medium),
                "priority": priority,
                "subject": rendered.subject,
                "body": rendered.body,
                "html_body": rendered.html_body,
                "drill": self.drill,
                "status": MessageStatus.queued.value,
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            }
        )

    def key(self, dedupe: str, medium: Medium) -> str:
        """The row's dedupe key: a message with it was written already when one has it."""
        return f"{self.inspection_id}:{dedupe}:{medium.value}"

    def flush(self) -> int:
        """Write what was enqueued; returns how many rows were offered."""
        rows, self._rows = self._rows, []
        insert_many(self.session, Message.__table__, rows, skip_conflicts=True)  # type: ignore[arg-type]
        self._tell_the_lead()
        return len(rows)

    def _tell_the_lead(self) -> None:
        """A timeline entry for each edited template that could not be used for someone: who,
        and why (the first reason; all of them are in the log)."""
        fell_back, self._fell_back = self._fell_back, {}
        if self.inspection_id is None:
            return
        for (purpose, medium), people in fell_back.items():
            names = ", ".join(person.name for person, _ in people[:NAMES_IN_SUMMARY])
            if len(people) > NAMES_IN_SUMMARY:
                names += f" and {len(people) - NAMES_IN_SUMMARY} more"
            which = "e-mail" if medium is Medium.email else "text message"
            summary = (
                f"The council's {purpose.value.replace('_', ' ')} {which} could not be used for "
                f"{names}, so they were sent the shipped wording: {people[0][1]}"
            )
            timeline.log(
                self.session,
                inspection_id=self.inspection_id,
                actor=FALLBACK_ACTOR,
                kind=FALLBACK_KIND,
                summary=summary[:1000],
                data={
                    "purpose": purpose.value,
                    "medium": medium.value,
                    "people": len(people),
                    "contact_ids": [person.id for person, _ in people[:PEOPLE_IN_DATA]],
                    "reasons": sorted({reason for _, reason in people})[:10],
                },
                now=self.now,
            )
