"""Reminders survive a restart: a real `inspection-week serve` is stopped, a reminder comes due
while nothing runs, and the next process fires it exactly once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from service.db import make_engine, utcnow
from service.inspections import reminders
from service.migrate import heads
from service.scheduler.due import DueJob, DueStatus
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    run_cli,
    server_env,
    servers,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

TICK_SECONDS = 0.2
WAIT_SECONDS = 20  # generous, for a busy machine; a healthy run takes well under a second


@pytest.fixture(params=["sqlite", "postgresql"])
def process_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for real processes: a SQLite file that `serve` migrates itself, or an empty
    PostgreSQL database brought to head with `inspection-week migrate`."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'inspection-week.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_url")) as url:
        output = run_cli("migrate", env=server_env(url), cwd=tmp_path)
        assert f"database at {heads()[0]}" in output
        yield url


def reminder_rows(database_url: str) -> list[DueJob]:
    """Deadline reminder rows, soonest first."""
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return list(
                session.exec(
                    select(DueJob)
                    .where(DueJob.kind == reminders.KIND)
                    .order_by(col(DueJob.due_at), col(DueJob.id))
                ).all()
            )
    finally:
        engine.dispose()


def move_due_at(database_url: str, job_id: int, seconds_from_now: float) -> None:
    """The one change made behind the service's back: bring a reminder months ahead to now."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            job = session.get(DueJob, job_id)
            assert job is not None
            job.due_at = utcnow() + timedelta(seconds=seconds_from_now)
            session.add(job)
            session.commit()
    finally:
        engine.dispose()


def reminder_entries(server: Server, inspection_id: str, headers: dict[str, str]) -> list[dict]:
    response = server.http.get(f"/api/v1/inspections/{inspection_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["kind"] == "deadline_reminder"]


def restart_fires_the_missed_reminder_once(
    database_url: str, workdir: Path, stop_signal: signal.Signals
) -> None:
    env = server_env(database_url, scheduler_tick_seconds=TICK_SECONDS)
    headers = {"Authorization": f"Bearer {create_api_key(env, workdir)}"}
    with servers() as started:
        first = Server(env, workdir, name="first")
        started.append(first)
        first.start()
        response = first.http.post(
            "/api/v1/inspections",
            json={"notified_at": utcnow().isoformat(), "lead_inspector": "Harriet Oyelaran"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        inspection_id = response.json()["id"]
        pending = [row for row in reminder_rows(database_url) if row.status == DueStatus.pending]
        assert pending, "announcing wrote no reminder rows"
        assert min(row.due_at for row in pending) > utcnow() + timedelta(days=1)
        chosen = pending[0]

        first.stop(stop_signal)
        if stop_signal is signal.SIGTERM:  # uvicorn ran the shutdown, then re-raised the signal
            assert "scheduler_stopped" in first.log()
        else:
            assert "scheduler_stopped" not in first.log()

        move_due_at(database_url, chosen.id, seconds_from_now=0.5)
        time.sleep(1.0)  # the reminder comes due while no process runs
        assert [r.status for r in reminder_rows(database_url) if r.id == chosen.id] == [
            DueStatus.pending
        ]

        second = Server(env, workdir, name="second")
        started.append(second)
        second.start()
        poll(
            lambda: reminder_entries(second, inspection_id, headers),
            timeout=WAIT_SECONDS,
            what="the missed reminder reached the timeline after the restart",
        )
        second.wait_for_ticks(5, TICK_SECONDS)

        entries = reminder_entries(second, inspection_id, headers)
        assert [entry["data"]["job_id"] for entry in entries] == [chosen.id]
        assert entries[0]["data"]["deadline"] == chosen.payload["deadline"]
        row = next(r for r in reminder_rows(database_url) if r.id == chosen.id)
        assert (row.status, row.attempts, row.outcome) == (DueStatus.done, 1, "reminded")
        assert row.worker == second.worker
        others = [r for r in reminder_rows(database_url) if r.id != chosen.id]
        assert {r.status for r in others} == {DueStatus.pending}
        assert {r.attempts for r in others} == {0}
        second.stop(signal.SIGTERM)
        assert "scheduler_stopped" in second.log()


def test_a_reminder_due_during_a_clean_shutdown_fires_once_after_restart(
    process_database_url: str, tmp_path: Path
) -> None:
    restart_fires_the_missed_reminder_once(process_database_url, tmp_path, signal.SIGTERM)


def test_a_reminder_due_after_the_process_was_killed_fires_once_after_restart(
    process_database_url: str, tmp_path: Path
) -> None:
    restart_fires_the_missed_reminder_once(process_database_url, tmp_path, signal.SIGKILL)
