"""The tick wakes when the next row falls due, not a whole interval later: reminders due in the
same minute fire close to their time, each exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import utcnow
from service.rules import Rules
from service.scheduler.core import Scheduler
from service.scheduler.due import DueStatus
from tests.builders import london, make_inspection
from tests.processes import poll
from tests.scheduler.test_core import HANDLERS, NOW, add_jobs, statuses

INTERVAL = 120.0
"""Far longer than the test waits: a row that fires in time was not waited for by the interval."""


@pytest.fixture
def inspection_id(session: Session, rules: Rules) -> uuid.UUID:
    return make_inspection(session, rules, notified_at=london(2025, 3, 4, 10), drill=True).id


def test_a_tick_reports_when_the_next_row_falls_due(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    add_jobs(engine, inspection_id, NOW, NOW + timedelta(minutes=30), NOW + timedelta(hours=2))
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=INTERVAL)
    try:
        first = scheduler.tick(now=NOW)
        assert first is not None and first.done == 1
        assert first.next_due == NOW + timedelta(minutes=30)
        second = scheduler.tick(now=NOW + timedelta(hours=1))
        assert second is not None and second.next_due == NOW + timedelta(hours=2)
        last = scheduler.tick(now=NOW + timedelta(hours=3))
        assert last is not None and last.done == 1 and last.next_due is None
    finally:
        scheduler.shutdown()


def test_rows_falling_due_between_intervals_fire_without_waiting_for_the_interval(
    engine: Engine, inspection_id: uuid.UUID
) -> None:
    start = utcnow() + timedelta(seconds=2)
    due_ats = [start + timedelta(milliseconds=100 * n) for n in range(30)]
    job_ids = add_jobs(engine, inspection_id, *due_ats)
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=INTERVAL)
    scheduler.start()
    try:
        poll(
            lambda: scheduler.state().jobs_done == len(job_ids),
            timeout=INTERVAL / 2,
            what="rows due after the first tick ran before the next interval",
        )
    finally:
        scheduler.shutdown()
    assert statuses(engine, job_ids) == [(DueStatus.done, 1, scheduler.worker)] * len(job_ids)


def test_waking_for_a_later_row_never_puts_off_an_earlier_tick(engine: Engine) -> None:
    scheduler = Scheduler(engine, handlers=HANDLERS, tick_seconds=INTERVAL)
    scheduler.start()
    try:
        poll(lambda: scheduler.state().last_tick_at, timeout=30, what="the first tick ran")
        job = scheduler._scheduler.get_job("due-work-tick")  # noqa: SLF001
        planned = job.next_run_time
        scheduler.wake(at=utcnow() + timedelta(seconds=2 * INTERVAL))
        assert scheduler._scheduler.get_job("due-work-tick").next_run_time == planned  # noqa: SLF001
        scheduler.wake(at=utcnow() + timedelta(seconds=INTERVAL / 4))
        sooner = scheduler._scheduler.get_job("due-work-tick").next_run_time  # noqa: SLF001
        assert sooner < planned
    finally:
        scheduler.shutdown()
