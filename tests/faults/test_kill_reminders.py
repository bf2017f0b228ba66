"""Many reminders fall due at once (an inspection's statutory deadline reminders and its plan
tasks' reminders, brought forward) and the `serve` process firing them is SIGKILLed part-way; the
next process fires the rest. Each reminder runs in its own transaction with its claim and its
`done` mark, so each ends done after exactly one counted attempt, each deadline reminder is on
the timeline exactly once, and each e-mail a reminder writes is one row (its dedupe key) that
reaches the SMTP server under one Message-ID: a second copy, under the same Message-ID, only for
a row the killed process was sending."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col

from service.db import make_engine, utcnow
from service.inspections import reminders
from service.migrate import upgrade
from service.notify.models import Message
from service.plan import reminders as plan_reminders
from service.scheduler.due import DueJob
from service.timeline import TimelineEntry
from tests.faults.cascade import announce, message_id
from tests.notify.smtp_sink import SmtpSink
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    server_env,
    servers,
)
from tests.trees import insert_tree, tree_rows

STEERING = 40
SPREAD_SECONDS = 2.0
KINDS = (reminders.KIND, plan_reminders.REMINDER_KIND)
PURPOSES = ("reminder", "task_reminder")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _jobs(engine: sa.Engine) -> dict[int, str]:
    """Every reminder row and its status."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(DueJob.id, DueJob.status).where(col(DueJob.kind).in_(KINDS))
        ).all()
    return {row.id: str(row.status) for row in rows}


def _attempts(engine: sa.Engine) -> Counter[int]:
    with engine.connect() as connection:
        return Counter(
            connection.execute(
                sa.select(DueJob.attempts).where(col(DueJob.kind).in_(KINDS))
            ).scalars()
        )


def _bring_due(engine: sa.Engine, *, spread: float = 0.0) -> None:
    """The one change made behind the service's back: every reminder is due now, or one after
    another over the next `spread` seconds."""
    ids = sorted(_jobs(engine))
    now = utcnow()
    with engine.begin() as connection:
        for i, job_id in enumerate(ids):
            due = now + timedelta(seconds=-1 if not spread else 0.5 + spread * i / len(ids))
            connection.execute(sa.update(DueJob).where(DueJob.id == job_id).values(due_at=due))


def _reminded(engine: sa.Engine) -> Counter[int]:
    """How many timeline entries each reminder job wrote."""
    with engine.connect() as connection:
        data = connection.execute(
            sa.select(TimelineEntry.data).where(TimelineEntry.kind == "deadline_reminder")
        ).scalars()
        return Counter(int((d if isinstance(d, dict) else json.loads(d))["job_id"]) for d in data)


def _reminder_messages(engine: sa.Engine) -> dict[str, str]:
    """Our id of every reminder e-mail and its status."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Message.id, Message.status).where(col(Message.purpose).in_(PURPOSES))
        ).all()
    return {str(uuid.UUID(str(row.id))): str(row.status) for row in rows}


def _insert_waiting(connection: sa.Connection) -> int:
    """Sessions waiting to write messages (the activity view is a snapshot per transaction:
    cleared first, to see now)."""
    connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
    return connection.execute(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND left(query, 19) = 'INSERT INTO message'"
        )
    ).scalar_one()


@contextmanager
def frozen_after_a_reminder(database_url: str, timeout: float = 90.0) -> Iterator[int]:
    """PostgreSQL: hold the firing still once a deadline reminder is on the timeline, so the kill
    lands with some fired and some not, whatever the machine's speed. Each look locks the message
    table, and keeps it locked once one has fired: the next deadline reminder waits for it with
    its claim and timeline entry written, uncommitted, and the kill lands inside it."""
    url = sa.make_url(database_url)
    deadline = time.monotonic() + timeout
    count = sa.text("SELECT count(*) FROM timeline_entry WHERE kind = 'deadline_reminder'")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            while True:
                connection.exec_driver_sql("BEGIN")
                connection.exec_driver_sql("LOCK TABLE message IN EXCLUSIVE MODE")
                fired = connection.execute(count).scalar_one()
                if fired:
                    poll(
                        lambda: _insert_waiting(connection),
                        timeout=30,
                        what="the next reminder waited for the message table",
                    )
                    yield fired
                    connection.exec_driver_sql("ROLLBACK")
                    return
                connection.exec_driver_sql("ROLLBACK")
                assert time.monotonic() < deadline, "no deadline reminder fired"
                time.sleep(0.005)
    finally:
        engine.dispose()


def _run(database_url: str, workdir: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    tree = tree_rows(STEERING, now=datetime.now(UTC), steering=STEERING, channels=("email",))
    insert_tree(engine, tree)
    with SmtpSink() as sink, servers() as started:
        env = server_env(
            database_url,
            email_channel="smtp",
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_security="none",
            smtp_rate_limit_per_minute=600_000,
            dispatch_lease_seconds=2,
        )
        key = create_api_key(env, workdir, "inspections:write")
        quiet = {**env, "SCHEDULER_ENABLED": "false", "DISPATCHER_ENABLED": "false"}
        setup = Server(quiet, workdir, "setup")
        started.append(setup.start())
        announce(setup, key, "reminders", drill=False)
        setup.stop(signal.SIGTERM)
        jobs = _jobs(engine)
        assert len(jobs) > 20 and set(jobs.values()) == {"pending"}
        sqlite = engine.dialect.name == "sqlite"

        first = Server(env, workdir, "first")
        if sqlite:  # SQLite's writer lock is no fair queue: the reminders fall due over 2 s
            started.append(first.start())
            _bring_due(engine, spread=SPREAD_SECONDS)
            done = poll(
                lambda: (
                    (n := sum(s == "done" for s in _jobs(engine).values())) >= len(jobs) // 3 and n
                ),
                timeout=60,
                what="a third of the reminders fired",
                interval=0.005,
            )
            os.kill(first.pid, signal.SIGKILL)
        else:
            _bring_due(engine)
            started.append(first.launch())
            with frozen_after_a_reminder(database_url) as done:
                os.kill(first.pid, signal.SIGKILL)
                assert first.process is not None and first.process.wait(10) == -signal.SIGKILL
        assert first.process is not None and first.process.wait(10) == -signal.SIGKILL
        fired_before = sum(s == "done" for s in _jobs(engine).values())
        assert fired_before < len(jobs), "every reminder fired before the kill: nothing tested"
        in_doubt = {m for m, status in _reminder_messages(engine).items() if status == "sending"}

        second = Server(env, workdir, "second")
        started.append(second.start())
        poll(
            lambda: (
                set(_jobs(engine).values()) == {"done"}
                and set(_reminder_messages(engine).values()) == {"sent"}
            ),
            timeout=90,
            what="every reminder fired and its e-mail sent after the restart",
            interval=0.2,
        )
        second.stop(signal.SIGTERM)
        reminded = _reminded(engine)
        messages = _reminder_messages(engine)
        attempts = _attempts(engine)
        with engine.connect() as connection:
            kinds = dict(
                connection.execute(
                    sa.select(DueJob.id, DueJob.kind).where(col(DueJob.kind).in_(KINDS))
                ).all()
            )
    engine.dispose()

    deadline_jobs = {j for j, kind in kinds.items() if kind == reminders.KIND}
    assert set(reminded) == deadline_jobs and set(reminded.values()) == {1}, reminded
    assert attempts == {1: len(jobs)}, attempts
    assert len(messages) >= len(deadline_jobs) * STEERING
    copies = Counter(
        m for m in (message_id(r.parse()["Message-ID"]) for r in sink.messages) if m in messages
    )
    assert set(copies) == set(messages), "a reminder e-mail never arrived"
    twice = {m for m, count in copies.items() if count > 1}
    assert twice <= in_doubt and set(copies.values()) <= {1, 2}
    print(
        f"\nkilled with {fired_before} of {len(jobs)} reminders fired (seen at {done}); "
        f"{len(in_doubt)} e-mails in doubt, {len(twice)} sent twice under one Message-ID"
    )


def test_sigkill_while_reminders_fire_on_sqlite_fires_each_once(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'reminders.db'}", tmp_path)


def test_sigkill_while_reminders_fire_on_postgresql_fires_each_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run(url, tmp_path)
