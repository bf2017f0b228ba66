"""What happens when a link is clicked, an SMS reply arrives, a window closes, a delivery fails
or a deadline reminder fires: each loads the inspection by id, opens a cascade run in the
caller's transaction and applies the cascade's rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from sqlmodel import Session, col, select

from service import signed_links
from service.cascade import groups, steering_reminders
from service.cascade import service as cascade
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.db import urgent_writer_waiting
from service.inspections.models import Inspection
from service.inspections.service import is_closed, open_ids, outbox_for
from service.notify.models import Medium, Message
from service.plan import tasks as plan_tasks
from service.rules import Rules
from service.scheduler import due
from service.scheduler.due import DueJob

log = structlog.get_logger(__name__)


def open_run(
    session: Session, inspection: Inspection, *, rules: Rules, now: datetime
) -> cascade.Run:
    """The cascade of one inspection in this transaction; the plan's task lists are read only
    when an announcement is sent (the cascade itself knows no plan)."""
    return cascade.Run(
        session,
        inspection,
        outbox=outbox_for(session, inspection, rules=rules, now=now),
        messaging=rules.messaging,
        tasks=lambda: plan_tasks.announcement_lists(
            session, inspection.id, zone=rules.messaging.zone
        ),
        now=now,
        steering_group=rules.steering_group,
    )


@dataclass(frozen=True)
class LinkHolder:
    """Whose link it is, for the page that asks them to confirm."""

    name: str
    inspection_id: uuid.UUID
    drill: bool
    acknowledged_at: datetime | None
    closed: bool = False
    """The inspection is closed: nothing is recorded any more, and the page must not say it was."""


def _node_from_token(session: Session, token: str, *, rules: Rules, now: datetime) -> CascadeNode:
    signer = signed_links.ack_signer(session, now=now)
    code = signer.code_from(token, max_age_seconds=rules.messaging.ack_max_age_seconds)
    node = cascade.node_by_code(session, code)
    if node is None:
        raise signed_links.LinkInvalid("this acknowledgement link is not known")
    return node


def describe_link(session: Session, token: str, *, rules: Rules, now: datetime) -> LinkHolder:
    """For GET: says whose link it is and records nothing (mail scanners follow links)."""
    node = _node_from_token(session, token, rules=rules, now=now)
    contact = session.get(Contact, node.contact_id)
    inspection = session.get(Inspection, node.inspection_id)
    assert inspection is not None
    return LinkHolder(
        name=contact.name if contact else node.contact_id,
        inspection_id=node.inspection_id,
        drill=inspection.drill,
        acknowledged_at=node.acknowledged_at,
        closed=is_closed(session, inspection.id),
    )


def acknowledge_link(session: Session, token: str, *, rules: Rules, now: datetime) -> LinkHolder:
    node = _node_from_token(session, token, rules=rules, now=now)
    inspection = session.get(Inspection, node.inspection_id)
    assert inspection is not None
    if not is_closed(session, inspection.id):
        cascade.acknowledge(open_run(session, inspection, rules=rules, now=now), node, via="link")
    return describe_link(session, token, rules=rules, now=now)


@dataclass(frozen=True)
class ReplyOutcome:
    acknowledged: int
    """Cascades the reply acknowledged the sender in."""
    kept: int
    """Cascades the reply was kept for (shown to the lead)."""


def receive_sms_reply(
    session: Session, *, notify_id: str, mobile: str, text: str, rules: Rules, now: datetime
) -> ReplyOutcome:
    """A text from `mobile`: in every open cascade that has messaged that person, kept; it
    acknowledges them only when it says one of the acknowledging words or their code
    (cascade.ACK_WORDS, `reply_code`). Any other reply is shown to the lead and answered once
    with how to acknowledge, and the escalation goes on."""
    nodes = session.exec(
        select(CascadeNode)
        .join(Contact, col(Contact.id) == col(CascadeNode.contact_id))
        .where(
            Contact.mobile == mobile,
            col(CascadeNode.notified_at).is_not(None),
            col(CascadeNode.inspection_id).in_(open_ids()),
        )
        .order_by(col(CascadeNode.notified_at))
    ).all()
    words = cascade.reply_words(text)
    codes = {cascade.reply_code(node) for node in nodes}
    acknowledged = kept = 0
    for node in nodes:
        inspection = session.get(Inspection, node.inspection_id)
        assert inspection is not None
        acknowledges = words in cascade.ACK_WORDS or words == cascade.reply_code(node)
        if words in codes and not acknowledges:
            continue  # another cascade's code: meant for that one alone
        waiting = node.acknowledged_at is None
        run = open_run(session, inspection, rules=rules, now=now)
        if cascade.keep_reply(run, node, notify_id=notify_id, text=text, acknowledges=acknowledges):
            kept += 1
            acknowledged += acknowledges and waiting
    return ReplyOutcome(acknowledged=acknowledged, kept=kept)


NO_SUCH_PERSON = "skipped: no such person in this cascade"


def _node_for_row(session: Session, inspection_id: uuid.UUID, job: DueJob) -> CascadeNode | None:
    return cascade.node_for(session, inspection_id, job.payload["contact_id"])


def _for_due_row(
    session: Session, job: DueJob, now: datetime, rules: Rules
) -> tuple[cascade.Run, CascadeNode] | str:
    """The run and the person a due row is about, or why the row has nothing to do."""
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None or is_closed(session, inspection.id):
        return "skipped: inspection closed"
    node = _node_for_row(session, inspection.id, job)
    if node is None:
        return NO_SUCH_PERSON
    return open_run(session, inspection, rules=rules, now=now), node


def window_closed(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    found = _for_due_row(session, job, now, rules)
    return found if isinstance(found, str) else cascade.close_window(*found)


RELEASE_BATCH_PEOPLE = 200
"""A release row claims the inspection's next due release rows into its own transaction until
about this many people are messaged: a window-0 tree of thousands releases in a few dozen
transactions, not one per group, and each stays short enough that a window closing elsewhere
never waits long for it."""

RELEASE_YIELD_AFTER_PEOPLE = 80
"""On SQLite the batch ends early when a send's claim or outcome waits for the database's one
write lock, once this many people were messaged in it: the sends of the groups already released
go on while the rest are released. Ending after every group (as before) made the transactions so
short that their own cost set the cascade's pace: `bench/cascade.py --latency-ms 0`, 10,000
people, wrote the 20,000 messages in 26-28 s at 0 against 8.5-9 s at 80, and sent them at 680-720
against 890-930 a second."""


RELEASE_CLAIM_CHUNK = 16
"""Release rows claimed with one statement, and their people read with one more: a chunk's rows
that the batch ends before are left as they were, for the next transaction."""


def _release_row(
    run: cascade.Run,
    node: CascadeNode | None,
    released: list[CascadeNode],
    release: Callable[[cascade.Run, CascadeNode], str] = cascade.release_due,
) -> str:
    """Release the group a claimed release row is about, noting whose group it was."""
    if node is None:
        return NO_SUCH_PERSON
    released.append(node)
    return release(run, node)


def _nodes_of_rows(
    session: Session, inspection_id: uuid.UUID, rows: list[DueJob]
) -> dict[str, CascadeNode]:
    wanted = [row.payload.get("contact_id") for row in rows]  # a row naming nobody: skipped
    return {
        node.contact_id: node
        for node in session.exec(
            select(CascadeNode).where(
                CascadeNode.inspection_id == inspection_id, col(CascadeNode.contact_id).in_(wanted)
            )
        ).all()
    }


def _node_of(nodes: dict[str, CascadeNode], row: DueJob) -> CascadeNode | None:
    return nodes.get(row.payload.get("contact_id", ""))


def _room(session: Session, released: list[CascadeNode]) -> bool:
    """Whether the batch may release another group (see RELEASE_BATCH_PEOPLE)."""
    people = sum(each.group_size for each in released)
    if people >= RELEASE_BATCH_PEOPLE:
        return False
    return people < RELEASE_YIELD_AFTER_PEOPLE or not urgent_writer_waiting(session)


def _heads_with_room(
    chunk: list[DueJob], nodes: dict[str, CascadeNode], released: list[CascadeNode]
) -> list[CascadeNode]:
    """The people of a chunk's rows whose groups the batch has room for, in order: their groups
    are read ahead, and the rest are not read for nothing."""
    people = sum(each.group_size for each in released)
    heads = []
    for row in chunk:
        if people >= RELEASE_BATCH_PEOPLE:
            break
        if (node := _node_of(nodes, row)) is not None:
            heads.append(node)
            people += node.group_size
    return heads


def _release_together(
    session: Session,
    run: cascade.Run,
    chunk: list[DueJob],
    nodes: dict[str, CascadeNode],
    released: list[CascadeNode],
    *,
    now: datetime,
    worker: str,
) -> None:
    """Release the groups of a chunk's rows while there is room, in one savepoint, and write them
    with one flush: a chunk costs a handful of round trips, not five a group. The rows it ran
    leave `chunk`; on a failure nothing does, and `released` is as it was."""
    before = len(released)
    ran = 0
    try:
        with due.together(session):
            for row in chunk:
                if not _room(session, released):
                    break
                outcome = _release_row(run, _node_of(nodes, row), released, cascade.release_group)
                due.ran(session, row, outcome, now=now, worker=worker)
                ran += 1
            run.flush()
    except Exception:
        del released[before:]
        raise
    del chunk[:ran]


def release_due(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    found = _for_due_row(session, job, now, rules)
    if isinstance(found, str):
        return found
    run, node = found
    outcome = cascade.release_due(run, node)
    released: list[CascadeNode] = [node]
    chunk: list[DueJob] = []
    nodes: dict[str, CascadeNode] = {}
    together = True
    worker = job.worker or ""
    while _room(session, released):
        if not chunk:
            # Rows come in due order, so a group is released before the groups below it.
            chunk = due.claim_due(
                session,
                now=now,
                kind=cascade.RELEASE_KIND,
                inspection_id=run.inspection.id,
                limit=RELEASE_CLAIM_CHUNK,
            )
            if not chunk:
                break
            nodes = _nodes_of_rows(session, run.inspection.id, chunk)
            if together:
                groups.read_ahead(run, _heads_with_room(chunk, nodes, released))
        if together:
            try:
                _release_together(session, run, chunk, nodes, released, now=now, worker=worker)
                continue
            except Exception as exc:
                if due.connection_lost(exc):
                    raise
                # Its rows again, one at a time in a run read afresh: the failing group's row
                # counts its attempt alone, and the groups before it are kept.
                log.info("cascade_releases_one_at_a_time", error=repr(exc))
                together = False
                run = open_run(session, run.inspection, rules=rules, now=now)
        other = chunk.pop(0)
        release = partial(_release_row, run, _node_of(nodes, other), released)
        if not due.run_claimed(session, other, release, now=now, worker=worker):
            break  # the run still holds the failed group's unwritten marks: flush it no more
    more = len(released) - 1
    return f"{outcome}; {more} more groups in the same transaction" if more else outcome


def message_failed(
    session: Session, message: Message, reason: str, now: datetime, *, rules: Rules
) -> None:
    """Wired in main.py as the outbox's delivery-failure hook."""
    if message.inspection_id is None:
        return
    inspection = session.get(Inspection, message.inspection_id)
    if inspection is None or is_closed(session, inspection.id):
        return
    cascade.delivery_failed(open_run(session, inspection, rules=rules, now=now), message, reason)


def medium_paused(session: Session, medium: Medium, now: datetime, *, rules: Rules) -> None:
    """Wired in main.py as the outbox's pause hook: every open inspection's cascade reaches the
    people waiting on the paused medium by their other one."""
    for inspection in session.exec(
        select(Inspection).where(col(Inspection.id).in_(open_ids()))
    ).all():
        cascade.medium_paused(open_run(session, inspection, rules=rules, now=now), medium)


def remind_steering_group(
    session: Session,
    inspection: Inspection,
    payload: dict[str, Any],
    *,
    rules: Rules,
    now: datetime,
) -> int:
    return steering_reminders.remind_steering_group(
        open_run(session, inspection, rules=rules, now=now), payload
    )
