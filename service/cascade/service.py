"""The communication tree in motion (DESIGN.md, "Communication tree rules").

On announce the steering group (level 1: the `STEERING_GROUP` group and everyone who reports to
nobody, contacts/tree.py) is messaged at once. A person's children are messaged
when the person acknowledges or when their acknowledgement window closes, whichever is first; a
window of 0 cascades at once. A closed window re-sends on the other channel, tells the deputy,
marks the person broken and carries the cascade on to their group: absence never stops it.
Every message and every window is a row written in the transaction that caused it."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service import timeline
from service.cascade import groups
from service.cascade.models import CascadeNode, SmsReply
from service.cascade.progress_events import emit_progress
from service.cascade.run import Run, TaskLists
from service.contacts.models import DEFAULT_ACK_WINDOW_MINUTES, Contact
from service.contacts.tree import places
from service.db import insert_many, refresh_statistics
from service.notify import pauses
from service.notify.models import Medium, Message, MessageStatus, Purpose
from service.notify.outbox import spare_addresses
from service.scheduler import due
from service.webhooks import service as webhooks

__all__ = ["Run", "TaskLists"]

WINDOW_KIND = "ack_window"
RELEASE_KIND = "cascade_release"
ACTOR = "cascade"


def _announcement_purpose(run: Run) -> Purpose:
    return Purpose.drill if run.drill else Purpose.announcement


def _announce_to(run: Run, node: CascadeNode, contact: Contact, targets: dict[Medium, str]) -> None:
    """The announcement (or drill) to one person at the given addresses, with their own link."""
    for medium, address in targets.items():
        run.outbox.enqueue(
            person=contact,
            medium=medium,
            address=address,
            purpose=_announcement_purpose(run),
            dedupe=f"{contact.id}:{Purpose.announcement}",
            priority=node.level,
            values={
                "ack_url": run.ack_url(node),
                "reply_code": reply_code(node),
                "tasks": run.tasks_for(contact.id),
            },
        )


ACK_WORDS = frozenset({"1", "ok", "yes", "y", "ack", "received"})
"""Text replies that acknowledge (case and spaces ignored), with the person's own code."""


def reply_code(node: CascadeNode) -> str:
    """The four digits an SMS shows for replying: the last of the link's random code. It only
    has to tell apart the few cascades one person can be waited for in at once."""
    return f"{node.ack_code % 10_000:04d}"


def reply_words(text: str) -> str:
    """A reply as compared: lower case, no spaces, no full stop or exclamation mark at the end."""
    return "".join(text.split()).lower().rstrip(".!")


def reply_acknowledges(text: str, node: CascadeNode) -> bool:
    words = reply_words(text)
    return words in ACK_WORDS or words == reply_code(node)


def keep_reply(
    run: Run, node: CascadeNode, *, notify_id: str, text: str, acknowledges: bool
) -> bool:
    """A text the person sent back while this cascade knew them: kept, shown to the lead, and,
    when it did not acknowledge someone still waited for, answered once with how to. True the
    first time (Notify retries its callback: the same text twice changes nothing)."""
    if run.session.exec(
        select(SmsReply.id).where(
            SmsReply.notify_id == notify_id, SmsReply.inspection_id == node.inspection_id
        )
    ).first():
        return False
    waiting = node.acknowledged_at is None
    run.session.add(
        SmsReply(
            notify_id=notify_id,
            inspection_id=node.inspection_id,
            contact_id=node.contact_id,
            text=text[:1000],
            acknowledged=acknowledges,
            received_at=run.now,
        )
    )
    if acknowledges:
        if waiting:
            acknowledge(run, node, via="sms reply")
        return True
    contact = run.contact(node.contact_id)
    name = contact.name if contact else node.contact_id
    shown = " ".join(text.split())
    timeline.log(
        run.session,
        inspection_id=run.inspection.id,
        actor=ACTOR,
        kind="cascade_replied",
        summary=f"{name} replied: {shown[:200]}",
        data={"contact_id": node.contact_id, "acknowledged": False},
        now=run.now,
    )
    if waiting and contact is not None and contact.mobile:
        run.outbox.enqueue(
            person=contact,
            medium=Medium.sms,
            address=contact.mobile,
            purpose=Purpose.reply_help,
            dedupe=f"{contact.id}:{Purpose.reply_help}",
            priority=node.level,
            values={"ack_url": run.ack_url(node), "reply_code": reply_code(node)},
        )
    run.flush()
    return True


def _notify(run: Run, node: CascadeNode) -> bool:
    """Message one person and open their window. True when their group should be messaged at
    once: a window of 0, or nobody to message."""
    contact = run.contact(node.contact_id)
    run.notified(node, window_closes_at=run.now + timedelta(minutes=node.window_minutes))
    reachable = run.reachable(contact) if contact else {}
    if contact is not None:
        _announce_to(run, node, contact, reachable)
    if not reachable:
        _escalate(run, node, "has no e-mail address or mobile number to message")
        return True
    if node.window_minutes == 0:
        return True
    run.windows.append(
        due.new_row(
            kind=WINDOW_KIND,
            dedupe_key=window_key(run.inspection.id, node.contact_id),
            inspection_id=run.inspection.id,
            due_at=node.window_closes_at,
            payload={"contact_id": node.contact_id},
            now=run.now,
        )
    )
    return False


def window_key(inspection_id: uuid.UUID, contact_id: str) -> str:
    return f"{inspection_id}:window:{contact_id}"


def _release_children(run: Run, node: CascadeNode) -> None:
    """Message a person's group (once). A child whose own group should go at once gets a due
    row for that, so a large fan-out runs as many short transactions, level by level, and the
    steering group's messages are never held back behind the whole tree's."""
    if node.children_released_at is not None:
        return
    run.released(node)
    for child in groups.unmessaged(run, node):
        if _notify(run, child):
            _schedule_release(run, child)


def _schedule_release(run: Run, node: CascadeNode) -> None:
    if node.group_size == 0:  # nobody to message: done now, no step needed
        run.released(node)
        return
    run.windows.append(
        due.new_row(
            kind=RELEASE_KIND,
            dedupe_key=f"{run.inspection.id}:release:{node.contact_id}",
            inspection_id=run.inspection.id,
            due_at=run.now,
            payload={"contact_id": node.contact_id},
            now=run.now,
        )
    )


def release_due(run: Run, node: CascadeNode) -> str:
    """The due row for a group that goes at once (window 0, or nobody to message)."""
    outcome = release_group(run, node)
    run.flush()
    return outcome


def release_group(run: Run, node: CascadeNode) -> str:
    """`release_due` without its write: the run writes what it queued at its next `flush`, with
    the other groups released before then."""
    if node.children_released_at is not None:
        return "already released"
    _release_children(run, node)
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
    stand_in = _stand_in(run, node, contact)
    told = None
    if stand_in is not None:
        told = stand_in.name
        # a paused medium's spare too
        _tell_stand_in(run, node, contact, stand_in, reason, run.reachable(stand_in))
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
    webhooks.emit(
        run.session,
        "contact.escalated",
        {
            "inspection_id": str(run.inspection.id),
            "contact_id": contact.id,
            "name": contact.name,
            "role": contact.role,
            "level": node.level,
            "reason": reason,
            "told": told,
            "escalated_at": run.now.isoformat(),
        },
        run.inspection.id,
        now=run.now,
    )


def _stand_in(run: Run, node: CascadeNode, contact: Contact) -> Contact | None:
    """Who is told when someone is escalated: their deputy or, without one, their manager."""
    stand_in = run.contact(node.deputy_id) or run.contact(node.parent_id)
    if stand_in is None or not stand_in.active or stand_in.id == contact.id:
        return None
    return stand_in


def _escalation(stand_in: Contact, contact: Contact) -> str:
    return f"{stand_in.id}:{Purpose.escalation}:{contact.id}"


def _tell_stand_in(
    run: Run,
    node: CascadeNode,
    contact: Contact,
    stand_in: Contact,
    reason: str,
    targets: dict[Medium, str],
) -> None:
    for medium, address in targets.items():
        run.outbox.enqueue(
            person=stand_in,
            medium=medium,
            address=address,
            purpose=Purpose.escalation,
            dedupe=_escalation(stand_in, contact),
            priority=node.level,
            values={
                "ack_url": run.ack_url(node),
                "about": {"name": contact.name, "role": contact.role or ""},
                "reason": reason,
            },
        )


def _retell_stand_ins(run: Run, medium: Medium, other: Medium) -> int:
    """Stand-ins whose escalation waits on `medium`, now paused, and who did not choose `other`:
    told on `other` too, at once, once. Returns how many people's stand-ins were told again."""
    waiting = set(
        run.session.exec(
            select(Message.contact_id).where(
                Message.inspection_id == run.inspection.id,
                Message.medium == medium.value,
                Message.status == MessageStatus.queued,
                Message.purpose == Purpose.escalation,
            )
        ).all()
    )
    if not waiting:
        return 0
    written = set(
        run.session.exec(
            select(Message.dedupe_key).where(
                Message.inspection_id == run.inspection.id,
                Message.medium == other.value,
                Message.purpose == Purpose.escalation,
            )
        ).all()
    )
    escalated = run.session.exec(
        select(CascadeNode).where(
            CascadeNode.inspection_id == run.inspection.id,
            col(CascadeNode.escalated_at).is_not(None),
            col(CascadeNode.acknowledged_at).is_(None),
        )
    ).all()
    told = 0
    for node in escalated:
        contact = run.contact(node.contact_id)
        stand_in = _stand_in(run, node, contact) if contact else None
        if contact is None or stand_in is None or stand_in.id not in waiting:
            continue
        spare = spare_addresses(stand_in)
        if other not in spare or run.outbox.key(_escalation(stand_in, contact), other) in written:
            continue
        reason = node.broken_reason or "was escalated"
        _tell_stand_in(run, node, contact, stand_in, reason, {other: spare[other]})
        told += 1
    return told


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


def start(run: Run) -> int:
    """Snapshot the tree for this inspection and message the steering group; returns how many
    people the cascade will reach."""
    session, inspection = run.session, run.inspection
    everyone = {
        row.id: row
        for row in session.execute(
            sa.select(  # plain rows: the tree of 10,000 needs no ORM objects
                Contact.id,
                Contact.reports_to,
                Contact.deputy,
                Contact.active,
                Contact.groups,
                Contact.ack_window_minutes,
            )
        ).all()
    }
    contacts = {cid: c for cid, c in everyone.items() if c.active}
    if not contacts:
        return 0
    levels = places(everyone, run.steering_group)
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
    for table in (CascadeNode.__table__, Message.__table__):  # what the cascade writes most
        refresh_statistics(session, table, adding=len(rows))  # type: ignore[arg-type]
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
    emit_progress(run)
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
    if message.contact_id is None or message.purpose not in (Purpose.announcement, Purpose.drill):
        return
    node = node_for(run.session, run.inspection.id, message.contact_id)
    if node is None or node.acknowledged_at is not None:
        return
    contact = run.contact(node.contact_id)
    tried = run.session.exec(
        select(Message.medium, Message.status).where(
            Message.inspection_id == run.inspection.id,
            Message.contact_id == node.contact_id,
            col(Message.purpose).in_([Purpose.announcement, Purpose.drill]),
            Message.id != message.id,
        )
    ).all()
    still_going = any(status != MessageStatus.failed for _, status in tried)
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


ANNOUNCING = (Purpose.announcement, Purpose.drill)


def medium_paused(run: Run, medium: Medium) -> int:
    """`medium` is paused (a daily limit) and its queued messages wait for midnight: everyone
    whose announcement waits on it and who has not acknowledged is sent it now on their other
    medium, when they have an address there; the others wait, and their window escalates as
    usual. A stand-in whose escalation waits on it is told on the other medium too. Runs again
    for texts that were in flight when the limit was met: whoever was sent the message on the
    other medium already is not sent it twice, and the timeline says nothing new when no one was
    reached. Returns how many were reached another way."""
    other = Medium.email if medium is Medium.sms else Medium.sms
    waiting = set(
        run.session.exec(
            select(Message.contact_id).where(
                Message.inspection_id == run.inspection.id,
                Message.medium == medium.value,
                Message.status == MessageStatus.queued,
                col(Message.purpose).in_(ANNOUNCING),
            )
        ).all()
    )
    already = set(
        run.session.exec(
            select(Message.contact_id).where(
                Message.inspection_id == run.inspection.id,
                Message.medium == other.value,
                col(Message.purpose).in_(ANNOUNCING),
            )
        ).all()
    )
    reached = 0
    for contact_id in sorted(c for c in waiting - already if c is not None):
        node = node_for(run.session, run.inspection.id, contact_id)
        contact = run.contact(contact_id)
        if node is None or node.acknowledged_at is not None or contact is None:
            continue
        address = contact.email if other is Medium.email else contact.mobile
        if address:
            _announce_to(run, node, contact, {other: address})
            reached += 1
    retold = _retell_stand_ins(run, medium, other)
    pause = next((p for p in pauses.active(run.session, run.now) if p.medium is medium), None)
    if reached == 0 and retold == 0 and pause is not None and pause.since < run.now:
        return 0  # the pause is on the timeline already
    said = pause.message if pause else f"{medium} paused"
    summary = f"{said}; {reached} people waiting on it were sent the message by {other} instead"
    if retold:
        summary += f"; {retold} escalations waiting on it were sent by {other} too"
    timeline.log(
        run.session,
        inspection_id=run.inspection.id,
        actor=ACTOR,
        kind="cascade_medium_paused",
        summary=summary,
        data={
            "medium": medium.value,
            "reached_by": other.value,
            "reached": reached,
            "stand_ins_told": retold,
        },
        now=run.now,
    )
    run.flush()
    return reached
