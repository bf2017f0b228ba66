"""The "changes nothing" helper sees what counting three tables missed: a row changed in place,
and a row in any other table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.contacts.models import Contact
from tests.api.pages.helpers import make_user
from tests.snapshots import assert_unchanged, changes, snapshot

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def test_a_snapshot_holds_every_table(engine: Engine) -> None:
    from sqlmodel import SQLModel

    assert set(snapshot(engine)) == set(SQLModel.metadata.tables)


def test_a_row_changed_in_place_is_a_change(engine: Engine) -> None:
    user, _ = make_user(engine, "hoyelaran", "viewer")
    before = snapshot(engine)
    with Session(engine) as session:
        stored = session.get(type(user), user.id)
        assert stored is not None
        stored.display_name = "Harriet O."
        session.add(stored)
        session.commit()

    changed = changes(before, snapshot(engine))

    assert list(changed) == [user.__tablename__]
    with pytest.raises(AssertionError, match="rows changed"):
        assert_unchanged(engine, before)


def test_a_row_in_a_table_no_test_thought_of_is_a_change(engine: Engine) -> None:
    before = snapshot(engine)
    with Session(engine) as session:
        session.add(Contact(id="twojcik", name="Tomasz Wójcik", created_at=NOW, updated_at=NOW))
        session.commit()

    changed = changes(before, snapshot(engine))

    assert list(changed) == ["contact"]
    assert changed["contact"]["gone"] == [] and len(changed["contact"]["new"]) == 1
    assert_unchanged(engine, snapshot(engine))
