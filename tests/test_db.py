"""PostgreSQL's statistics refreshed when a table grows past what its planner knows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import make_engine, refresh_statistics
from service.scheduler import due
from service.scheduler.due import DueJob
from tests.conftest import empty_postgres

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
TABLE = DueJob.__table__  # type: ignore[attr-defined]


@pytest.fixture
def postgres(postgres_url: str, postgres_cleaner: Engine) -> Iterator[Engine]:
    """An empty database whose planner knows `due_job` holds no rows."""
    empty_postgres(postgres_cleaner)
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE due_job")
    yield engine
    engine.dispose()


def add_rows(session: Session, first: int, count: int) -> None:
    due.add(
        session,
        [
            due.new_row(kind="note", dedupe_key=f"row-{n}", due_at=NOW, now=NOW)
            for n in range(first, first + count)
        ],
    )


def known_rows(engine: Engine) -> float:
    with engine.connect() as connection:
        return float(
            connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = 'due_job'::regclass"
            ).scalar_one()
        )


def analysing(session: Session) -> bool:
    """Whether this transaction ran ANALYZE on due_job: it holds that lock until it ends."""
    return (
        session.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'due_job'::regclass AND mode = 'ShareUpdateExclusiveLock'"
            )
        ).scalar_one()
        > 0
    )


def test_a_table_growing_past_what_the_planner_knows_is_analysed_in_the_writing_transaction(
    postgres: Engine,
) -> None:
    assert known_rows(postgres) == 0
    with Session(postgres) as session:
        add_rows(session, 0, 500)
        refresh_statistics(session, TABLE, adding=500)
        assert analysing(session)
        session.commit()
    assert known_rows(postgres) == 500  # its own uncommitted rows counted, committed with them


def test_a_table_the_planner_knows_large_enough_is_left_to_autovacuum(postgres: Engine) -> None:
    with Session(postgres) as session:
        add_rows(session, 0, 500)
        refresh_statistics(session, TABLE, adding=500)
        session.commit()
    with Session(postgres) as session:
        add_rows(session, 500, 100)
        refresh_statistics(session, TABLE, adding=100)
        assert not analysing(session)
        session.commit()


def test_sqlite_needs_no_statistics(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    with Session(engine) as session:
        refresh_statistics(session, TABLE, adding=1_000_000)
        assert session.execute(sa.text("SELECT count(*) FROM sqlite_master")).scalar_one() == 0
    engine.dispose()
