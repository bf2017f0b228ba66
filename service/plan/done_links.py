"""One-click "mark done" links in task reminders, escalations and digests.

Like acknowledgement links (service/acks.py) the signed link is the credential, so nobody needs to
log in. It names the task and the person it was sent to (recorded as `done_by`
"link:<contact id>"), is signed with the service's own key under a salt of its own (an
acknowledgement token is never a mark-done token) and expires after ACK_LINK_MAX_AGE_HOURS.
Opening a link records nothing (mail scanners follow links); only the confirming POST does."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlmodel import Session, col

from service import acks, secrets, timeline
from service.contacts.models import Contact
from service.frameworks import Milestone
from service.inspections.models import Inspection, MilestoneRecord
from service.plan import reminders
from service.plan.models import Task, TaskStatus

SALT = "inspection-week.task-done"
PATH = "/tasks/done/"
ACTOR_PREFIX = "link:"


class DoneLinkInvalid(ValueError):
    """Not a link this service made, or its task no longer exists."""


class DoneLinkExpired(ValueError):
    """A genuine link, but older than ACK_LINK_MAX_AGE_HOURS."""


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DoneLinkInvalid("not a mark-done link") from exc


@dataclass(frozen=True)
class DoneLink:
    task_id: uuid.UUID
    contact_id: str
    """Who the link was sent to."""


class DoneSigner:
    """Tokens of about 65 characters: the task id and the contact id, base64url, then the
    timestamp and signature (itsdangerous splits from the right, so the dot between is safe)."""

    def __init__(self, key: str):
        self._signer = TimestampSigner(key, salt=SALT)

    def token_for(self, task_id: uuid.UUID, contact_id: str) -> str:
        value = f"{_encode(task_id.bytes)}.{_encode(contact_id.encode('utf-8'))}"
        return self._signer.sign(value).decode("ascii")

    def link_from(self, token: str, *, max_age_seconds: int) -> DoneLink:
        try:
            value = self._signer.unsign(token, max_age=max_age_seconds).decode("ascii")
        except SignatureExpired as exc:
            raise DoneLinkExpired("this mark-done link has expired") from exc
        except (BadSignature, UnicodeError) as exc:
            raise DoneLinkInvalid("not a mark-done link") from exc
        task_part, _, contact_part = value.partition(".")
        raw = _decode(task_part)
        if len(raw) != 16 or not contact_part:
            raise DoneLinkInvalid("not a mark-done link")
        try:
            contact_id = _decode(contact_part).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DoneLinkInvalid("not a mark-done link") from exc
        return DoneLink(task_id=uuid.UUID(bytes=raw), contact_id=contact_id)


_signers: dict[str, DoneSigner] = {}


def signer(session: Session, *, now: datetime) -> DoneSigner:
    """Signed with the key acknowledgement links use (kept in the database, shared by replicas)."""
    key = secrets.get_or_create(session, acks.SECRET_NAME, now=now)
    found = _signers.get(key)
    if found is None:
        found = _signers[key] = DoneSigner(key)
    return found


def done_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}{PATH}{token}"


@dataclass(frozen=True)
class TaskLink:
    """What the confirmation page shows about a link's task."""

    task_id: uuid.UUID
    title: str
    description: str | None
    due_at: datetime | None
    name: str
    """The person the link was sent to."""
    owner_name: str | None
    drill: bool
    closed: bool
    done_at: datetime | None
    done_by_name: str | None
    """Who marked it done, when it is done (a person's name where it was one of ours)."""
    just_done: bool = False
    """This request marked it done."""


def _closed(session: Session, inspection_id: uuid.UUID) -> bool:
    return session.get(MilestoneRecord, (inspection_id, Milestone.closed.value)) is not None


def _name(session: Session, contact_id: str | None) -> str | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    return contact.name if contact is not None else contact_id


def _done_by_name(session: Session, done_by: str | None) -> str | None:
    if done_by is None:
        return None
    if done_by.startswith(ACTOR_PREFIX):
        return _name(session, done_by.removeprefix(ACTOR_PREFIX))
    return done_by


def _resolve(session: Session, token: str, *, max_age_seconds: int, now: datetime) -> DoneLink:
    link = signer(session, now=now).link_from(token, max_age_seconds=max_age_seconds)
    return link


def _describe(session: Session, link: DoneLink, task: Task, *, just_done: bool) -> TaskLink:
    inspection = session.get(Inspection, task.inspection_id)
    assert inspection is not None
    return TaskLink(
        task_id=task.id,
        title=task.title,
        description=task.description,
        due_at=task.due_at,
        name=_name(session, link.contact_id) or link.contact_id,
        owner_name=_name(session, task.owner_contact_id),
        drill=inspection.drill,
        closed=_closed(session, inspection.id),
        done_at=task.done_at if task.status == TaskStatus.done.value else None,
        done_by_name=_done_by_name(session, task.done_by)
        if task.status == TaskStatus.done.value
        else None,
        just_done=just_done,
    )


def _task(session: Session, link: DoneLink) -> Task:
    task = session.get(Task, link.task_id)
    if task is None:
        raise DoneLinkInvalid("this task is not known")
    return task


def describe(session: Session, token: str, *, max_age_seconds: int, now: datetime) -> TaskLink:
    """For GET: whose link it is and where the task stands; records nothing."""
    link = _resolve(session, token, max_age_seconds=max_age_seconds, now=now)
    return _describe(session, link, _task(session, link), just_done=False)


def mark_done(session: Session, token: str, *, max_age_seconds: int, now: datetime) -> TaskLink:
    """For POST: mark the task done (once: a second press, or a press racing another, changes
    nothing), say so on the timeline and cancel the task's pending reminder and escalation. A
    closed inspection records nothing. The caller commits."""
    link = _resolve(session, token, max_age_seconds=max_age_seconds, now=now)
    task = _task(session, link)
    if task.status == TaskStatus.done.value or _closed(session, task.inspection_id):
        return _describe(session, link, task, just_done=False)
    actor = f"{ACTOR_PREFIX}{link.contact_id}"
    # Conditional, so two presses at once record one change (the loser's WHERE finds it done).
    changed = session.execute(
        sa.update(Task)
        .where(col(Task.id) == task.id, col(Task.status) != TaskStatus.done.value)
        .values(
            status=TaskStatus.done.value,
            done_at=now,
            done_by=actor,
            blocked_reason=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(task)
    if not changed:
        return _describe(session, link, task, just_done=False)
    name = _name(session, link.contact_id) or link.contact_id
    timeline.log(
        session,
        inspection_id=task.inspection_id,
        actor=actor,
        kind="task_done",
        summary=f"{task.title}: marked done by {name} (one-click link)",
        data={"task_id": str(task.id), "key": task.key, "contact_id": link.contact_id},
        now=now,
    )
    reminders.cancel_for_task(
        session, inspection_id=task.inspection_id, task_id=task.id, reason="task done", now=now
    )
    return _describe(session, link, task, just_done=True)
