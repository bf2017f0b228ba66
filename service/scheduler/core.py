"""The APScheduler tick and the leader lock.

APScheduler runs exactly one in-memory job: a short tick that claims due rows. The rows are the
source of truth, so no job store is shared and a missed tick only delays work. On PostgreSQL one
process leads, by holding `pg_try_advisory_lock` on a connection of its own: when that process
dies its connection closes, the lock is freed and another process leads from its next tick."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime

import aiosmtplib
import httpx
import structlog
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.db import utcnow
from service.leader import LeaderLock
from service.scheduler.due import Handler, TickResult, run_due

log = structlog.get_logger(__name__)

TICK_JOB_ID = "due-work-tick"
TICK_LIMIT = 10_000
TICK_BUDGET_SECONDS = 2.0
"""A tick runs in rounds of about this long, asking between rounds whether it still leads and
whether the service is stopping; the rows run in due order, so a window closing elsewhere
waits behind what fell due before it, never behind a whole cascade's later rows."""
LEADER_LOCK_KEY = 0x1A5E_C710  # any constant; shared by every replica of this service


def failure_category(exc: BaseException) -> str:
    """What kind of thing failed, for anyone who asks /readyz: the exception's own text carries
    SQL, table names and sometimes people's addresses, so it goes to the log only."""
    if isinstance(exc, SQLAlchemyError):
        return "database"
    if isinstance(exc, httpx.HTTPError | aiosmtplib.SMTPException | ConnectionError | TimeoutError):
        return "provider"
    return "internal"


@dataclass
class SchedulerState:
    enabled: bool
    running: bool
    leader: bool
    last_tick_at: datetime | None
    last_error: str | None
    """The category of the last tick's failure (`failure_category`), None after a good tick."""
    jobs_done: int


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        *,
        handlers: dict[str, Handler],
        tick_seconds: float,
        enabled: bool = True,
    ):
        self._engine = engine
        self._handlers = handlers
        self._tick_seconds = tick_seconds
        self._enabled = enabled
        self._lock = LeaderLock(engine, LEADER_LOCK_KEY, "scheduler", check_seconds=tick_seconds)
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._last_tick_at: datetime | None = None
        self._last_error: str | None = None
        self._jobs_done = 0

    def tick(self, now: datetime | None = None) -> TickResult | None:
        """Run what is due if this process leads; `now` is a parameter so tests need no sleep.

        A backlog (a large cascade's many short jobs) runs back to back in budgeted rounds, each
        asking again whether this process still leads and whether it is shutting down, so a
        stop never waits for a whole cascade and a leader that lost its lock stops firing."""
        with self._guard:
            given = now
            now = now or utcnow()
            total = TickResult()
            try:
                while True:
                    if not self._lock.acquire():
                        self._last_tick_at = now
                        return total if total.done or total.failed else None
                    result = run_due(
                        self._engine,
                        now=now,
                        handlers=self._handlers,
                        worker=self.worker,
                        limit=TICK_LIMIT,
                        budget_seconds=TICK_BUDGET_SECONDS,
                    )
                    total.done += result.done
                    total.failed += result.failed
                    total.more, total.next_due = result.more, result.next_due
                    self._jobs_done += result.done
                    self._last_error = None
                    if not result.more or self._stopping.is_set():
                        break
                    now = given or utcnow()
                if total.done or total.failed:
                    log.info("scheduler_tick", done=total.done, failed=total.failed)
                return total
            except Exception as exc:  # keep ticking: the database may come back
                self._last_error = failure_category(exc)
                # A logger fetched now, not at import: it writes where logging is configured today.
                structlog.get_logger(__name__).error(
                    "scheduler_tick_failed",
                    category=self._last_error,
                    error=repr(exc),
                    exc_info=True,
                )
                return None
            finally:
                self._last_tick_at = now

    def start(self) -> None:
        if not self._enabled or self._scheduler is not None:
            return
        self._stopping.clear()
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self._tick_seconds,
            id=TICK_JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=utcnow(),
        )
        scheduler.add_listener(self._after_tick, EVENT_JOB_EXECUTED)
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler_started", tick_seconds=self._tick_seconds, worker=self.worker)

    def _after_tick(self, event: JobExecutionEvent) -> None:
        """A tick that stopped with work left is followed at once, and one that left a row
        falling due before the next interval is followed when it does: 10,000 reminders due in
        one minute fire within moments of their time, not up to a whole interval late. Waking
        from inside the tick would be skipped: APScheduler counts the running tick as the one
        instance allowed."""
        result = event.retval
        if event.job_id != TICK_JOB_ID or not isinstance(result, TickResult):
            return
        if result.more or result.next_due is not None:
            at = None if result.more else result.next_due
            # A tick that ends at once is reported from inside APScheduler's own loop, before
            # the loop sets the interval's next run: a change made here would be overwritten.
            # From a thread of its own the change waits for the loop to finish, then holds.
            threading.Thread(target=self.wake, args=(at,), daemon=True).start()

    def wake(self, at: datetime | None = None) -> None:
        """Tick now (new due rows were just written), or at `at` when that comes before the next
        interval; the interval carries on from there."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        job = scheduler.get_job(TICK_JOB_ID)
        if job is None:
            return
        when = max(at, utcnow()) if at is not None else utcnow()
        if job.next_run_time is None or when < job.next_run_time:
            with contextlib.suppress(JobLookupError):  # shut down meanwhile
                job.modify(next_run_time=when)

    def shutdown(self) -> None:
        """Wait for a running tick, then give up leadership at once (not when the socket dies)."""
        stopping = self._scheduler is not None
        self._stopping.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        with self._guard:
            self._lock.release()
        if stopping:
            log.info("scheduler_stopped", worker=self.worker)

    def state(self) -> SchedulerState:
        return SchedulerState(
            enabled=self._enabled,
            running=self._scheduler is not None and self._scheduler.running,
            leader=self._enabled and self._lock.held,
            last_tick_at=self._last_tick_at,
            last_error=self._last_error,
            jobs_done=self._jobs_done,
        )
