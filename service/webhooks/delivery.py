"""The delivery worker: claims due deliveries, POSTs them with httpx, records every outcome.

Order: one inspection's events reach a subscription in the order they happened. A claim takes
the oldest undelivered row of each (subscription, inspection) and the rows queued behind it, and
one thread sends them one after another, stopping at the first failure (the rest go back
untouched): event n+1 is never sent before event n was accepted. Events of no inspection (ping)
keep no order.

Safe across replicas: on PostgreSQL the claim locks its rows with SKIP LOCKED and marks them
`sending` with a lease, so two replicas never send the same row; on SQLite writers queue anyway.
The claim reads first and writes only when it found something, so an idle worker never takes
SQLite's writer lock. A worker that dies leaves rows whose lease runs out and are sent again
(receivers dedupe on `webhook-id`, which never changes).

Failures (a status other than 2xx, a timeout, a refused connection) wait with exponential
backoff and jitter; a subscription that has failed for 24 hours without a success in between is
disabled, its failing delivery marked failed and the change recorded on the audit log, which admins
read (users have no e-mail address to write to); `on_disabled` is the hook for telling anyone
more. Requests go from worker threads, each chain on a blocking httpx client of its own
(service/webhooks/clients.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from service import audit_log
from service.db import reader, utcnow
from service.webhooks import signing, targets
from service.webhooks.clients import ChainClients
from service.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

log = structlog.get_logger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)
TIMEOUT_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 3600.0
CHAIN = 250
"""Rows of one (subscription, inspection) sent in a row by one task (within half the lease)."""
ERROR_CHARS = 1000

OnDisabled = Callable[[Session, WebhookSubscription, datetime], None]


def backoff(
    attempts: int, base_seconds: float = 5.0, most_seconds: float = MAX_BACKOFF_SECONDS
) -> float:
    """Exponential with jitter: about 5 s, 10 s, 20 s ... up to an hour between tries."""
    ceiling = min(most_seconds, base_seconds * 2 ** max(0, min(attempts - 1, 60)))
    return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    event_id: str
    body: bytes


@dataclass
class Batch:
    """One (subscription, inspection)'s rows, to be sent in order by one task."""

    subscription_id: int
    url: str
    secret: str
    rows: list[Claimed] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    subscription_id: int
    ok: bool
    status: int | None = None
    error: str | None = None
    released: bool = False
    """Not tried: an earlier row of its batch failed."""


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    d = WebhookDelivery
    return sa.or_(
        sa.and_(d.status == DeliveryStatus.pending, col(d.next_attempt_at) <= now),
        sa.and_(d.status == DeliveryStatus.sending, col(d.claimed_until) < now),
    )


_WAITING = (DeliveryStatus.pending, DeliveryStatus.sending)


def _candidates(session: Session, *, now: datetime, limit: int) -> list[tuple[int, list[int]]]:
    """(subscription id, ids in order) per group whose oldest waiting row is due; reads only.

    The heads are joined by primary key rather than tested with `id IN (heads)`: beside the
    claimable test's `status` terms, SQLite then walked every waiting row through the queue
    index (that statement took 84 ms with 20,000 waiting, 12 ms joined;
    tests/webhooks/test_delivery.py pins the plan). The chains bring back whether each row is
    due, worked out by the database, rather than two datetimes a row to convert, from one
    statement compiled once a claim."""
    d, s = WebhookDelivery, WebhookSubscription
    enabled = sa.select(s.id).where(col(s.enabled).is_(True))  # type: ignore[call-overload]
    heads = (
        sa.select(sa.func.min(d.id).label("id"))  # type: ignore[call-overload]
        .where(col(d.status).in_(_WAITING), col(d.inspection_id).is_not(None))
        .where(col(d.subscription_id).in_(enabled))
        .group_by(d.subscription_id, d.inspection_id)
        .subquery()
    )
    due_heads = session.execute(
        sa.select(d.id, d.subscription_id, d.inspection_id)  # type: ignore[call-overload]
        .join(heads, heads.c.id == d.id)
        .where(_claimable(now))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    ).all()
    behind = (
        sa.select(d.id, _claimable(now).label("due"))  # type: ignore[call-overload]
        .where(
            d.subscription_id == sa.bindparam("subscription_id"),
            d.inspection_id == sa.bindparam("inspection_id"),
            col(d.id) > sa.bindparam("head_id"),
            col(d.status).in_(_WAITING),
        )
        .order_by(d.id)
        .limit(CHAIN - 1)
    )
    groups: list[tuple[int, list[int]]] = []
    for head_id, subscription_id, inspection_id in due_heads:
        chain = session.execute(
            behind,
            {
                "subscription_id": subscription_id,
                "inspection_id": inspection_id,
                "head_id": head_id,
            },
        ).all()
        ids = [head_id]
        for row_id, due in chain:
            if not due:
                break
            ids.append(row_id)
        groups.append((subscription_id, ids))
    if len(groups) < limit:
        loose = session.execute(
            sa.select(d.id, d.subscription_id)  # type: ignore[call-overload]
            .where(col(d.inspection_id).is_(None), _claimable(now))
            .where(col(d.subscription_id).in_(enabled))
            .order_by(d.next_attempt_at, d.id)
            .limit(limit - len(groups))
        ).all()
        groups += [(subscription_id, [row_id]) for row_id, subscription_id in loose]
    return groups


def claim(
    engine: Engine, *, now: datetime, limit: int, lease: timedelta = timedelta(seconds=60)
) -> list[Batch]:
    """Up to `limit` batches of due rows, marked `sending` until `now + lease`."""
    with Session(reader(engine)) as session:
        groups = _candidates(session, now=now, limit=limit)
    if not groups:
        return []
    d = WebhookDelivery
    wanted = [row_id for _, ids in groups for row_id in ids]
    with Session(engine) as session:
        locking = sa.select(d.id).where(col(d.id).in_(wanted), _claimable(now))  # type: ignore[call-overload]
        if session.get_bind().dialect.name == "postgresql":
            locking = locking.with_for_update(skip_locked=True)
        got = {row_id for (row_id,) in session.execute(locking).all()}
        kept: list[tuple[int, list[int]]] = []
        for subscription_id, ids in groups:
            prefix: list[int] = []
            for row_id in ids:  # a gap breaks the order: stop before it
                if row_id not in got:
                    break
                prefix.append(row_id)
            if prefix:
                kept.append((subscription_id, prefix))
        ids_kept = [row_id for _, ids in kept for row_id in ids]
        if not ids_kept:
            session.rollback()
            return []
        session.execute(
            sa.update(d)
            .where(col(d.id).in_(ids_kept))
            .values(status=DeliveryStatus.sending, claimed_until=now + lease)
        )
        bodies = {
            row_id: (event_id, body)
            for row_id, event_id, body in session.execute(
                sa.select(d.id, WebhookEvent.id, WebhookEvent.body)  # type: ignore[call-overload]
                .join(WebhookEvent, col(WebhookEvent.id) == col(d.event_id))
                .where(col(d.id).in_(ids_kept))
            ).all()
        }
        subscriptions = {
            sid: (url, secret)
            for sid, url, secret in session.execute(
                sa.select(  # type: ignore[call-overload]
                    WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret
                ).where(col(WebhookSubscription.id).in_({sid for sid, _ in kept}))
            ).all()
        }
        session.commit()
    batches = []
    for subscription_id, ids in kept:
        url, secret = subscriptions[subscription_id]
        batch = Batch(subscription_id, url, secret)
        for row_id in ids:
            event_id, body = bodies[row_id]
            batch.rows.append(Claimed(row_id, event_id, body.encode()))
        batches.append(batch)
    return batches


def record(
    engine: Engine,
    outcomes: list[Outcome],
    *,
    now: datetime,
    backoff_base_seconds: float = 5.0,
    backoff_most_seconds: float = MAX_BACKOFF_SECONDS,
    on_disabled: OnDisabled | None = None,
) -> list[int]:
    """Write outcomes in one transaction; returns the subscriptions this disabled."""
    d, s = WebhookDelivery.__table__, WebhookSubscription.__table__
    done = [o for o in outcomes if o.ok]
    released = [o.delivery_id for o in outcomes if o.released]
    failed = [o for o in outcomes if not o.ok and not o.released]
    disabled: list[int] = []
    with Session(engine, expire_on_commit=False) as session:
        if done:
            session.execute(
                sa.update(d)
                .where(d.c.id == sa.bindparam("delivery_id"), d.c.status == DeliveryStatus.sending)
                .values(
                    status=DeliveryStatus.succeeded,
                    attempts=d.c.attempts + 1,
                    last_status=sa.bindparam("http_status"),
                    last_error=None,
                    delivered_at=now,
                    claimed_until=None,
                ),
                [{"delivery_id": o.delivery_id, "http_status": o.status} for o in done],
            )
            session.execute(
                sa.update(s)
                .where(
                    s.c.id.in_({o.subscription_id for o in done}), s.c.failing_since.is_not(None)
                )
                .values(failing_since=None)
            )
        if released:
            session.execute(
                sa.update(d)
                .where(d.c.id.in_(released), d.c.status == DeliveryStatus.sending)
                .values(status=DeliveryStatus.pending, claimed_until=None)
            )
        for outcome in failed:
            delivery = session.get(WebhookDelivery, outcome.delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.sending:
                continue
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            if subscription is None:
                continue
            delivery.attempts += 1
            delivery.last_status = outcome.status
            delivery.last_error = (outcome.error or "")[:ERROR_CHARS] or None
            delivery.claimed_until = None
            delivery.first_failed_at = delivery.first_failed_at or now
            subscription.failing_since = subscription.failing_since or now
            give_up_at = subscription.failing_since + GIVE_UP_AFTER
            if now >= give_up_at and subscription.enabled:
                delivery.status = DeliveryStatus.failed
                _disable(session, subscription, outcome, now=now, on_disabled=on_disabled)
                assert subscription.id is not None
                disabled.append(subscription.id)
            else:  # (a subscription an admin turned off keeps it waiting for when it is on)
                delivery.status = DeliveryStatus.pending
                wait = timedelta(
                    seconds=backoff(delivery.attempts, backoff_base_seconds, backoff_most_seconds)
                )
                delivery.next_attempt_at = min(now + wait, give_up_at)  # the last try at 24 h
            session.add(delivery)
            session.add(subscription)
        session.commit()
    return disabled


def _disable(
    session: Session,
    subscription: WebhookSubscription,
    outcome: Outcome,
    *,
    now: datetime,
    on_disabled: OnDisabled | None,
) -> None:
    what = f"HTTP {outcome.status}" if outcome.status is not None else (outcome.error or "error")
    subscription.enabled = False
    subscription.disabled_at = now
    subscription.disabled_reason = (f"failed for 24 hours without a success; last attempt: {what}")[
        :1000
    ]
    session.add(subscription)
    audit_log.record(
        session,
        actor="webhooks",
        action="webhook_disabled",
        target=f"webhook:{subscription.id}",
        data={"url": subscription.url, "reason": subscription.disabled_reason},
        now=now,
    )
    log.error("webhook_disabled", webhook_id=subscription.id, reason=subscription.disabled_reason)
    if on_disabled is None:
        return
    session.flush()
    try:
        with session.begin_nested():  # telling the admins must not undo the disabling
            on_disabled(session, subscription, now)
    except Exception:
        log.exception("telling_admins_webhook_disabled_failed", webhook_id=subscription.id)


class Deliverer:
    """Runs in the service's event loop beside the message dispatcher; every replica may run
    one (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: targets.Policy,
        concurrency: int = 20,
        lease: timedelta = timedelta(seconds=60),
        timeout: float = TIMEOUT_SECONDS,
        backoff_base_seconds: float = 5.0,
        backoff_most_seconds: float = MAX_BACKOFF_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        on_disabled: OnDisabled | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.engine = engine
        self.policy = policy
        self.concurrency = concurrency
        self.lease = lease
        self.timeout = timeout
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_most_seconds = backoff_most_seconds
        self.clock = clock
        self.on_disabled = on_disabled
        self._clients = ChainClients(timeout=timeout, transport=transport)
        self._limiter = anyio.CapacityLimiter(max(concurrency, 1))
        """Threads sending at once: one per batch in flight."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[Outcome] = []
        self._busy = 0
        """Batches claimed and not yet recorded."""
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0
        self.failed = 0

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def _pinned(self, url: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """The URL with its host replaced by a checked address (so the connection goes where
        the check looked), the Host header and TLS name kept."""
        host, port = targets.check_url(url, self.policy)
        addresses = targets.resolve(host, port)
        targets.check_addresses(host, addresses, self.policy)
        parsed = httpx.URL(url)
        pinned = parsed.copy_with(host=addresses[0].split("%")[0])
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        return pinned, {"host": parsed.netloc.decode("ascii")}, extensions

    async def _send_batch(self, batch: Batch) -> None:
        try:
            outcomes = await anyio.to_thread.run_sync(
                self._send_chain, batch, limiter=self._limiter
            )
            self._outcomes.extend(outcomes)
        except Exception as exc:  # never lose the rows: they are retried
            log.exception("webhook_batch_crashed", webhook_id=batch.subscription_id)
            self._outcomes.extend(
                Outcome(row.delivery_id, batch.subscription_id, ok=False, error=repr(exc))
                for row in batch.rows[:1]
            )
            self._outcomes.extend(
                Outcome(row.delivery_id, batch.subscription_id, ok=False, released=True)
                for row in batch.rows[1:]
            )
        finally:
            self._busy -= 1
            self._wake.set()  # record it now, and claim what was waiting behind it

    def _send_chain(self, batch: Batch) -> list[Outcome]:
        """In a worker thread: the batch's rows in order, stopping at the first failure (the
        rest go back untried)."""
        outcomes: list[Outcome] = []
        stop_after = time.monotonic() + self.lease.total_seconds() / 2
        client = self._clients.take()
        try:
            for index, row in enumerate(batch.rows):
                outcome = self._send_one(client, batch, row)
                outcomes.append(outcome)
                # a slow receiver: hand the rest back well before the lease runs out, or another
                # worker could claim them while this one is still sending (out of order)
                if not outcome.ok or time.monotonic() > stop_after:
                    outcomes.extend(
                        Outcome(later.delivery_id, batch.subscription_id, ok=False, released=True)
                        for later in batch.rows[index + 1 :]
                    )
                    break
        finally:
            self._clients.give_back(client)
        return outcomes

    def _send_one(self, client: httpx.Client, batch: Batch, row: Claimed) -> Outcome:
        timestamp = int(self.clock().timestamp())
        headers = signing.headers(
            batch.secret, msg_id=row.event_id, timestamp=timestamp, body=row.body
        )
        try:
            url, host, extensions = self._pinned(batch.url)
            response = client.post(
                url, content=row.body, headers={**headers, **host}, extensions=extensions
            )
        except targets.RefusedTarget as exc:
            return self._failed(batch, row, None, f"refused: {exc}")
        except httpx.TimeoutException:
            return self._failed(batch, row, None, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return self._failed(batch, row, None, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug here must not lose the row: it is retried later
            log.exception("webhook_send_crashed", delivery_id=row.delivery_id)
            return self._failed(batch, row, None, repr(exc))
        if 200 <= response.status_code < 300:
            self.delivered += 1
            return Outcome(
                row.delivery_id, batch.subscription_id, ok=True, status=response.status_code
            )
        return self._failed(
            batch, row, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
        )

    def _failed(self, batch: Batch, row: Claimed, status: int | None, error: str) -> Outcome:
        self.failed += 1
        log.warning(
            "webhook_failed",
            delivery_id=row.delivery_id,
            webhook_id=batch.subscription_id,
            error=error,
        )
        return Outcome(row.delivery_id, batch.subscription_id, ok=False, status=status, error=error)

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            await anyio.to_thread.run_sync(
                lambda: record(
                    self.engine,
                    outcomes,
                    now=self.clock(),
                    backoff_base_seconds=self.backoff_base_seconds,
                    backoff_most_seconds=self.backoff_most_seconds,
                    on_disabled=self.on_disabled,
                )
            )
        except Exception:
            self._outcomes[:0] = outcomes  # the next flush tries again
            raise

    async def step(self) -> int:
        """One round: claim what fits, start sending it, write finished outcomes."""
        await self._flush()
        free = self.concurrency - self._busy
        started = 0
        if free > 0:
            batches = await anyio.to_thread.run_sync(
                lambda: claim(self.engine, now=self.clock(), limit=free, lease=self.lease)
            )
            for batch in batches:
                self._busy += 1
                task = asyncio.get_running_loop().create_task(self._send_batch(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            started = len(batches)
        return started

    async def run(
        self, stop: asyncio.Event, *, idle_seconds: float = 1.0, drain_seconds: float = 30.0
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while not stop.is_set():
                self._wake.clear()
                started = 0
                try:
                    started = await self.step()
                except Exception:
                    log.exception("webhook_step_failed")
                if started == 0 and not stop.is_set():
                    # chains in flight need no faster look: each one that ends sets the wake
                    # (polling every 10 ms while one long chain was out cost a claim each time)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=idle_seconds)
                else:
                    await asyncio.sleep(0)
            await self.drain(drain_seconds)
        finally:
            await self.close()

    async def drain(self, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self._busy > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await self._flush()

    async def close(self) -> None:
        for client in self._clients.forget_all():
            await anyio.to_thread.run_sync(client.close)

    async def deliver_due(self, *, timeout: float = 60.0, waiting: bool = False) -> None:
        """Send until nothing is due now; with `waiting`, until nothing waits at all (tests and
        benchmarks)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            started = await self.step()
            if started == 0 and self._busy == 0:
                await self._flush()
                if not await anyio.to_thread.run_sync(lambda: self._anything_due(waiting)):
                    return
            await asyncio.sleep(0.002 if started == 0 else 0)
        raise TimeoutError("webhook deliveries still due after the timeout")

    def _anything_due(self, waiting: bool = False) -> bool:
        with Session(reader(self.engine)) as session:
            if not waiting:
                return bool(_candidates(session, now=self.clock(), limit=1))
            d, s = WebhookDelivery, WebhookSubscription
            found = session.execute(
                sa.select(d.id)  # type: ignore[call-overload]
                .join(s, col(s.id) == col(d.subscription_id))
                .where(col(d.status).in_(_WAITING), col(s.enabled).is_(True))
                .limit(1)
            ).first()
            return found is not None
