"""The dispatcher: claims queued outbox rows, highest priority (lowest tree level) first, sends
them concurrently within each channel's rate limit, and records every outcome.

Process → queue → deliver, as GOV.UK Notify itself does: the row exists before anything is sent,
and delivery works from the row. A claimed row carries a lease; a process that dies mid-send
leaves rows whose lease runs out, and the next claimer treats them as "in doubt": it asks Notify
whether our reference was accepted before sending again, and re-sends e-mail with the same
Message-ID so mail systems recognise the copy. Every retry is in doubt too: a send that timed out
may well have been accepted. Retryable failures wait with exponential backoff and jitter;
permanent ones become escalations at once. A failure of the provider as a whole (refused, no
answer, 5xx, its per-minute 429: ProviderUnavailable) holds the provider instead (outages.py):
no attempt is spent. A spent daily limit pauses that medium until midnight UTC (pauses.py): no
attempt is spent, nothing is marked failed, the people waiting on it are reached by their other
medium (the `on_pause` hook).

One rate limit for the whole service: on PostgreSQL only the replica holding the dispatcher's
leader lock sends (service/leader.py), so its in-memory token bucket is the service's, however
many replicas run; when it dies its lock goes with its connection and another replica takes over
within seconds, treating the rows the dead one held as in doubt. One sender does hundreds a
second, far past Notify's 3,000 a minute: spreading it would only share out the limit. The
leader also asks Notify for the status of messages still without a receipt after `status_poll`
(receipts.py): nothing waits for a receipt that will never come."""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import anyio
import sqlalchemy as sa
import structlog
from aiolimiter import AsyncLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.config import Settings
from service.db import urgent_writer, utcnow
from service.leader import LeaderLock
from service.notify import outages, pauses, receipts
from service.notify.channels.base import (
    Accepted,
    Channel,
    ChannelError,
    DailyLimitError,
    Medium,
    OutgoingMessage,
    PermanentError,
    ProviderUnavailable,
    RetryableError,
)
from service.notify.masking import mask_email, mask_phone
from service.notify.models import DeliveryFailed, MediumPaused, Message, MessageStatus
from service.notify.rows import (
    MAX_BACKOFF_SECONDS,
    Claimed,
    Outcome,
    backoff,
    claim,
    hand_back,
    record,
    record_and_claim,
    release_in_doubt,
)

__all__ = [
    "MAX_BACKOFF_SECONDS",
    "Dispatcher",
    "Outcome",
    "backoff",
    "build_limiters",
    "claim",
    "minute_limiter",
    "record",
]

log = structlog.get_logger(__name__)

DISPATCH_LOCK_KEY = 0x1A5E_C711
"""The dispatcher's leader lock (the scheduler's is 0x1A5E_C710)."""
LEADER_CHECK_SECONDS = 2.0
"""How often a replica checks it still leads, or tries to lead."""
STATUS_POLL_EVERY_SECONDS = 30.0
"""How often the leader looks for messages whose receipt is overdue."""
STATUS_POLL_BATCH = 100
FLUSH_AFTER_SECONDS = 0.05
"""Outcomes wait at most about this long to be written while sends are still in flight."""
EXPIRED_LOOK_EVERY = timedelta(seconds=1)
"""How often a claim also looks for rows whose claimer died holding them (their 60 s lease ran
out): a second more before their retry, one statement fewer in nearly every claim."""


class Dispatcher:
    """Runs in the service's event loop; every replica runs one, but only the one holding the
    dispatcher's leader lock sends (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        on_failure: DeliveryFailed,
        channels: dict[Medium, Channel],
        limiters: dict[str, AsyncLimiter],
        concurrency: int = 50,
        max_attempts: int = 12,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
        on_pause: MediumPaused | None = None,
        status_poll: timedelta = timedelta(minutes=10),
    ):
        self.engine = urgent_writer(engine)  # claims and outcomes: see service/db.py
        self.on_failure = on_failure
        self.on_pause = on_pause
        self.status_poll = status_poll
        self.channels = channels
        self.limiters = limiters
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.lease = lease
        self.clock = clock
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending: set[uuid.UUID] = set()
        """Rows whose send has not finished: a drain that runs out of time hands them back."""
        self._unrecorded = 0
        """Claimed rows whose outcome is not yet written: never more than `concurrency`, so a
        crash leaves at most that many rows in doubt."""
        self._outcomes: list[Outcome] = []
        self._flushed_at = -math.inf
        self._looked_for_expired: datetime | None = None
        self._wake = asyncio.Event()
        self._paused_until: dict[Medium, datetime] = {}
        """Media this process saw paused: their claimed rows go back unsent, not into the limit."""
        self._holds = outages.Holds(clock, backoff)
        self._second_of_sends = max(
            1, int(min((lim.max_rate / lim.time_period for lim in limiters.values()), default=1e9))
        )
        """What the slowest provider's rate limit lets start in a second: never more claimed rows
        wait for a limit than this, so a steering-group message queued later waits behind at most
        a second's sends, whatever DISPATCH_CONCURRENCY is."""
        self._waiting: set[uuid.UUID] = set()
        """Claimed rows not yet through their provider's rate limit."""
        self._batch = max(1, min(concurrency, self._second_of_sends) // 4)
        """Claims and outcome writes go in batches of at least this many while sends are in
        flight: a round trip to the database per message was most of a message's cost."""
        self._leader = LeaderLock(engine, DISPATCH_LOCK_KEY, "dispatcher")
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
            paused = self._paused_until.get(claimed.medium)
            if paused is not None and paused > self.clock():
                raise DailyLimitError(f"{claimed.medium} paused until {paused.isoformat()}")
            held = self._holds.held_until(channel.name)
            if held is not None:
                raise ProviderUnavailable(f"{channel.name} unavailable; held until {held}")
            accepted = None
            if claimed.in_doubt:
                await self._turn(channel, claimed)  # a look-up is a request too
                accepted = await self._already_accepted(channel, claimed)
            if accepted is None:
                await self._turn(channel, claimed)
                accepted = await channel.send(outgoing)
            self._outcomes.append(
                Outcome(claimed.id, channel.name, accepted=accepted, at=self.clock())
            )
            self._holds.succeeded(channel.name, channel.media)
            self.sent += 1
        except DailyLimitError as exc:
            self._paused_until[claimed.medium] = pauses.next_midnight_utc(self.clock())
            self._outcomes.append(
                Outcome(claimed.id, channel.name, error=exc, medium=claimed.medium)
            )
        except ProviderUnavailable as exc:
            self._outcomes.append(
                Outcome(
                    claimed.id, channel.name, error=exc, retry_at=self._holds.hold(channel.name)
                )
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
            self._sending.discard(claimed.id)
            self._waiting.discard(claimed.id)
            if len(self._outcomes) >= self._batch or self._in_flight == 0:
                self._wake.set()  # a batch is ready: the loop writes it and claims again

    async def _turn(self, channel: Channel, claimed: Claimed) -> None:
        """Wait for the provider's rate limit to let one more request go."""
        await self.limiters[channel.name].acquire()
        self._waiting.discard(claimed.id)

    async def _already_accepted(self, channel: Channel, claimed: Claimed) -> Accepted | None:
        find = getattr(channel, "find_by_reference", None)
        if find is None:
            return None
        found = await find(str(claimed.id))
        if found is None:
            return None
        log.info("in_doubt_message_was_accepted", message_id=str(claimed.id))
        return Accepted(provider_id=str(found.get("id") or ""))

    def _recording(self) -> dict[str, Any]:
        """What writing outcomes needs besides the outcomes (rows.record_and_claim)."""
        return {
            "on_failure": self.on_failure,
            "max_attempts": self.max_attempts,
            "now": self.clock(),
            "on_pause": self.on_pause,
        }

    def _record(self, outcomes: list[Outcome]) -> None:
        record(self.engine, outcomes, **self._recording())

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            await anyio.to_thread.run_sync(lambda: self._record(outcomes))
        except Exception:
            self._outcomes[:0] = outcomes  # keep them: the next flush tries again
            raise
        self._unrecorded -= len(outcomes)
        await self._release_recovered()

    async def _release_recovered(self) -> None:
        """A provider back from an outage: every message it held is due at once."""
        for media, moments in self._holds.take_recovered():
            await anyio.to_thread.run_sync(
                partial(
                    outages.release_held,
                    self.engine,
                    media=media,
                    moments=moments,
                    now=self.clock(),
                )
            )

    async def step(self) -> int:
        """One round: write finished outcomes, then claim what fits and start sending it, both in
        one transaction (rows.record_and_claim). While sends are in flight both wait for a batch
        (outcomes at most FLUSH_AFTER_SECONDS)."""
        loop = asyncio.get_running_loop()
        ready = len(self._outcomes)
        outcomes: list[Outcome] = []
        if ready and (
            ready >= self._batch
            or self._in_flight == 0
            or loop.time() - self._flushed_at >= FLUSH_AFTER_SECONDS
        ):
            self._flushed_at = loop.time()
            outcomes, self._outcomes = self._outcomes, []
        free = min(
            self.concurrency - self._unrecorded + len(outcomes),
            self._second_of_sends - len(self._waiting),
        )
        wanted = free >= self._batch or (free > 0 and self._in_flight == 0)
        if not outcomes and not wanted:
            return 0
        recording = self._recording()
        expired = wanted and self._time_to_look_for_expired(recording["now"])
        work = partial(
            record_and_claim,
            self.engine,
            outcomes,
            **recording,
            limit=min(free, 200) if wanted else 0,
            lease=self.lease,
            expired=expired,
        )
        try:
            batch = await anyio.to_thread.run_sync(work)
        except BaseException:
            self._outcomes[:0] = outcomes  # keep them: the next round tries again
            raise
        self._unrecorded -= len(outcomes)
        if outcomes:
            await self._release_recovered()
        for claimed in batch:
            self._in_flight += 1
            self._unrecorded += 1
            self._sending.add(claimed.id)
            self._waiting.add(claimed.id)
            task = loop.create_task(self._send_one(claimed))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)
        return len(batch)

    def _time_to_look_for_expired(self, now: datetime) -> bool:
        last = self._looked_for_expired
        if last is not None and timedelta(0) <= now - last < EXPIRED_LOOK_EVERY:
            return False
        self._looked_for_expired = now
        return True

    async def run(
        self, stop: asyncio.Event, *, idle_seconds: float = 0.5, drain_seconds: float = 30.0
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()  # bound to this loop: an app may be started more than once
        if self.engine.dialect.name == "sqlite":
            await anyio.to_thread.run_sync(lambda: release_in_doubt(self.engine, now=self.clock()))
        loop = asyncio.get_running_loop()
        leading, checked_at, polled_at = False, -math.inf, loop.time()
        try:
            while not stop.is_set():
                self._wake.clear()  # before the step: a wake during it is not lost
                if loop.time() - checked_at >= LEADER_CHECK_SECONDS:
                    leading = await self._lead()
                    checked_at = loop.time()
                started = 0
                if leading:
                    try:
                        started = await self.step()
                        if loop.time() - polled_at >= STATUS_POLL_EVERY_SECONDS:
                            polled_at = loop.time()
                            await self.poll_statuses()
                    except Exception:
                        log.exception("dispatch_step_failed")
                if started == 0 and not stop.is_set():
                    wait = idle_seconds if self._in_flight == 0 else 0.02
                    if not leading:
                        wait = LEADER_CHECK_SECONDS
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
                else:
                    await asyncio.sleep(0)
            await self.drain_in_flight(drain_seconds)
        finally:
            await anyio.to_thread.run_sync(self._leader.release)

    async def _lead(self) -> bool:
        """Whether this replica sends: only one does on PostgreSQL (see the module docstring)."""
        try:
            return await anyio.to_thread.run_sync(self._leader.acquire)
        except Exception:
            log.exception("dispatch_leader_check_failed")
            return False

    async def poll_statuses(self) -> int:
        """Ask Notify about messages still `sent` without a receipt after `status_poll`
        (`GET /v2/notifications/{id}`): Notify sends none for a technical failure, nor for
        `sent` abroad. Returns how many were asked about."""
        channel = next((c for c in self.channels.values() if hasattr(c, "get_notification")), None)
        if channel is None:
            return 0
        now = self.clock()
        due = await anyio.to_thread.run_sync(
            lambda: receipts.overdue(
                self.engine, now=now, after=self.status_poll, limit=STATUS_POLL_BATCH
            )
        )
        found: list[tuple[uuid.UUID, dict[str, Any] | None]] = []
        for message_id, provider_id in due:
            try:
                async with self.limiters[channel.name]:
                    found.append((message_id, await channel.get_notification(provider_id)))  # type: ignore[attr-defined]
            except ChannelError as exc:
                log.warning("status_check_failed", message_id=str(message_id), error=exc.message)
        if found:
            await anyio.to_thread.run_sync(
                lambda: receipts.apply_statuses(
                    self.engine, found, on_failure=self.on_failure, now=self.clock()
                )
            )
        return len(found)

    async def drain_in_flight(self, timeout: float = 30.0) -> None:
        """Let the sends in flight finish and record them; what has not finished in `timeout`
        is cancelled and handed back (queued, due now, in doubt), so a stopped process leaves
        nothing `sending`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._in_flight > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await self._flush()
        if not self._sending:
            return
        unfinished = list(self._sending)
        for task in list(self._tasks):
            task.cancel()
        await anyio.to_thread.run_sync(partial(hand_back, self.engine, unfinished, self.clock()))
        log.warning("sends_handed_back", count=len(unfinished))

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
            paused = pauses.paused_media(session, now)
            return (
                session.exec(
                    select(Message.id).where(
                        col(Message.medium).not_in(paused),
                        sa.or_(
                            sa.and_(
                                Message.status == MessageStatus.queued,
                                col(Message.next_attempt_at) <= now,
                            ),
                            sa.and_(
                                Message.status == MessageStatus.sending,
                                col(Message.claimed_until) < now,
                            ),
                        ),
                    )
                ).first()
                is not None
            )


def minute_limiter(per_minute: int) -> AsyncLimiter:
    """At most `per_minute` requests in any 60 seconds, as GOV.UK Notify counts its limit
    ("3,000 messages per 60 seconds"): a second's worth may go at once and the rest flows evenly,
    the burst and a minute's flow together a second's worth under the limit, room for requests
    that reach the provider bunched by the network. (A bucket refilled every second lets a
    second's worth more through in a minute than the limit.)"""
    burst = max(1.0, per_minute / 60)
    flow_per_second = max(per_minute - 2 * burst, 1.0) / 60
    return AsyncLimiter(burst, burst / flow_per_second)


def build_limiters(settings: Settings, channels: dict[Medium, Channel]) -> dict[str, AsyncLimiter]:
    """A leaky bucket per provider (Notify counts e-mail and SMS together)."""
    per_minute = {
        "govuk_notify": settings.notify_rate_limit_per_minute,
        "smtp": settings.smtp_rate_limit_per_minute,
    }
    limiters: dict[str, AsyncLimiter] = {}
    for channel in channels.values():
        limiters.setdefault(channel.name, minute_limiter(per_minute.get(channel.name, 60_000)))
    return limiters
