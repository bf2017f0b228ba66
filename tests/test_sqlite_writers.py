"""Writers on one SQLite file: a short urgent write (the dispatcher's) is not starved by a
thread writing transaction after transaction (a cascade's due jobs)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from service.db import make_engine, urgent_writer, urgent_writer_waiting
from tests.processes import poll

ROUNDS = 60


def test_an_urgent_writer_begins_between_another_writers_back_to_back_transactions(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE log (who TEXT)")
    started = threading.Event()

    def busy_writer() -> None:
        for _ in range(ROUNDS):
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO log VALUES ('busy')"))
                started.set()
                time.sleep(0.02)  # the work of a due job, holding the write lock

    busy = threading.Thread(target=busy_writer)
    busy.start()
    try:
        assert started.wait(10)
        with urgent_writer(engine).begin() as connection:
            connection.execute(sa.text("INSERT INTO log VALUES ('urgent')"))
    finally:
        busy.join(timeout=60)
    with engine.connect() as connection:
        order = [
            row[0] for row in connection.execute(sa.text("SELECT who FROM log ORDER BY rowid"))
        ]
    engine.dispose()
    # SQLite's busy handler alone let the busy writer keep the lock until its last round.
    assert order.index("urgent") < ROUNDS // 2, order.index("urgent")


def test_a_transaction_holding_the_lock_sees_an_urgent_writer_waiting(tmp_path: Path) -> None:
    """What lets a cascade's batch of releases commit early for a send's status write."""
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE log (who TEXT)")
    with Session(engine) as session:
        session.execute(sa.text("INSERT INTO log VALUES ('batch')"))  # holds the write lock
        assert not urgent_writer_waiting(session)

        def urgent() -> None:
            with urgent_writer(engine).begin() as connection:
                connection.execute(sa.text("INSERT INTO log VALUES ('urgent')"))

        waiting = threading.Thread(target=urgent)
        waiting.start()
        poll(lambda: urgent_writer_waiting(session), timeout=10, what="the urgent writer waits")
        session.commit()
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    with engine.connect() as connection:
        order = [
            row[0] for row in connection.execute(sa.text("SELECT who FROM log ORDER BY rowid"))
        ]
    engine.dispose()
    assert order == ["batch", "urgent"]
