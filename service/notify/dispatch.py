"""The dispatcher: claims queued outbox rows, highest priority (lowest tree level) first, sends
them concurrently within each channel's rate limit, and records every outcome.

Process → queue → deliver, as GOV.UK Notify itself does: the row exists before anything is sent,
and delivery works from the row. A claimed row carries a lease; a process that dies mid-send
leaves rows whose lease runs out, and the next claimer treats them as "in doubt": it asks Notify
whether our reference was accepted before sending again, and re-sends e-mail with the same
Message-ID so mail systems recognise the copy. Every retry is in doubt too: a send that timed out
may well have been accepted. Retryable failures wait with exponential backoff
and jitter (or the provider's Retry-After); permanent ones become escalations at once."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import sqlalchemy as sa
import structlog
from aiolimiter import AsyncLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.cascade import flows
from service.config import Settings
from service.db import utcnow
from service.inspections.service import Rules
from service.notify.base import (
    Accepted,
    Channel,
    ChannelError,
    DailyLimitError,
    Medium,
    OutgoingMessage,
    PermanentError,
    RetryableError,
)
from service.notify.masking import mask_email, mask_phone
from service.notify.models import FAILED, QUEUED, SENDING, SENT, Message

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 900.0


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; never sooner than the provider asked."""
    ceiling = min(MAX_BACKOFF_SECONDS, 2.0 * 2 ** max(0, attempts - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    medium: Medium
    address: str
    subject: str
    body: str
    html_body: str | None
    attempts: int
    in_doubt: bool
    """An earlier attempt may have reached the provider (it timed out, failed oddly, or its
    process died holding the row): ask the provider by reference before sending again."""


@dataclass(frozen=True)
class Outcome:
    message_id: uuid.UUID
    provider: str
    accepted: Accepted | None = None
    error: ChannelError | None = None
    at: datetime | None = None


def claim(
    engine: Engine, *, now: datetime, limit: int, lease: timedelta = timedelta(seconds=60)
) -> list[Claimed]:
    """Take up to `limit` rows that are due, or whose claimer's lease ran out."""
    with Session(engine) as session:
        due = (
            sa.select(  # type: ignore[call-overload]
                Message.id,
                Message.status,
                Message.attempts,
                Message.medium,
                Message.address,
                Message.subject,
                Message.body,
                Message.html_body,
            )
            .where(
                sa.or_(
                    sa.and_(Message.status == QUEUED, col(Message.next_attempt_at) <= now),
                    sa.and_(Message.status == SENDING, col(Message.claimed_until) < now),
                )
            )
            .order_by(col(Message.priority), col(Message.next_attempt_at))
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        picked = session.execute(due).all()
        if not picked:
            session.rollback()
            return []
        session.execute(
            sa.update(Message)
            .where(col(Message.id).in_([row.id for row in picked]))
            .values(status=SENDING, claimed_until=now + lease, attempts=Message.attempts + 1)
        )
        session.commit()
    # A row that was sending (its claimer died) or was tried before may have been accepted.
    return [
        Claimed(
            id=row.id,
            medium=Medium(row.medium),
            address=row.address,
            subject=row.subject,
            body=row.body,
            html_body=row.html_body,
            attempts=row.attempts + 1,
            in_doubt=row.status == SENDING or row.attempts > 0,
        )
        for row in picked
    ]


def release_in_doubt(engine: Engine, *, now: datetime) -> int:
    """On SQLite one dispatcher runs, so at its start every `sending` row belonged to a process
    that is gone: make them claimable now rather than when their lease runs out."""
    with Session(engine) as session:
        result = session.execute(
            sa.update(Message).where(Message.status == SENDING).values(claimed_until=now)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record(
    engine: Engine, outcomes: list[Outcome], *, rules: Rules, max_attempts: int, now: datetime
) -> None:
    """Write outcomes in one transaction; permanent failures escalate in that same transaction."""
    accepted = [o for o in outcomes if o.accepted is not None]
    with Session(engine, expire_on_commit=False) as session:
        if accepted:  # the common case, in one statement
            table = Message.__table__
            session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("message_id"), table.c.status == SENDING)
                .values(
                    status=SENT,
                    provider=sa.bindparam("channel"),
                    provider_id=sa.bindparam("reference"),
                    sent_at=sa.bindparam("at"),
                    claimed_until=None,
                    last_error=None,
                ),
                [
                    {
                        "message_id": o.message_id,
                        "channel": o.provider,
                        "reference": o.accepted.provider_id if o.accepted else None,
                        "at": o.at or now,
                    }
                    for o in accepted
                ],
            )
        for outcome in outcomes:
            if outcome.accepted is not None:
                continue
            message = session.get(Message, outcome.message_id)
            if message is None or message.status != SENDING:
                continue  # a receipt or another claimer got there first
            message.provider = outcome.provider
            message.claimed_until = None
            if isinstance(outcome.error, PermanentError) or (
                isinstance(outcome.error, RetryableError) and message.attempts >= max_attempts
            ):
                message.status = FAILED
                message.failed_at = now
                message.last_error = outcome.error.message[:1000]
                session.add(message)
                session.flush()
                try:
                    with session.begin_nested():  # a failed escalation must not stall the batch
                        flows.message_failed(
                            session, message, outcome.error.message, rules=rules, now=now
                        )
                except Exception:
                    log.exception("escalation_after_failure_failed", message_id=str(message.id))
            else:
                error = outcome.error
                retry_after = error.retry_after if isinstance(error, RetryableError) else None
                message.status = QUEUED
                message.next_attempt_at = now + timedelta(
                    seconds=backoff(message.attempts, retry_after)
                )
                message.last_error = error.message[:1000] if error else None
            session.add(message)
        session.commit()


class Dispatcher:
    """Runs in the service's event loop; every replica may run one (PostgreSQL shares the rows
    with SKIP LOCKED)."""

    def __init__(
        self,
        engine: Engine,
        *,
        rules: Rules,
        channels: dict[Medium, Channel],
        limiters: dict[str, AsyncLimiter],
        concurrency: int = 50,
        max_attempts: int = 12,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.rules = rules
        self.channels = channels
        self.limiters = limiters
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.lease = lease
        self.clock = clock
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._unrecorded = 0
        """Claimed rows whose outcome is not yet written: never more than `concurrency`, so a
        crash leaves at most that many rows in doubt."""
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._paused_until: dict[str, datetime] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.failed = 0

    def wake(self) -> None:
        """New rows were written: look now rather than at the next poll (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def _send_one(self, claimed: Claimed) -> None:
        channel = self.channels[claimed.medium]
        outgoing = OutgoingMessage(
            id=str(claimed.id),
            medium=claimed.medium,
            to=claimed.address,
            subject=claimed.subject,
            body=claimed.body,
            html_body=claimed.html_body,
        )
        try:
            paused = self._paused_until.get(channel.name)
            now = self.clock()
            if paused is not None and paused > now:
                raise RetryableError(
                    f"{channel.name} paused until {paused.isoformat()}",
                    retry_after=(paused - now).total_seconds(),
                )
            accepted = None
            if claimed.in_doubt:
                async with self.limiters[channel.name]:  # a look-up is a request too
                    accepted = await self._already_accepted(channel, claimed)
            if accepted is None:
                async with self.limiters[channel.name]:
                    accepted = await channel.send(outgoing)
            self._outcomes.append(
                Outcome(claimed.id, channel.name, accepted=accepted, at=self.clock())
            )
            self.sent += 1
        except DailyLimitError as exc:
            self._paused_until[channel.name] = self.clock() + timedelta(hours=1)
            log.error("daily_limit_reached", channel=channel.name)
            self._outcomes.append(
                Outcome(claimed.id, channel.name, error=RetryableError(exc.message, 3600.0))
            )
        except ChannelError as exc:
            to = (
                mask_email(claimed.address)
                if claimed.medium is Medium.email
                else mask_phone(claimed.address)
            )
            log.warning("send_failed", message_id=str(claimed.id), to=to, error=exc.message)
            self.failed += isinstance(exc, PermanentError)
            self._outcomes.append(Outcome(claimed.id, channel.name, error=exc))
        except Exception as exc:  # a channel bug must not lose the message: retry it later
            log.exception("send_crashed", message_id=str(claimed.id))
            self._outcomes.append(
                Outcome(claimed.id, channel.name, error=RetryableError(repr(exc)))
            )
        finally:
            self._in_flight -= 1

    async def _already_accepted(self, channel: Channel, claimed: Claimed) -> Accepted | None:
        find = getattr(channel, "find_by_reference", None)
        if find is None:
            return None
        found = await find(str(claimed.id))
        if found is None:
            return None
        log.info("in_doubt_message_was_accepted", message_id=str(claimed.id))
        return Accepted(provider_id=str(found.get("id") or ""))

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            await anyio.to_thread.run_sync(
                lambda: record(
                    self.engine,
                    outcomes,
                    rules=self.rules,
                    max_attempts=self.max_attempts,
                    now=self.clock(),
                )
            )
        except Exception:
            self._outcomes[:0] = outcomes  # keep them: the next flush tries again
            raise
        self._unrecorded -= len(outcomes)

    async def step(self) -> int:
        """One round: claim what fits, start sending it, write finished outcomes."""
        free = self.concurrency - self._unrecorded
        started = 0
        if free > 0:
            batch = await anyio.to_thread.run_sync(
                lambda: claim(self.engine, now=self.clock(), limit=min(free, 200), lease=self.lease)
            )
            for claimed in batch:
                self._in_flight += 1
                self._unrecorded += 1
                task = asyncio.get_running_loop().create_task(self._send_one(claimed))
                self._tasks.add(task)  # the loop keeps only a weak reference to a task
                task.add_done_callback(self._tasks.discard)
            started = len(batch)
        await self._flush()
        return started

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 0.5) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()  # bound to this loop: an app may be started more than once
        if self.engine.dialect.name == "sqlite":
            await anyio.to_thread.run_sync(lambda: release_in_doubt(self.engine, now=self.clock()))
        while not stop.is_set():
            self._wake.clear()  # before the step: a wake during it is not lost
            try:
                started = await self.step()
            except Exception:
                log.exception("dispatch_step_failed")
                started = 0
            if started == 0 and not stop.is_set():
                wait = idle_seconds if self._in_flight == 0 else 0.02
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
            else:
                await asyncio.sleep(0)
        await self.drain_in_flight()

    async def drain_in_flight(self, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self._in_flight > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await self._flush()

    async def send_all(self, *, timeout: float = 60.0) -> None:
        """Send until nothing is queued and due (tests and benchmarks)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            started = await self.step()
            if started == 0 and self._in_flight == 0:
                await self._flush()
                if not await anyio.to_thread.run_sync(self._anything_due):
                    return
            await asyncio.sleep(0.005 if started == 0 else 0)
        raise TimeoutError("messages still queued after the timeout")

    def _anything_due(self) -> bool:
        with Session(self.engine) as session:
            now = self.clock()
            return (
                session.exec(
                    select(Message.id).where(
                        sa.or_(
                            sa.and_(Message.status == QUEUED, col(Message.next_attempt_at) <= now),
                            sa.and_(Message.status == SENDING, col(Message.claimed_until) < now),
                        )
                    )
                ).first()
                is not None
            )


def build_limiters(settings: Settings, channels: dict[Medium, Channel]) -> dict[str, AsyncLimiter]:
    """A token bucket per provider, refilled every second (Notify counts e-mail and SMS
    together)."""
    per_minute = {
        "govuk_notify": settings.notify_rate_limit_per_minute,
        "smtp": settings.smtp_rate_limit_per_minute,
    }
    limiters: dict[str, AsyncLimiter] = {}
    for channel in channels.values():
        rate = per_minute.get(channel.name, 60_000)
        limiters.setdefault(channel.name, AsyncLimiter(max(1, rate / 60), 1))
    return limiters
