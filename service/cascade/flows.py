"""What happens when a link is clicked, an SMS reply arrives, a window closes, a delivery fails
or a deadline reminder fires: each loads the inspection by id, opens a cascade run in the
caller's transaction and applies the cascade's rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service import acks
from service.cascade import service as cascade
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.errors import NotFound
from service.frameworks import Milestone
from service.inspections.models import Inspection, MilestoneRecord
from service.inspections.service import Rules, timetable_of
from service.notify.models import Message
from service.scheduler.due import DueJob


def open_run(
    session: Session, inspection: Inspection, *, rules: Rules, now: datetime
) -> cascade.Run:
    table = timetable_of(session, inspection, rules=rules)
    return cascade.Run(
        session,
        inspection,
        messaging=rules.messaging,
        framework_name=rules.framework(inspection.framework).name,
        on_site_start=table.on_site_start,
        inspection_end=table.inspection_end,
        now=now,
    )


def _closed(session: Session, inspection_id: uuid.UUID) -> bool:
    return session.get(MilestoneRecord, (inspection_id, Milestone.closed.value)) is not None


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
    signer = acks.signer(session, now=now)
    code = signer.code_from(token, max_age_seconds=rules.messaging.ack_max_age_seconds)
    node = cascade.node_by_code(session, code)
    if node is None:
        raise acks.AckLinkInvalid("this acknowledgement link is not known")
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
        closed=_closed(session, inspection.id),
    )


def acknowledge_link(session: Session, token: str, *, rules: Rules, now: datetime) -> LinkHolder:
    node = _node_from_token(session, token, rules=rules, now=now)
    inspection = session.get(Inspection, node.inspection_id)
    assert inspection is not None
    if not _closed(session, inspection.id):
        cascade.acknowledge(open_run(session, inspection, rules=rules, now=now), node, via="link")
    return describe_link(session, token, rules=rules, now=now)


def acknowledge_sms_reply(session: Session, *, mobile: str, rules: Rules, now: datetime) -> int:
    """A reply from a known mobile acknowledges that person in every open cascade that is
    waiting for them; returns how many."""
    waiting = session.exec(
        select(CascadeNode)
        .join(Contact, col(Contact.id) == col(CascadeNode.contact_id))
        .where(
            Contact.mobile == mobile,
            col(CascadeNode.notified_at).is_not(None),
            col(CascadeNode.acknowledged_at).is_(None),
        )
    ).all()
    count = 0
    for node in waiting:
        inspection = session.get(Inspection, node.inspection_id)
        if inspection is None or _closed(session, inspection.id):
            continue
        run = open_run(session, inspection, rules=rules, now=now)
        count += cascade.acknowledge(run, node, via="sms reply")
    return count


def _for_due_row(
    session: Session,
    job: DueJob,
    now: datetime,
    rules: Rules,
    step: Callable[[cascade.Run, CascadeNode], str],
) -> str:
    """Load the person a due row is about and apply `step`, unless the inspection closed."""
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None or _closed(session, inspection.id):
        return "skipped: inspection closed"
    node = cascade.node_for(session, inspection.id, job.payload["contact_id"])
    if node is None:
        return "skipped: no such person in this cascade"
    return step(open_run(session, inspection, rules=rules, now=now), node)


def window_closed(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    return _for_due_row(session, job, now, rules, cascade.close_window)


def release_due(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> str:
    return _for_due_row(session, job, now, rules, cascade.release_due)


def message_failed(
    session: Session, message: Message, reason: str, *, rules: Rules, now: datetime
) -> None:
    if message.inspection_id is None:
        return
    inspection = session.get(Inspection, message.inspection_id)
    if inspection is None or _closed(session, inspection.id):
        return
    cascade.delivery_failed(open_run(session, inspection, rules=rules, now=now), message, reason)


def remind_steering_group(session: Session, job: DueJob, now: datetime, *, rules: Rules) -> int:
    inspection = session.get(Inspection, job.inspection_id)
    if inspection is None:
        raise NotFound(f"no inspection {job.inspection_id}")
    return cascade.remind_steering_group(
        open_run(session, inspection, rules=rules, now=now), job.payload
    )
