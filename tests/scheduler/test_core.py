"""The tick and the leader lock: ticks are driven by `now` without sleeping, only one process
leads on PostgreSQL, and leadership passes on when the leader's connection dies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import timeline
from service.db import make_engine, utcnow
from service.leader import LeaderLock
from service.rules import Rules
from service.scheduler import core, due
from service.scheduler.core import LEADER_LOCK_KEY, Scheduler
from service.scheduler.due import DueJob, DueStatus
from tests.builders import london, make_inspection
from tests.processes import poll

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TAKEOVER_SECONDS = 10


def note(session: Session, job: DueJob, now: datetime) -> str:
    assert job.inspection_id is not None
    timeline.log(
        session,
        inspection_id=job.inspection_id,
        actor="scheduler",
        kind="test_effect",
        summary=f"job {job.id}",
        data={"job_id": job.id},
        now=now,
    )
    return "noted"


HANDLERS = {"note": note}


@pytest.fixture
def inspection_id(session: Session, rules: Rules) -> uuid.UUID:
    return make_inspection(session, rules, notified_at=london(2025, 3, 4, 10), drill=True).id


def add_jobs(engine: Engine, inspection_id: uuid.UUID, *due_ats: datetime) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        jobs = [
            due.schedule(
                session,
                kind="note",
                dedupe_key=f"test:{uuid.uuid4()}",
                due_at=at,
                now=NOW - timedelta(days=1),
                inspection_id=inspection_id,
            )
            for at in due_ats
        ]
        session.commit()
        return [job.id for job in jobs if job.id is not None]


def statuses(engine: Engine, job_ids: list[int]) -> list[tuple[str, int, str | None]]:
    with Session(engine) as session:
        rows = [session.get(DueJob, job_id) for job_id in job_ids]
        return [(row.status, row.attempts, row.worker) for row in rows if row is not None]


@pytest.fixture
def scheduler(engine: Engine) -> Iterator[Scheduler]:
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=60)
    yield scheduler
    scheduler.shutdown()


def test_tick_runs_what_is_due_at_the_given_now_without_sleeping(
    engine: Engine, scheduler: Scheduler, inspection_id: uuid.UUID
) -> None:
    early, late = add_jobs(engine, inspection_id, NOW, NOW + timedelta(hours=1))

    first = scheduler.tick(now=NOW)

    assert first is not None and (first.done, first.failed) == (1, 0)
    assert statuses(engine, [early, late]) == [
        (DueStatus.done, 1, scheduler.worker),
        (DueStatus.pending, 0, None),
    ]
    second = scheduler.tick(now=NOW + timedelta(hours=1))
    assert second is not None and second.done == 1
    assert [status for status, _, _ in statuses(engine, [early, late])] == [
        DueStatus.done,
        DueStatus.done,
    ]
    assert scheduler.state().jobs_done == 2
    assert scheduler.state().last_tick_at == NOW + timedelta(hours=1)


def test_state_before_and_after_a_tick(engine: Engine, scheduler: Scheduler) -> None:
    before = scheduler.state()
    on_postgres = engine.dialect.name == "postgresql"
    assert (before.enabled, before.running, before.last_tick_at) == (True, False, None)
    assert (before.last_error, before.jobs_done) == (None, 0)
    assert before.leader is not on_postgres, "PostgreSQL leads only once the lock is taken"

    scheduler.tick(now=NOW)

    after = scheduler.state()
    assert (after.leader, after.last_tick_at, after.last_error) == (True, NOW, None)
    assert after.running is False, "ticking by hand does not start APScheduler"


def unreachable(database_url: str, tmp_path: Path) -> Engine:
    """A database the tick cannot use: an unmigrated SQLite file, or a PostgreSQL database that
    does not exist."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    missing = url.set(database=f"iw_missing_{uuid.uuid4().hex[:8]}")
    return make_engine(missing.render_as_string(hide_password=False))


def test_a_failing_tick_is_recorded_and_does_not_raise(database_url: str, tmp_path: Path) -> None:
    engine = unreachable(database_url, tmp_path)
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=60)
    try:
        assert scheduler.tick(now=NOW) is None
        state = scheduler.state()
        assert state.last_error == "database"
        assert state.last_tick_at == NOW
        assert state.jobs_done == 0
        assert state.leader is (engine.dialect.name == "sqlite")
    finally:
        scheduler.shutdown()
        engine.dispose()


def test_a_started_scheduler_ticks_on_its_own_and_stops_cleanly(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, utcnow() - timedelta(seconds=1))
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=0.05)
    scheduler.start()
    try:
        poll(
            lambda: scheduler.state().jobs_done,
            timeout=10,
            what="the running scheduler ran the due row",
        )
        assert statuses(engine, [job_id]) == [(DueStatus.done, 1, scheduler.worker)]
        state = scheduler.state()
        assert (state.enabled, state.running, state.leader) == (True, True, True)
        assert state.jobs_done == 1
    finally:
        scheduler.shutdown()
    assert scheduler.state().running is False
    if engine.dialect.name == "postgresql":
        other = LeaderLock(engine, LEADER_LOCK_KEY)
        try:
            assert other.acquire(), "shutdown gives up the lead at once"
        finally:
            other.release()


def test_a_tick_that_runs_out_of_time_is_followed_at_once_not_at_the_next_interval(
    engine: Engine, inspection_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big cascade must not be spread over many intervals: the backlog runs back to back."""
    job_ids = add_jobs(engine, inspection_id, *[utcnow() - timedelta(seconds=1)] * 4)
    monkeypatch.setattr(core, "TICK_BUDGET_SECONDS", 0.001)  # one job per tick

    def slow_note(session: Session, job: DueJob, now: datetime) -> str:
        time.sleep(0.02)
        return note(session, job, now)

    scheduler = Scheduler(engine, handlers={"note": slow_note}, tick_seconds=60)
    scheduler.start()
    try:
        poll(
            lambda: scheduler.state().jobs_done == len(job_ids),
            timeout=10,
            what="the backlog ran without waiting a 60 s interval between ticks",
        )
    finally:
        scheduler.shutdown()
    assert [status for status, _, _ in statuses(engine, job_ids)] == [DueStatus.done] * len(job_ids)


def test_a_disabled_scheduler_neither_starts_nor_leads(engine: Engine) -> None:
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=0.05, enabled=False)
    scheduler.start()
    try:
        state = scheduler.state()
        assert (state.enabled, state.running, state.leader) == (False, False, False)
    finally:
        scheduler.shutdown()


def test_two_schedulers_on_one_database_run_each_row_once(
    engine: Engine, database_url: str, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW] * 5)
    other_engine = make_engine(database_url)
    one = Scheduler(engine, handlers=HANDLERS, tick_seconds=60)
    two = Scheduler(other_engine, handlers=HANDLERS, tick_seconds=60)
    try:
        first = one.tick(now=NOW)
        second = two.tick(now=NOW)

        assert first is not None and first.done == 5
        if engine.dialect.name == "postgresql":
            assert second is None, "the second process does not lead"
            assert (one.state().leader, two.state().leader) == (True, False)
        else:
            assert second is not None and second.done == 0
            assert (one.state().leader, two.state().leader) == (True, True)
        assert statuses(engine, job_ids) == [(DueStatus.done, 1, one.worker)] * 5
    finally:
        one.shutdown()
        two.shutdown()
        other_engine.dispose()


def test_on_sqlite_every_lock_leads(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'inspection-week.db'}")
    one, two = LeaderLock(engine, LEADER_LOCK_KEY), LeaderLock(engine, LEADER_LOCK_KEY)
    try:
        assert not one.needed
        assert one.acquire() and two.acquire()
        assert one.held and two.held
    finally:
        one.release()
        two.release()
        engine.dispose()


@pytest.fixture
def two_locks(postgres_url: str) -> Iterator[tuple[LeaderLock, LeaderLock]]:
    """Two processes' locks: separate engines, so separate connections and sessions."""
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    locks = (LeaderLock(engines[0], LEADER_LOCK_KEY), LeaderLock(engines[1], LEADER_LOCK_KEY))
    try:
        yield locks
    finally:
        for lock in locks:
            lock.release()
        for engine in engines:
            engine.dispose()


def holder_pid(postgres_url: str) -> int | None:
    """The server process of the session holding the leader lock, as PostgreSQL sees it."""
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = :key"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"key": LEADER_LOCK_KEY},
            ).scalar()
    finally:
        engine.dispose()


def test_on_postgresql_only_one_of_two_locks_is_held(
    two_locks: tuple[LeaderLock, LeaderLock], postgres_url: str
) -> None:
    one, two = two_locks
    assert one.needed
    assert one.acquire()
    assert not two.acquire()
    assert one.acquire(), "the holder keeps leading on every tick"
    assert not two.acquire()
    assert (one.held, two.held) == (True, False)
    assert holder_pid(postgres_url) is not None


def test_a_released_lock_passes_to_the_other_on_its_next_try(
    two_locks: tuple[LeaderLock, LeaderLock], postgres_url: str
) -> None:
    one, two = two_locks
    assert one.acquire()
    one.release()
    assert not one.held
    assert two.acquire()
    assert not one.acquire()
    assert holder_pid(postgres_url) is not None


def test_when_the_server_ends_the_holders_session_the_other_takes_over(
    two_locks: tuple[LeaderLock, LeaderLock], postgres_url: str
) -> None:
    one, two = two_locks
    assert one.acquire()
    pid = holder_pid(postgres_url)
    assert pid is not None
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(
            sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
        ).scalar()
    engine.dispose()

    poll(two.acquire, timeout=TAKEOVER_SECONDS, what="the other lock took over")
    assert not one.acquire(), "the old holder must notice it no longer leads"
    assert (one.held, two.held) == (False, True)


def test_when_the_holders_connection_is_invalidated_it_stops_leading(
    two_locks: tuple[LeaderLock, LeaderLock],
) -> None:
    """SQLAlchemy reconnects an invalidated connection quietly on its next use; that new session
    does not hold the lock, and the old holder must not go on believing it leads."""
    one, two = two_locks
    assert one.acquire()
    assert one._connection is not None
    one._connection.invalidate()

    poll(two.acquire, timeout=TAKEOVER_SECONDS, what="the other lock took over")
    assert not one.acquire()
    assert (one.held, two.held) == (False, True)


def test_the_leader_connection_is_not_left_inside_a_transaction(
    two_locks: tuple[LeaderLock, LeaderLock], postgres_url: str
) -> None:
    """An idle open transaction would hold back VACUUM for as long as the process leads."""
    one, _ = two_locks
    assert one.acquire()
    assert one.acquire()
    pid = holder_pid(postgres_url)
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            state = connection.execute(
                sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
    finally:
        engine.dispose()
    assert state == "idle"
