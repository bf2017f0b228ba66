"""Due rows and their claiming: each row runs once, its effects and its `done` mark commit
together, and failures, crashes and concurrent claimers never drop or double a job."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from service import timeline
from service.db import make_engine
from service.rules import Rules
from service.scheduler import due
from service.scheduler.due import MAX_ATTEMPTS, DueJob, DueStatus
from service.timeline import TimelineEntry
from tests import sqlite_plans
from tests.builders import london, make_inspection
from tests.processes import poll

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
EFFECT = "test_effect"


class Crash(BaseException):
    """Stands in for the process dying mid-job: not an Exception, so nothing handles it."""


def note(session: Session, job: DueJob, now: datetime) -> str:
    """A handler with a visible effect: one timeline entry naming the job."""
    assert job.inspection_id is not None
    timeline.log(
        session,
        inspection_id=job.inspection_id,
        actor="scheduler",
        kind=EFFECT,
        summary=f"job {job.id}",
        data={"job_id": job.id},
        now=now,
    )
    return "noted"


def note_then(error: BaseException):
    def handler(session: Session, job: DueJob, now: datetime) -> str:
        note(session, job, now)
        session.flush()  # the effect reaches the database before the failure
        raise error

    return handler


@pytest.fixture
def inspection_id(session: Session, rules: Rules) -> uuid.UUID:
    """An inspection to hang effects on; a drill, so it brings no reminder rows of its own."""
    return make_inspection(session, rules, notified_at=london(2025, 3, 4, 10), drill=True).id


def add_jobs(
    engine: Engine,
    inspection_id: uuid.UUID,
    *due_ats: datetime,
    kind: str = "note",
) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        jobs = [
            due.schedule(
                session,
                kind=kind,
                dedupe_key=f"test:{uuid.uuid4()}",
                due_at=at,
                now=NOW - timedelta(days=1),
                inspection_id=inspection_id,
            )
            for at in due_ats
        ]
        session.commit()
        return [job.id for job in jobs if job.id is not None]


def job(engine: Engine, job_id: int) -> DueJob:
    with Session(engine, expire_on_commit=False) as session:
        found = session.get(DueJob, job_id)
        assert found is not None
        return found


def effects(engine: Engine) -> list[int]:
    """The job ids whose effect is in the database, one per effect."""
    with Session(engine) as session:
        rows = session.exec(select(TimelineEntry).where(TimelineEntry.kind == EFFECT)).all()
        return sorted(row.data["job_id"] for row in rows)


def run(engine: Engine, now: datetime, handler=note, worker: str = "worker-a") -> due.TickResult:
    return due.run_due(engine, now=now, handlers={"note": handler}, worker=worker)


def test_a_due_row_runs_once_and_is_marked_done_with_its_attempt(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW)
    later = NOW + timedelta(minutes=1)

    result = run(engine, later)

    assert (result.done, result.failed) == (1, 0)
    row = job(engine, job_id)
    assert (row.status, row.attempts, row.outcome, row.worker) == (
        DueStatus.done,
        1,
        "noted",
        "worker-a",
    )
    assert row.last_attempt_at == later and row.finished_at == later
    assert effects(engine) == [job_id]
    again = run(engine, later + timedelta(hours=1), worker="worker-b")
    assert again.done == 0
    assert effects(engine) == [job_id]
    assert job(engine, job_id).worker == "worker-a"


def test_rows_run_in_due_order(engine: Engine, inspection_id: uuid.UUID) -> None:
    later, earlier = add_jobs(engine, inspection_id, NOW, NOW - timedelta(hours=1))

    run(engine, NOW)

    assert effects(engine) == sorted([earlier, later])
    with Session(engine) as session:
        order = session.exec(
            select(TimelineEntry.data)
            .where(TimelineEntry.kind == EFFECT)
            .order_by(col(TimelineEntry.id))
        ).all()
    assert [data["job_id"] for data in order] == [earlier, later]


def test_a_row_not_yet_due_is_left_until_its_time(engine: Engine, inspection_id: uuid.UUID) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW + timedelta(minutes=1))

    assert run(engine, NOW).done == 0
    row = job(engine, job_id)
    assert (row.status, row.attempts, row.worker) == (DueStatus.pending, 0, None)
    assert effects(engine) == []

    assert run(engine, NOW + timedelta(minutes=1)).done == 1
    assert effects(engine) == [job_id]


def test_cancelled_rows_never_run_and_done_rows_cannot_be_cancelled(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    kept, cancelled = add_jobs(engine, inspection_id, NOW, NOW)
    with Session(engine) as session:
        row = session.get(DueJob, cancelled)
        assert row is not None
        due.cancel(row, reason="deadline met", now=NOW)
        session.add(row)
        session.commit()

    run(engine, NOW + timedelta(days=365))

    assert effects(engine) == [kept]
    row = job(engine, cancelled)
    assert (row.status, row.attempts, row.outcome) == (DueStatus.cancelled, 0, "deadline met")
    with Session(engine) as session:
        done = session.get(DueJob, kept)
        assert done is not None
        due.cancel(done, reason="too late", now=NOW)
        session.add(done)
        session.commit()
    assert (job(engine, kept).status, job(engine, kept).outcome) == (DueStatus.done, "noted")


def test_a_failing_handler_rolls_back_and_retries_with_growing_backoff_until_failed(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW)
    failing = note_then(ConnectionError("smtp relay refused the connection"))
    now = NOW

    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = run(engine, now, handler=failing)

        assert (result.done, result.failed) == (0, 1)
        row = job(engine, job_id)
        assert row.attempts == attempt
        assert row.last_attempt_at == now and row.worker == "worker-a"
        assert "smtp relay refused the connection" in (row.outcome or "")
        assert effects(engine) == [], "a failed attempt's effects must roll back"
        if attempt == MAX_ATTEMPTS:
            assert (row.status, row.finished_at) == (DueStatus.failed, now)
            break
        assert row.status == DueStatus.pending
        ceiling = 5.0 * 2 ** (attempt - 1)
        assert ceiling / 2 <= (row.due_at - now).total_seconds() <= ceiling
        just_before = row.due_at - timedelta(milliseconds=1)
        assert run(engine, just_before, handler=failing).failed == 0
        now = row.due_at

    assert run(engine, now + timedelta(days=365)).done == 0
    assert effects(engine) == []
    assert job(engine, job_id).status == DueStatus.failed


def test_retry_delay_never_exceeds_ten_minutes() -> None:
    delays = [due.retry_delay(attempts).total_seconds() for attempts in range(1, 40)]
    assert max(delays) <= 600
    assert min(delays[10:]) >= 300


def test_a_retried_row_succeeds_once_its_handler_recovers(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW)
    run(engine, NOW, handler=note_then(TimeoutError("provider timed out")))
    retry_at = job(engine, job_id).due_at

    assert run(engine, retry_at).done == 1

    row = job(engine, job_id)
    assert (row.status, row.attempts, row.outcome) == (DueStatus.done, 2, "noted")
    assert effects(engine) == [job_id]


def test_an_unknown_kind_fails_its_row_without_stopping_the_tick(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [unknown] = add_jobs(engine, inspection_id, NOW - timedelta(minutes=1), kind="retired_kind")
    [known] = add_jobs(engine, inspection_id, NOW)

    result = run(engine, NOW)

    assert (result.done, result.failed) == (1, 1)
    assert effects(engine) == [known]
    row = job(engine, unknown)
    assert row.status == DueStatus.pending and row.attempts == 1
    assert "no handler for job kind 'retired_kind'" in (row.outcome or "")
    assert row.due_at > NOW


def test_two_claimers_at_once_run_each_of_200_rows_exactly_once(
    engine: Engine, database_url: str, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(seconds=i) for i in range(200)])
    start = threading.Barrier(2)
    done: dict[str, int] = {}
    errors: list[BaseException] = []

    def claim_all(worker: str) -> None:
        own_engine = make_engine(database_url)
        try:
            start.wait()
            total = 0
            while (result := run(own_engine, NOW, worker=worker)).done:
                total += result.done
            done[worker] = total
        except BaseException as exc:
            errors.append(exc)
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=claim_all, args=(w,)) for w in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(done.values()) == 200
    assert effects(engine) == sorted(job_ids), "every row's effect exactly once"
    with Session(engine) as session:
        summary = session.exec(
            select(DueJob.status, DueJob.attempts, DueJob.worker, func.count()).group_by(
                DueJob.status, DueJob.attempts, DueJob.worker
            )
        ).all()
    assert {(status, attempts) for status, attempts, _, _ in summary} == {(DueStatus.done, 1)}
    by_worker = {worker: count for _, _, worker, count in summary}
    assert by_worker == {worker: count for worker, count in done.items() if count}
    if engine.dialect.name == "postgresql":
        # SKIP LOCKED lets both take rows side by side; SQLite's single writer may let one
        # claimer win every race, which is still exactly once.
        assert set(by_worker) == {"worker-a", "worker-b"}, "both claimers took part"


def test_a_crash_mid_handler_leaves_the_row_pending_with_no_effect(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW)

    with pytest.raises(Crash):
        run(engine, NOW, handler=note_then(Crash()))

    row = job(engine, job_id)
    assert (row.status, row.attempts, row.worker) == (DueStatus.pending, 0, None)
    assert effects(engine) == []
    assert run(engine, NOW + timedelta(seconds=5)).done == 1
    assert (job(engine, job_id).status, job(engine, job_id).attempts) == (DueStatus.done, 1)
    assert effects(engine) == [job_id]


KILLED_MID_HANDLER = """
import os, signal, sys
from datetime import datetime
import service.models
from service import timeline
from service.db import make_engine
from service.scheduler import due

def handler(session, job, now):
    timeline.log(session, inspection_id=job.inspection_id, actor="scheduler", kind=sys.argv[3],
                 summary="half done", data={"job_id": job.id}, now=now)
    session.flush()
    os.kill(os.getpid(), signal.SIGKILL)

due.run_due(make_engine(sys.argv[1]), now=datetime.fromisoformat(sys.argv[2]),
            handlers={"note": handler}, worker="doomed")
"""


@pytest.mark.slow
def test_a_process_killed_mid_handler_leaves_the_row_pending_with_no_effect(
    engine: Engine, database_url: str, inspection_id: uuid.UUID
) -> None:
    [job_id] = add_jobs(engine, inspection_id, NOW)

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_HANDLER, database_url, NOW.isoformat(), EFFECT],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    row = job(engine, job_id)
    assert (row.status, row.attempts, row.worker) == (DueStatus.pending, 0, None)
    assert effects(engine) == []
    # PostgreSQL frees the dead session's row lock a moment after the socket closes.
    poll(lambda: run(engine, NOW).done, timeout=10, what="the row ran after the crash")
    assert (job(engine, job_id).status, job(engine, job_id).attempts) == (DueStatus.done, 1)
    assert effects(engine) == [job_id]


def batching_note(session: Session, first: DueJob, now: datetime) -> str:
    """A handler that takes the other due rows of its kind into its own transaction, as a
    cascade's release does; a row with `fail` in its payload fails on its own."""
    note(session, first, now)
    while chunk := due.claim_due(session, now=now, kind="note", limit=2):
        for other in chunk:

            def work(row: DueJob = other) -> str:
                if row.payload.get("fail"):
                    raise ValueError("this row cannot run")
                note(session, row, now)
                return "noted with the first"

            due.run_claimed(session, other, work, now=now, worker="worker-a")
    return "noted"


def note_one_of_three(session: Session, first: DueJob, now: datetime) -> str:
    """Claims three more rows and runs only the first of them, as a release batch that ends."""
    note(session, first, now)
    [other, *_] = due.claim_due(session, now=now, kind="note", limit=3)
    due.run_claimed(session, other, partial(note, session, other, now), now=now, worker="a")
    return "noted with one more"


def test_rows_claimed_but_not_run_are_left_as_they_were_for_a_later_claim(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 4)

    first = due.run_due(engine, now=NOW, handlers={"note": note_one_of_three}, worker="a", limit=1)

    assert (first.done, first.more) == (2, True)
    assert effects(engine) == job_ids[:2]
    left = [job(engine, i) for i in job_ids[2:]]
    assert [(row.status, row.attempts, row.worker) for row in left] == [
        (DueStatus.pending, 0, None)
    ] * 2
    due.run_due(engine, now=NOW, handlers={"note": note}, worker="b")
    assert effects(engine) == job_ids
    assert [job(engine, i).attempts for i in job_ids] == [1] * 4


def test_rows_claimed_into_another_rows_transaction_run_once_and_are_counted(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 5)
    later = add_jobs(engine, inspection_id, NOW + timedelta(minutes=1))
    other_kind = add_jobs(engine, inspection_id, NOW - timedelta(minutes=1), kind="other")
    result = due.run_due(
        engine, now=NOW, handlers={"note": batching_note, "other": note}, worker="a", limit=1
    )
    assert (result.done, result.failed) == (5, 0)
    assert effects(engine) == job_ids  # one effect each, in one transaction
    assert [job(engine, i).status for i in job_ids] == [DueStatus.done] * 5
    assert [job(engine, i).attempts for i in job_ids] == [1] * 5
    ran_with_the_first = [job(engine, i) for i in job_ids[1:]]
    assert {(row.outcome, row.worker) for row in ran_with_the_first} == {
        ("noted with the first", "worker-a")
    }
    assert {(row.finished_at, row.last_attempt_at) for row in ran_with_the_first} == {(NOW, NOW)}
    assert job(engine, later[0]).status == DueStatus.pending  # not yet due
    assert job(engine, other_kind[0]).status == DueStatus.pending  # another kind: its own turn


def test_a_claimed_row_that_fails_alone_is_retried_and_the_rest_of_the_batch_stands(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    first, second = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 2)
    with Session(engine) as session:
        bad = due.schedule(
            session,
            kind="note",
            dedupe_key="test:bad",
            due_at=NOW - timedelta(seconds=30),
            now=NOW - timedelta(days=1),
            inspection_id=inspection_id,
            payload={"fail": True},
        )
        bad_id = bad.id
        session.commit()
    assert bad_id is not None
    result = due.run_due(engine, now=NOW, handlers={"note": batching_note}, worker="a", limit=1)
    assert (result.done, result.failed) == (2, 1)
    assert effects(engine) == [first, second]
    assert (job(engine, second).status, job(engine, second).attempts) == (DueStatus.done, 1)
    failed = job(engine, bad_id)
    assert (failed.status, failed.attempts) == (DueStatus.pending, 1)
    assert failed.due_at > NOW and "this row cannot run" in (failed.outcome or "")


def test_the_marks_of_the_rows_run_in_a_batch_are_written_in_one_statement_with_its_commit(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    """A statement per row was a tenth of a cascade's release round trips on PostgreSQL."""
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 6)
    updates: list[int] = []

    def count(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # noqa: ANN001
        sets = statement.split(" WHERE ")[0]
        marks = sets.lstrip().upper().startswith("UPDATE DUE_JOB") and "outcome" in sets
        if marks:  # not the claims, nor the first row's attempt
            updates.append(len(parameters) if executemany else 1)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        result = due.run_due(engine, now=NOW, handlers={"note": batching_note}, worker="a", limit=1)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)

    assert (result.done, result.failed) == (6, 0)
    assert [job(engine, i).status for i in job_ids] == [DueStatus.done] * 6
    assert sorted(updates) == [1, 5]  # the first's own mark, and the five run with it


def run_the_others_then_fail(session: Session, first: DueJob, now: datetime) -> str:
    batching_note(session, first, now)
    raise RuntimeError("the handler failed after running the others")


def test_a_handler_that_fails_after_running_other_rows_leaves_them_all_as_they_were(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 4)

    failed = due.run_due(
        engine, now=NOW, handlers={"note": run_the_others_then_fail}, worker="a", limit=1
    )

    assert (failed.done, failed.failed) == (0, 1)
    assert effects(engine) == []
    assert [(job(engine, i).status, job(engine, i).attempts) for i in job_ids[1:]] == [
        (DueStatus.pending, 0)
    ] * 3
    assert (job(engine, job_ids[0]).status, job(engine, job_ids[0]).attempts) == (
        DueStatus.pending,
        1,
    )
    again = due.run_due(engine, now=NOW, handlers={"note": note}, worker="b")
    assert again.done == 3  # the failed one waits for its retry
    assert effects(engine) == job_ids[1:]


def notes_together(fail_at: int | None, seen_after: list[tuple[DueStatus, int]]):
    """A handler that runs the other due rows in one `due.together`, the row at `fail_at`
    failing: what it then sees of the rows that ran before it goes to `seen_after`."""

    def handler(session: Session, first: DueJob, now: datetime) -> str:
        note(session, first, now)
        chunk = due.claim_due(session, now=now, kind="note", limit=10)
        try:
            with due.together(session):
                for i, row in enumerate(chunk):
                    if i == fail_at:
                        raise ValueError("this row cannot run")
                    note(session, row, now)
                    due.ran(session, row, "noted together", now=now, worker="worker-a")
        except ValueError:
            seen_after.extend((row.status, row.attempts) for row in chunk[:fail_at])
            return "the others undone"
        return "noted"

    return handler


def test_rows_run_together_are_marked_done_with_one_attempt_each(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 5)

    result = due.run_due(
        engine, now=NOW, handlers={"note": notes_together(None, [])}, worker="a", limit=1
    )

    assert (result.done, result.failed) == (5, 0)
    assert effects(engine) == job_ids
    assert [(job(engine, i).status, job(engine, i).attempts) for i in job_ids] == [
        (DueStatus.done, 1)
    ] * 5
    assert {job(engine, i).outcome for i in job_ids[1:]} == {"noted together"}


def test_a_failure_among_rows_run_together_undoes_them_all_their_marks_and_their_count(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    """The rows that ran before the failure are left as they were, in the database and in the
    session (read afresh, not with the done marks set on them), and are not counted done."""
    job_ids = add_jobs(engine, inspection_id, *[NOW - timedelta(minutes=1)] * 5)
    seen_after: list[tuple[DueStatus, int]] = []

    result = due.run_due(
        engine, now=NOW, handlers={"note": notes_together(2, seen_after)}, worker="a", limit=1
    )

    assert (result.done, result.failed) == (1, 0)
    assert seen_after == [(DueStatus.pending, 0)] * 2
    assert effects(engine) == job_ids[:1]
    assert [(job(engine, i).status, job(engine, i).attempts) for i in job_ids[1:]] == [
        (DueStatus.pending, 0)
    ] * 4
    again = due.run_due(engine, now=NOW, handlers={"note": note}, worker="b")
    assert again.done == 4
    assert effects(engine) == job_ids


@pytest.mark.sqlite_only
def test_sqlite_claims_a_due_row_by_primary_key_not_by_walking_every_pending_row(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    """With 100,000 reminders pending, a claim that walked every pending row through the status
    index made each firing cost milliseconds and the p99 of 2,000 due in 12 s several seconds
    (`bench/scheduler.py --quick`)."""
    add_jobs(engine, inspection_id, *(NOW - timedelta(minutes=n) for n in range(3)))
    with sqlite_plans.caught(engine, "UPDATE due_job") as seen, Session(engine) as session:
        assert len(due.claim_due(session, now=NOW, limit=2)) == 2
        session.rollback()
    [(statement, parameters)] = seen
    steps = sqlite_plans.plan(engine, statement, parameters)
    assert steps[0] == "SEARCH due_job USING INTEGER PRIMARY KEY (rowid=?)", steps
