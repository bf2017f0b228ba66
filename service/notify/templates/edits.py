"""The council's edits: saved only once they validate, removed to go back to the shipped
default, each with its audit record. The caller commits.

Edits written before templates used Notify's language were converted by the upgrade where that
was mechanical; the others were removed, and `reset_on_upgrade` finds those a coordinator has
not yet dealt with (saved again, or chose to keep the shipped words), with their old text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service import audit_log
from service.audit_log import AuditEvent
from service.notify.models import Medium, MessageTemplate, Purpose
from service.notify.templates.placeholders import known
from service.notify.templates.store import Template, current, remember
from service.notify.templates.validate import validate

SAVED = "template_saved"
RESET = "template_reset"
CONVERTED_ON_UPGRADE = "template_converted_on_upgrade"
RESET_ON_UPGRADE = "template_reset_on_upgrade"
"""Audit actions: the last two are written by migration 0006 (the move to Notify's language)."""


@dataclass(frozen=True)
class ResetOnUpgrade:
    """An edit the upgrade could not convert: the shipped words are in use instead of it."""

    purpose: Purpose
    medium: Medium
    at: datetime
    reason: str
    old_subject: str
    old_body: str


def save(
    session: Session,
    *,
    purpose: Purpose | str,
    medium: Medium | str,
    subject: str | None,
    body: str,
    actor: str,
    now: datetime,
) -> Template:
    """Validate and store the council's edit, with its audit record (the caller commits)."""
    purpose, medium = known(purpose, medium)
    subject = (subject or "").strip() if medium is Medium.email else (subject or "")
    validate(purpose, medium, subject, body)
    row = session.get(MessageTemplate, (purpose.value, medium.value))
    audit_log.record(
        session,
        actor=actor,
        action=SAVED,
        target=f"{purpose.value}.{medium.value}",
        now=now,
        data={
            "was_customised": row is not None,
            "subject": subject if medium is Medium.email else None,
            "body": body,
        },
    )
    if row is None:
        row = MessageTemplate(
            purpose=purpose.value,
            medium=medium.value,
            body=body,
            subject=subject,
            updated_at=now,
            updated_by=actor,
        )
    else:
        row.subject, row.body, row.updated_at, row.updated_by = subject, body, now, actor
    session.add(row)
    remember(session, purpose, medium, row)
    return current(session, purpose, medium)


def reset(
    session: Session, *, purpose: Purpose | str, medium: Medium | str, actor: str, now: datetime
) -> bool:
    """Remove the council's edit, so the shipped default is used again; False if there was none.
    With none stored but an edit the upgrade reset, this records the choice to keep the
    shipped words (and the templates page stops showing the old text)."""
    purpose, medium = known(purpose, medium)
    row = session.get(MessageTemplate, (purpose.value, medium.value))
    remember(session, purpose, medium, None)
    if row is None and (purpose, medium) not in reset_on_upgrade(session):
        return False
    if row is not None:
        session.delete(row)
    audit_log.record(
        session,
        actor=actor,
        action=RESET,
        target=f"{purpose.value}.{medium.value}",
        now=now,
    )
    return True


def reset_on_upgrade(session: Session) -> dict[tuple[Purpose, Medium], ResetOnUpgrade]:
    """Edits the upgrade removed that nobody has saved again or reset since, by template."""
    resets = session.exec(select(AuditEvent).where(AuditEvent.action == RESET_ON_UPGRADE)).all()
    if not resets:
        return {}
    later = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.action).in_([SAVED, RESET, RESET_ON_UPGRADE]),
            col(AuditEvent.target).in_({event.target for event in resets}),
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ).all()
    pending: dict[str, AuditEvent] = {}
    for event in later:
        if event.action == RESET_ON_UPGRADE:
            pending[event.target] = event
        else:
            pending.pop(event.target, None)
    found: dict[tuple[Purpose, Medium], ResetOnUpgrade] = {}
    for target, event in pending.items():
        purpose_name, _, medium_name = target.partition(".")
        try:
            purpose, medium = Purpose(purpose_name), Medium(medium_name)
        except ValueError:
            continue  # a purpose this version no longer has
        found[(purpose, medium)] = ResetOnUpgrade(
            purpose=purpose,
            medium=medium,
            at=event.at,
            reason=str(event.data.get("reason", "")),
            old_subject=str(event.data.get("old_subject", "")),
            old_body=str(event.data.get("old_body", "")),
        )
    return found
