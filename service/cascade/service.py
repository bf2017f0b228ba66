"""The communication tree in motion (DESIGN.md, "Communication tree rules").

On announce the steering group (level 1) is messaged at once. A person's children are messaged
when the person acknowledges or when their acknowledgement window closes, whichever is first; a
window of 0 cascades at once. A closed window re-sends on the other channel, tells the deputy,
marks the person broken and carries the cascade on to their group: absence never stops it.
Every message and every window is a row written in the transaction that caused it."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from service import acks, timeline
from service.cascade.models import CascadeNode
from service.contacts.models import DEFAULT_ACK_WINDOW_MINUTES, Contact
from service.db import insert_many
from service.inspections.models import Inspection
from service.notify.base import Medium
from service.notify.models import FAILED, QUEUED, Message
from service.notify.render import format_day, format_moment, render
from service.plan.models import Task, TaskStatus
from service.scheduler import due

WINDOW_KIND = "ack_window"
RELEASE_KIND = "cascade_release"
ANNOUNCEMENT, ESCALATION, REMINDER, DRILL = "announcement", "escalation", "reminder", "drill"
ACTOR = "cascade"


@dataclass(frozen=True)
class Messaging:
    """What messages need from configuration."""

    public_base_url: str = "http://127.0.0.1:8000"
    council_name: str = "the council"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    ack_max_age_seconds: int = 168 * 3600


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def addresses(contact: Contact) -> dict[Medium, str]:
    """Where a person can be reached, by the channels they chose (all they have, when none)."""
    found: dict[Medium, str] = {}
    if contact.email:
        found[Medium.email] = contact.email
    if contact.mobile:
        found[Medium.sms] = contact.mobile
    chosen = [Medium(c) for c in contact.channels if c in Medium.__members__] or list(found)
    return {medium: found[medium] for medium in chosen if medium in found}


def spare_addresses(contact: Contact) -> dict[Medium, str]:
    """Addresses a person has but did not choose: the "other channel" for a re-send."""
    chosen = addresses(contact)
    spare: dict[Medium, str] = {}
    if contact.email and Medium.email not in chosen:
        spare[Medium.email] = contact.email
    if contact.mobile and Medium.sms not in chosen:
        spare[Medium.sms] = contact.mobile
    return spare


class Run:
    """One transaction's view of one inspection's cascade: the people, the links, the context."""

    def __init__(
        self,
        session: Session,
        inspection: Inspection,
        *,
        messaging: Messaging,
        framework_name: str,
        on_site_start: date | None,
        inspection_end: date | None,
        now: datetime,
    ):
        self.session = session
        self.inspection = inspection
        self.messaging = messaging
        self.now = now
        self.signer = acks.signer(session, now=now)
        self._contacts: dict[str, Contact] = {}
        self.base_context = {
            "council_name": messaging.council_name,
            "inspection": {
                "framework_name": framework_name,
                "lead_inspector": inspection.lead_inspector or "",
                "notified_at": format_moment(inspection.notified_at, messaging.zone),
                "on_site_start": format_day(on_site_start) if on_site_start else "",
                "inspection_end": format_day(inspection_end) if inspection_end else "",
            },
        }
        self.messages: list[dict[str, Any]] = []
        self.windows: list[dict[str, Any]] = []
        self._tasks: dict[str, list[dict[str, str]]] | None = None

    def tasks_for(self, contact_id: str) -> list[dict[str, str]]:
        """The person's open plan tasks, soonest first, as their announcement lists them."""
        if self._tasks is None:
            self._tasks = {}
            rows = self.session.exec(
                select(Task.owner_contact_id, Task.title, Task.due_at)
                .where(
                    Task.inspection_id == self.inspection.id,
                    Task.status != TaskStatus.done.value,
                    col(Task.owner_contact_id).is_not(None),
                )
                .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.position))
            ).all()
            for owner, title, due_at in rows:
                self._tasks.setdefault(owner, []).append(
                    {
                        "title": title,
                        "due": format_moment(due_at, self.messaging.zone)
                        if due_at
                        else "when it can be timed",
                    }
                )
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
        return acks.ack_url(self.messaging.public_base_url, self.signer.token_for(node.ack_code))

    def queue(
        self,
        *,
        contact: Contact,
        medium: Medium,
        address: str,
        purpose: str,
        dedupe: str,
        priority: int,
        extra: dict[str, Any],
    ) -> None:
        context = {
            **self.base_context,
            "contact": {"name": contact.name, "role": contact.role or ""},
            "ack_url": "",
            "tasks": [],
            **extra,
        }
        rendered = render(
            self.session, purpose=purpose, medium=medium, context=context, drill=self.drill
        )
        self.messages.append(
            {
                "id": uuid.uuid4(),
                "inspection_id": self.inspection.id,
                "contact_id": contact.id,
                "medium": medium.value,
                "address": address,
                "purpose": purpose,
                "dedupe_key": f"{self.inspection.id}:{dedupe}:{medium.value}",
                "priority": priority,
                "subject": rendered.subject,
                "body": rendered.body,
                "html_body": rendered.html_body,
                "drill": self.drill,
                "status": QUEUED,
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            }
        )

    def flush(self) -> None:
        """Write the queued messages and windows; a repeated one is skipped, never doubled."""
        if self.messages:
            statement = _insert(self.session, Message).on_conflict_do_nothing(
                index_elements=["dedupe_key"]
            )
            self.session.execute(statement, self.messages)
            self.messages = []
        if self.windows:
            statement = _insert(self.session, due.DueJob).on_conflict_do_nothing(
                index_elements=["dedupe_key"]
            )
            self.session.execute(statement, self.windows)
            self.windows = []


def _announcement_purpose(run: Run) -> str:
    return DRILL if run.drill else ANNOUNCEMENT


def _announce_to(run: Run, node: CascadeNode, contact: Contact, targets: dict[Medium, str]) -> None:
    """The announcement (or drill) to one person at the given addresses, with their own link."""
    for medium, address in targets.items():
        run.queue(
            contact=contact,
            medium=medium,
            address=address,
            purpose=_announcement_purpose(run),
            dedupe=f"{contact.id}:{ANNOUNCEMENT}",
            priority=node.level,
            extra={"ack_url": run.ack_url(node), "tasks": run.tasks_for(contact.id)},
        )


def _notify(run: Run, node: CascadeNode) -> bool:
    """Message one person and open their window. True when their group should be messaged at
    once: a window of 0, or nobody to message."""
    contact = run.contact(node.contact_id)
    node.notified_at = run.now
    node.window_closes_at = run.now + timedelta(minutes=node.window_minutes)
    run.session.add(node)
    reachable = addresses(contact) if contact else {}
    if contact is not None:
        _announce_to(run, node, contact, reachable)
    if not reachable:
        _escalate(run, node, "has no e-mail address or mobile number to message")
        return True
    if node.window_minutes == 0:
        return True
    run.windows.append(
        {
            "kind": WINDOW_KIND,
            "dedupe_key": window_key(run.inspection.id, node.contact_id),
            "inspection_id": run.inspection.id,
            "due_at": node.window_closes_at,
            "status": due.PENDING,
            "attempts": 0,
            "payload": {"contact_id": node.contact_id},
            "created_at": run.now,
        }
    )
    return False


def window_key(inspection_id: uuid.UUID, contact_id: str) -> str:
    return f"{inspection_id}:window:{contact_id}"


def _children(run: Run, node: CascadeNode) -> list[CascadeNode]:
    return list(
        run.session.exec(
            select(CascadeNode).where(
                CascadeNode.inspection_id == node.inspection_id,
                CascadeNode.parent_id == node.contact_id,
                col(CascadeNode.notified_at).is_(None),
            )
        ).all()
    )


def _release_children(run: Run, node: CascadeNode) -> None:
    """Message a person's group (once). A child whose own group should go at once gets a due
    row for that, so a large fan-out runs as many short transactions, level by level, and the
    steering group's messages are never held back behind the whole tree's."""
    if node.children_released_at is not None:
        return
    node.children_released_at = run.now
    run.session.add(node)
    children = _children(run, node)
    if not children:
        return
    run.remember(
        run.session.exec(
            select(Contact).where(col(Contact.id).in_([c.contact_id for c in children]))
        ).all()
    )
    for child in children:
        if _notify(run, child):
            _schedule_release(run, child)


def _schedule_release(run: Run, node: CascadeNode) -> None:
    if node.group_size == 0:  # nobody to message: done now, no step needed
        node.children_released_at = run.now
        run.session.add(node)
        return
    run.windows.append(
        {
            "kind": RELEASE_KIND,
            "dedupe_key": f"{run.inspection.id}:release:{node.contact_id}",
            "inspection_id": run.inspection.id,
            "due_at": run.now,
            "status": due.PENDING,
            "attempts": 0,
            "payload": {"contact_id": node.contact_id},
            "created_at": run.now,
        }
    )


def release_due(run: Run, node: CascadeNode) -> str:
    """The due row for a group that goes at once (window 0, or nobody to message)."""
    if node.children_released_at is not None:
        return "already released"
    _release_children(run, node)
    run.flush()
    return "released"


def _escalate(run: Run, node: CascadeNode, reason: str) -> None:
    """Once per person: mark them broken, re-send by their other channel, tell their deputy (or,
    without one, the person they report to)."""
    if node.escalated_at is not None:
        return
    node.escalated_at = run.now
    node.broken_reason = reason
    run.session.add(node)
    contact = run.contact(node.contact_id)
    if contact is None:
        return
    _announce_to(run, node, contact, spare_addresses(contact))
    stand_in = run.contact(node.deputy_id) or run.contact(node.parent_id)
    told = None
    if stand_in is not None and stand_in.active and stand_in.id != contact.id:
        told = stand_in.name
        for medium, address in addresses(stand_in).items():
            run.queue(
                contact=stand_in,
                medium=medium,
                address=address,
                purpose=ESCALATION,
                dedupe=f"{stand_in.id}:{ESCALATION}:{contact.id}",
                priority=node.level,
                extra={
                    "ack_url": run.ack_url(node),
                    "about": {"name": contact.name, "role": contact.role or ""},
                    "reason": reason,
                },
            )
    timeline.log(
        run.session,
        inspection_id=run.inspection.id,
        actor=ACTOR,
        kind="cascade_escalated",
        summary=f"{contact.name} {reason}; "
        + (f"{told} has been told" if told else "nobody to stand in: shown as broken"),
        data={"contact_id": contact.id, "reason": reason, "told": told},
        now=run.now,
    )


def tree(everyone: Mapping[str, Any]) -> dict[str, tuple[int, str | None]]:
    """Each active person's (level, parent). Someone reporting to an inactive person hangs from
    that person's nearest active ancestor, so nobody falls out of the tree; cycles (which the
    import refuses) are cut rather than followed forever."""
    active = {cid for cid, contact in everyone.items() if contact.active}
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
    levels: dict[str, int] = {}
    for cid in active:
        chain: list[str] = []
        current: str | None = cid
        while current is not None and current not in levels:
            if current in chain:
                parent[current], levels[current] = None, 1
                break
            chain.append(current)
            current = parent[current]
        for member in reversed(chain):
            if member not in levels:
                above = parent[member]
                levels[member] = 1 if above is None else levels[above] + 1
    return {cid: (levels[cid], parent[cid]) for cid in active}


def _new_ack_codes(count: int) -> list[int]:
    """`count` distinct random 40-bit codes, from one read of the system's random source."""
    raw = os.urandom(5 * count)
    codes = list(
        dict.fromkeys(int.from_bytes(raw[i : i + 5], "big") for i in range(0, len(raw), 5))
    )
    while len(codes) < count:  # a repeat among 2**40 values: draw again
        codes = list(dict.fromkeys(codes + _new_ack_codes(count - len(codes))))
    return codes


def _insert_nodes(session: Session, inspection_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """Codes are unique across every inspection, and 40 random bits collide now and then once
    hundreds of thousands exist (many drills of a large tree): a row whose code is taken is
    skipped by the database and inserted again with a fresh code."""
    pending = rows
    while pending:
        insert_many(session, CascadeNode.__table__, pending, skip_conflicts=True)  # type: ignore[arg-type]
        stored = session.exec(
            select(sa.func.count()).where(CascadeNode.inspection_id == inspection_id)
        ).one()
        if stored == len(rows):
            return
        have = set(
            session.exec(
                select(CascadeNode.contact_id).where(CascadeNode.inspection_id == inspection_id)
            ).all()
        )
        pending = [row for row in rows if row["contact_id"] not in have]
        for row, code in zip(pending, _new_ack_codes(len(pending)), strict=True):
            row["ack_code"] = code


def start(
    session: Session,
    *,
    inspection: Inspection,
    messaging: Messaging,
    framework_name: str,
    on_site_start: date,
    inspection_end: date,
    now: datetime,
) -> int:
    """Snapshot the tree for this inspection and message the steering group; returns how many
    people the cascade will reach."""
    everyone = {
        row.id: row
        for row in session.execute(
            sa.select(  # plain rows: the tree of 10,000 needs no ORM objects
                Contact.id,
                Contact.reports_to,
                Contact.deputy,
                Contact.active,
                Contact.ack_window_minutes,
            )
        ).all()
    }
    contacts = {cid: c for cid, c in everyone.items() if c.active}
    if not contacts:
        return 0
    levels = tree(everyone)
    codes = iter(_new_ack_codes(len(levels)))
    rows = []
    group_sizes = Counter(parent for _, parent in levels.values() if parent is not None)
    for contact_id, (level, parent) in levels.items():
        contact = contacts[contact_id]
        code = next(codes)
        window = (
            DEFAULT_ACK_WINDOW_MINUTES
            if contact.ack_window_minutes is None
            else contact.ack_window_minutes
        )
        rows.append(
            {
                "inspection_id": inspection.id,
                "contact_id": contact_id,
                "ack_code": code,
                "level": level,
                "parent_id": parent,
                "deputy_id": contact.deputy if contact.deputy in contacts else None,
                "window_minutes": window,
                "group_size": group_sizes.get(contact_id, 0),
            }
        )
    _insert_nodes(session, inspection.id, rows)
    run = Run(
        session,
        inspection,
        messaging=messaging,
        framework_name=framework_name,
        on_site_start=on_site_start,
        inspection_end=inspection_end,
        now=now,
    )
    steering = session.exec(
        select(CascadeNode).where(
            CascadeNode.inspection_id == inspection.id, CascadeNode.level == 1
        )
    ).all()
    run.remember(
        session.exec(
            select(Contact).where(col(Contact.id).in_([n.contact_id for n in steering]))
        ).all()
    )
    for node in steering:
        if _notify(run, node):
            _schedule_release(run, node)
    run.flush()
    return len(rows)


def node_for(session: Session, inspection_id: uuid.UUID, contact_id: str) -> CascadeNode | None:
    return session.get(CascadeNode, (inspection_id, contact_id))


def node_by_code(session: Session, ack_code: int) -> CascadeNode | None:
    return session.exec(select(CascadeNode).where(CascadeNode.ack_code == ack_code)).first()


def acknowledge(run: Run, node: CascadeNode, *, via: str) -> bool:
    """Record that the person has the message and message their group; True the first time,
    False when they (or their deputy) had already acknowledged: twice is harmless."""
    if node.acknowledged_at is not None:
        return False
    node.acknowledged_at = run.now
    node.acknowledged_via = via
    run.session.add(node)
    window = due.find(run.session, window_key(node.inspection_id, node.contact_id))
    if window is not None:
        due.cancel(window, reason="acknowledged", now=run.now)
        run.session.add(window)
    _release_children(run, node)
    if node.level == 1:
        contact = run.contact(node.contact_id)
        timeline.log(
            run.session,
            inspection_id=run.inspection.id,
            actor=ACTOR,
            kind="cascade_acknowledged",
            summary=f"{contact.name if contact else node.contact_id} acknowledged ({via})",
            data={"contact_id": node.contact_id, "via": via},
            now=run.now,
        )
    run.flush()
    return True


def close_window(run: Run, node: CascadeNode) -> str:
    """The acknowledgement window closed: escalate if nobody acknowledged, and go on regardless."""
    if node.acknowledged_at is not None:
        return "acknowledged in time"
    _escalate(run, node, f"did not acknowledge within {node.window_minutes} minutes")
    _release_children(run, node)
    run.flush()
    return "escalated"


def delivery_failed(run: Run, message: Message, reason: str) -> None:
    """A permanent failure: try the person's other channel at once; when nothing else can reach
    them, escalate at once and carry the cascade on to their group."""
    if message.contact_id is None or message.purpose not in (ANNOUNCEMENT, DRILL):
        return
    node = node_for(run.session, run.inspection.id, message.contact_id)
    if node is None or node.acknowledged_at is not None:
        return
    contact = run.contact(node.contact_id)
    tried = run.session.exec(
        select(Message.medium, Message.status).where(
            Message.inspection_id == run.inspection.id,
            Message.contact_id == node.contact_id,
            col(Message.purpose).in_([ANNOUNCEMENT, DRILL]),
            Message.id != message.id,
        )
    ).all()
    still_going = any(status != FAILED for _, status in tried)
    # A spare channel already tried (say by an earlier failure) is no way out any more.
    used = {medium for medium, _ in tried} | {message.medium}
    spare = {
        medium: address
        for medium, address in (spare_addresses(contact) if contact else {}).items()
        if medium.value not in used
    }
    if not still_going and not spare:
        _escalate(run, node, f"could not be reached: {reason}")
        _release_children(run, node)
    else:
        node.broken_reason = f"{message.medium} could not be delivered: {reason}"
        run.session.add(node)
        if contact is not None:
            _announce_to(run, node, contact, spare)
    run.flush()


def remind_steering_group(run: Run, payload: dict[str, Any]) -> int:
    """A deadline reminder to everyone in the steering group of the inspection."""
    nodes = run.session.exec(
        select(CascadeNode).where(
            CascadeNode.inspection_id == run.inspection.id, CascadeNode.level == 1
        )
    ).all()
    count = 0
    for node in nodes:
        contact = run.contact(node.contact_id)
        if contact is None or not contact.active:
            continue
        for medium, address in addresses(contact).items():
            run.queue(
                contact=contact,
                medium=medium,
                address=address,
                purpose=REMINDER,
                dedupe=f"{contact.id}:{REMINDER}:{payload['deadline']}:{payload['working_days_before']}",
                priority=1,
                extra={
                    "deadline": {
                        "label": payload["label"],
                        "due": format_day(date.fromisoformat(payload["due"])),
                        "working_days_before": payload["working_days_before"],
                    }
                },
            )
            count += 1
    run.flush()
    return count
