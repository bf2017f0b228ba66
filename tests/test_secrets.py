"""The service's own secrets are made once and shared, even when the first to need one is a
read-only page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from service import secrets
from service.db import reader

NOW = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)


def test_a_reader_whose_snapshot_is_stale_still_gets_the_key_made_once(engine: Engine) -> None:
    """On SQLite a read transaction that saw the database before another writer committed can
    never upgrade to a write ("database is locked" at once, whatever the busy timeout): an
    acknowledgement page opened in that moment used to fail."""
    with Session(reader(engine)) as page:
        page.exec(select(secrets.AppSecret)).all()  # the reader's snapshot begins
        with Session(engine) as other:
            other.add(secrets.AppSecret(name="unrelated", value="x", created_at=NOW))
            other.commit()

        made = secrets.get_or_create(page, "another-key", now=NOW)

    with Session(engine) as later:
        assert secrets.get_or_create(later, "another-key", now=NOW) == made
        assert later.get(secrets.AppSecret, "another-key") is not None


# The PostgreSQL tests empty every table between tests, keys included; SQLite's are copies of a
# freshly migrated database.
@pytest.mark.sqlite_only
def test_the_database_is_made_with_its_keys_so_no_page_has_to_make_one(engine: Engine) -> None:
    """The acknowledgement page and the sign-in page only read them."""
    with Session(engine) as session:
        names = {row.name: row.value for row in session.exec(select(secrets.AppSecret)).all()}
    assert set(names) == {"ack-link-key", "page_signing_key"}
    assert len(set(names.values())) == 2
    assert all(len(value) >= 40 for value in names.values())
