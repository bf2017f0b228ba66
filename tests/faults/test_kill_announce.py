"""A `serve` process SIGKILLed while it creates an inspection's project plan: announcing writes
the inspection, the plan's tasks, the cascade's first messages and every reminder in one
transaction, so the kill leaves nothing of it, the caller (who had no answer) announces again
with the same Idempotency-Key, and the restarted server creates each task, reminder and message
exactly once.

The kill lands inside the transaction every time. PostgreSQL: the test locks the message table
first, so the announcement waits there with its inspection and tasks written, and is killed
while it waits. SQLite: the announcement holds the one writer lock from its first write to its
commit, and a large tree keeps it a while; the test kills the server once it has seen that lock
held by the announcement (every other writer is off)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from service.config import Settings
from service.db import make_engine
from service.inspections.models import Inspection
from service.main import build_rules
from service.migrate import upgrade
from service.notify.models import Message
from service.plan.models import Task
from service.scheduler.due import DueJob
from tests.faults.cascade import announce
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    server_env,
    servers,
)
from tests.trees import insert_tree, tree_rows

PEOPLE = 3000
"""Enough that the announcement's transaction lasts long enough to be seen (SQLite)."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _plan_keys() -> list[str]:
    rules = build_rules(Settings(database_url="sqlite://"))
    return sorted(task.key for task in rules.plans.get("sif-2013").tasks)


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
            for name, model in (
                ("inspections", Inspection),
                ("tasks", Task),
                ("messages", Message),
                ("jobs", DueJob),
            )
        }


@contextmanager
def _message_table_locked(database_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("BEGIN")
            connection.exec_driver_sql("LOCK TABLE message IN EXCLUSIVE MODE")
            try:
                yield connection
            finally:
                connection.exec_driver_sql("ROLLBACK")
    finally:
        engine.dispose()


def _waiting_to_write_messages(connection: sa.Connection) -> int:
    connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")  # a snapshot per transaction
    return connection.execute(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND left(query, 19) = 'INSERT INTO message'"
        )
    ).scalar_one()


def _sqlite_writer_busy(path: str, answered: threading.Event, timeout: float = 60.0) -> None:
    """Return once another connection has held SQLite's writer lock for three looks in a row
    (the announcement's transaction; fail if the answer came first)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    deadline = time.monotonic() + timeout
    try:
        busy = 0
        while busy < 3:
            assert not answered.is_set(), "the announcement was answered before the kill"
            assert time.monotonic() < deadline, "the announcement never wrote"
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                busy = 0
            except sqlite3.OperationalError:
                busy += 1
            time.sleep(0.002)
    finally:
        connection.close()


def _run(database_url: str, workdir: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    insert_tree(engine, tree_rows(PEOPLE, now=datetime.now(UTC), window=0))
    env = server_env(
        database_url,
        scheduler_enabled="false",
        dispatcher_enabled="false",
        webhooks_enabled="false",
    )
    with servers() as started:
        key = create_api_key(env, workdir, "inspections:write")
        first = Server(env, workdir, "first")
        started.append(first.start())
        headers = {"Authorization": f"Bearer {key}"}
        assert first.http.get("/api/v1/inspections", headers=headers).status_code == 200

        notified = datetime.now(UTC) - timedelta(minutes=1)
        answered = threading.Event()
        failure: list[BaseException] = []

        def call() -> None:
            try:
                announce(first, key, "plan-kill", drill=False, notified_at=notified)
            except (httpx.TransportError, AssertionError) as exc:
                failure.append(exc)
            finally:
                answered.set()

        if engine.dialect.name == "postgresql":
            with _message_table_locked(database_url) as lock:
                caller = threading.Thread(target=call)
                caller.start()
                poll(
                    lambda: _waiting_to_write_messages(lock),
                    timeout=60,
                    what="the announcement waited to write its messages",
                )
                os.kill(first.pid, signal.SIGKILL)
        else:
            caller = threading.Thread(target=call)
            caller.start()
            _sqlite_writer_busy(str(sa.make_url(database_url).database), answered)
            os.kill(first.pid, signal.SIGKILL)
        assert first.process is not None and first.process.wait(10) == -signal.SIGKILL
        caller.join(30)
        assert failure and isinstance(failure[0], httpx.TransportError), failure
        assert _counts(engine) == {"inspections": 0, "tasks": 0, "messages": 0, "jobs": 0}

        second = Server(env, workdir, "second")
        started.append(second.start())
        retry = partial(announce, second, key, "plan-kill", drill=False, notified_at=notified)
        inspection_id = uuid.UUID(retry())
        assert uuid.UUID(retry(statuses=(200, 201))) == inspection_id  # and a retry of that
        second.stop(signal.SIGTERM)

    with engine.connect() as connection:
        keys = Counter(
            connection.execute(
                sa.select(Task.key).where(Task.inspection_id == inspection_id)
            ).scalars()
        )
        dedupe = Counter(connection.execute(sa.select(Message.dedupe_key)).scalars())
        jobs = Counter(
            (kind, json.dumps(payload, sort_keys=True))
            for kind, payload in connection.execute(
                sa.select(DueJob.kind, DueJob.payload).where(
                    col(DueJob.inspection_id) == inspection_id
                )
            ).all()
        )
    counts = _counts(engine)
    engine.dispose()
    assert counts["inspections"] == 1
    assert sorted(keys) == _plan_keys() and set(keys.values()) == {1}, keys
    assert dedupe and set(dedupe.values()) == {1}
    assert jobs and set(jobs.values()) == {1}


def test_sigkill_mid_plan_creation_on_sqlite_creates_every_task_once(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'announce.db'}", tmp_path)


def test_sigkill_mid_plan_creation_on_postgresql_creates_every_task_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run(url, tmp_path)
