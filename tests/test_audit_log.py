"""Changes that belong to no inspection, read back newest first, filtered by action."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import audit_log
from tests.builders import london

AT = london(2026, 11, 17, 10, 30)


def _recorded(engine: Engine) -> None:
    with Session(engine) as session:
        for n, action in enumerate(("closure_day_added", "api_key_created", "closure_day_added")):
            audit_log.record(
                session,
                actor="user:hoyelaran",
                action=action,
                target=f"target-{n}",
                now=AT + timedelta(minutes=n),
            )
        session.commit()


def test_events_are_read_back_newest_first_with_a_total(engine: Engine, session: Session) -> None:
    _recorded(engine)
    found = audit_log.page(session, limit=2)
    assert found.total == 3
    assert [event.target for event in found.events] == ["target-2", "target-1"]
    assert [e.target for e in audit_log.page(session, offset=2).events] == ["target-0"]


def test_an_action_narrows_the_events_and_the_actions_are_listed(
    engine: Engine, session: Session
) -> None:
    _recorded(engine)
    assert audit_log.actions(session) == ["api_key_created", "closure_day_added"]
    found = audit_log.page(session, action="closure_day_added")
    assert found.total == 2 and [e.target for e in found.events] == ["target-2", "target-0"]
