"""The council's edits: saved only when valid, saved over, and reset to the shipped default."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.errors import InvalidInput
from service.notify.models import Medium, MessageTemplate, Purpose
from service.notify.templates import edits, store
from tests.notify.templates.builders import ACTOR, NOW, reset_by_upgrade, save_edit


def test_saving_twice_updates_the_one_row(session: Session) -> None:
    save_edit(session, "reminder", "sms", body="First: ((deadline.label))")
    save_edit(session, "reminder", "sms", body="Second: ((deadline.label))")
    row = session.get(MessageTemplate, ("reminder", "sms"))
    assert row is not None and row.body == "Second: ((deadline.label))"
    assert store.current(session, "reminder", "sms").body == row.body


def test_an_invalid_edit_is_not_stored(session: Session) -> None:
    with pytest.raises(InvalidInput):
        edits.save(
            session,
            purpose="announcement",
            medium="sms",
            subject=None,
            body="((contact.nmae))",
            actor=ACTOR,
            now=NOW,
        )
    session.commit()
    assert session.get(MessageTemplate, ("announcement", "sms")) is None


def test_reset_removes_the_edit_once_and_is_seen_in_the_same_transaction(
    session: Session,
) -> None:
    save_edit(session, "announcement", "email", subject="Hi ((contact.name))", body="Hello")
    assert edits.reset(session, purpose="announcement", medium="email", actor="test", now=NOW)
    assert not store.current(session, "announcement", "email").customised
    session.commit()
    assert session.get(MessageTemplate, ("announcement", "email")) is None
    assert not edits.reset(session, purpose="announcement", medium="email", actor="test", now=NOW)
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["template_saved", "template_reset"]


def test_an_edit_the_upgrade_reset_is_pending_until_saved_again(session: Session) -> None:
    reset_by_upgrade(session, "task_digest", "email", "{% for task in tasks %}...", "Tasks")
    reset_by_upgrade(session, "reminder", "sms", "{{ deadline.label }}{% if x == 0 %}!{% endif %}")
    pending = edits.reset_on_upgrade(session)
    assert set(pending) == {(Purpose.task_digest, Medium.email), (Purpose.reminder, Medium.sms)}
    assert pending[(Purpose.task_digest, Medium.email)].old_subject == "Tasks"
    assert "has no equivalent" in pending[(Purpose.reminder, Medium.sms)].reason

    save_edit(session, "reminder", "sms", body="((deadline.label)) is near")
    assert set(edits.reset_on_upgrade(session)) == {(Purpose.task_digest, Medium.email)}


def test_keeping_the_shipped_words_after_an_upgrade_reset_is_recorded(session: Session) -> None:
    reset_by_upgrade(session, "task_digest", "email", "{% for task in tasks %}...", "Tasks")
    assert edits.reset(session, purpose="task_digest", medium="email", actor=ACTOR, now=NOW)
    session.commit()
    assert edits.reset_on_upgrade(session) == {}
    assert not edits.reset(session, purpose="task_digest", medium="email", actor=ACTOR, now=NOW)
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == edits.RESET)).all()
    assert event.target == "task_digest.email"
