"""Which template is in use: the council's edit when one is stored, else the shipped default
(`defaults/<purpose>.<medium>.txt`). Stored edits are read once per transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from service.notify.models import Medium, MessageTemplate, Purpose

SUBJECT_PREFIX = "Subject:"
"""A shipped e-mail template's first line is `Subject: ...`; the body follows it."""


@dataclass(frozen=True)
class Template:
    purpose: Purpose
    medium: Medium
    subject: str
    """Empty for SMS."""
    body: str
    customised: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


def _file_name(purpose: Purpose, medium: Medium) -> str:
    return f"{purpose.value}.{medium.value}.txt"


@cache
def default(purpose: Purpose | str, medium: Medium | str) -> Template:
    """The shipped template (service/notify/templates/defaults/<purpose>.<medium>.txt)."""
    purpose, medium = Purpose(purpose), Medium(medium)
    text = (
        resources.files("service.notify.templates")
        .joinpath("defaults", _file_name(purpose, medium))
        .read_text(encoding="utf-8")
    )
    subject = ""
    if medium is Medium.email:
        first, _, text = text.partition("\n")
        if not first.startswith(SUBJECT_PREFIX):
            raise RuntimeError(f"{_file_name(purpose, medium)} must start with 'Subject: '")
        subject = first.removeprefix(SUBJECT_PREFIX).strip()
    return Template(purpose=purpose, medium=medium, subject=subject, body=text.strip("\n"))


_CACHE_KEY = "message_templates"


@event.listens_for(OrmSession, "after_commit")
def _forget_stored_at_the_end(session: OrmSession) -> None:
    """SQLAlchemy calls this for a SAVEPOINT's release too, while the transaction goes on: a
    cascade runs each extra release row in one, and forgetting there read the edits again for
    every group."""
    if not session.in_nested_transaction():
        session.info.pop(_CACHE_KEY, None)


@event.listens_for(OrmSession, "after_rollback")
def _forget_stored(session: OrmSession) -> None:
    """Any rollback, a SAVEPOINT's too: it may have undone an edit this transaction saved."""
    session.info.pop(_CACHE_KEY, None)


def _cached(session: Session) -> dict[tuple[str, str], MessageTemplate | None]:
    return session.info.setdefault(_CACHE_KEY, {})


def remember(
    session: Session, purpose: Purpose, medium: Medium, row: MessageTemplate | None
) -> None:
    """What this transaction has just stored (or removed), so its own reads see it."""
    _cached(session)[(purpose.value, medium.value)] = row


def _stored(session: Session, purpose: Purpose, medium: Medium) -> MessageTemplate | None:
    """The council's edit, looked up once per transaction: a cascade renders thousands of
    messages in one, and most councils never edit most templates."""
    cache = _cached(session)
    key = (purpose.value, medium.value)
    if key not in cache:
        cache[key] = session.get(MessageTemplate, key)
    return cache[key]


def current(session: Session, purpose: Purpose | str, medium: Medium | str) -> Template:
    """The template in use: the council's edit if one is stored, else the shipped default."""
    purpose, medium = Purpose(purpose), Medium(medium)
    row = _stored(session, purpose, medium)
    if row is None:
        return default(purpose, medium)
    return Template(
        purpose=purpose,
        medium=medium,
        subject=row.subject if medium is Medium.email else "",
        body=row.body,
        customised=True,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def all_current(session: Session) -> list[Template]:
    return [current(session, purpose, medium) for purpose in Purpose for medium in Medium]
