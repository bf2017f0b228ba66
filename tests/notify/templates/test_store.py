"""Which template is in use: the shipped defaults, and the council's edits read once per
transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.notify.models import Medium, Purpose
from service.notify.templates import store
from service.notify.templates.render import render
from service.notify.templates.samples import sample_context
from tests.notify.templates.builders import ACTOR, NOW, save_edit

EVERY = [(purpose, medium) for purpose in Purpose for medium in Medium]


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_every_shipped_default_is_read_with_a_subject_only_for_e_mail(
    purpose: Purpose, medium: Medium
) -> None:
    template = store.default(purpose, medium)
    assert (template.subject != "") == (medium is Medium.email)
    assert template.body.strip() and not template.body.startswith("Subject:")
    assert not template.customised


def test_the_stored_edit_is_what_is_current(session: Session) -> None:
    assert store.current(session, "reminder", "sms") == store.default("reminder", "sms")
    save_edit(session, "reminder", "sms", body="Edited: ((deadline.label))", subject=None)
    edited = store.current(session, "reminder", "sms")
    assert edited.customised and edited.body == "Edited: ((deadline.label))"
    assert (edited.updated_at, edited.updated_by) == (NOW, ACTOR)
    listed = {(t.purpose, t.medium): t for t in store.all_current(session)}
    assert set(listed) == set(EVERY)
    assert listed[(Purpose.reminder, Medium.sms)] == edited


def test_an_edit_committed_elsewhere_is_seen_from_the_next_transaction(engine: Engine) -> None:
    """Stored edits are looked up once per transaction, not once per message."""
    context = sample_context(Purpose.reminder)
    with Session(engine) as dispatcher, Session(engine) as editor:
        first = render(dispatcher, purpose="reminder", medium="sms", context=context, drill=False)
        assert not first.customised
        dispatcher.commit()  # ends the transaction (and SQLite's lock on the file)
        save_edit(editor, "reminder", "sms", body="Edited: ((deadline.label))", subject=None)
        second = render(dispatcher, purpose="reminder", medium="sms", context=context, drill=False)
        assert second.customised and second.body == "Edited: Written statement of action published"


def test_edits_are_read_once_in_a_transaction_with_savepoints_and_again_after_it(
    engine: Engine,
) -> None:
    """A cascade releases each extra group in a SAVEPOINT of one transaction: releasing one does
    not make the next read the edits again. A SAVEPOINT rolled back may have undone an edit, so
    that one does."""
    reads: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM message_template" in statement:
            reads.append(statement)

    context = sample_context(Purpose.reminder)
    sa.event.listen(engine, "before_cursor_execute", count)
    with Session(engine) as session:

        def rendered() -> None:
            render(session, purpose="reminder", medium="sms", context=context, drill=False)

        rendered()
        for _ in range(3):
            with session.begin_nested():
                rendered()
        assert len(reads) == 1
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("a group that failed")
        rendered()
        assert len(reads) == 2
        session.commit()
        rendered()
        assert len(reads) == 3
