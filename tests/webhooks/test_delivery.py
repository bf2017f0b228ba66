"""The delivery worker against a real receiver on 127.0.0.1: order, signatures, retries, the
24-hour disabling, and claims that never send a row twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from standardwebhooks import Webhook

from service.audit_log import AuditEvent
from service.db import utcnow
from service.webhooks import service, targets
from service.webhooks.delivery import Deliverer, backoff, claim
from service.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests import sqlite_plans
from tests.webhooks.receiver import Receiver, receiving

T = TypeVar("T")

LOOPBACK = targets.Policy(allow_http=True, allow_private=True)


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: a test before this one (the browser tests' sync
    Playwright) may have left an event loop running on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


def subscribe(engine: Engine, url: str, events: list[str] | None = None) -> tuple[int, str]:
    with Session(engine) as session:
        subscription = service.create(
            session,
            url=url,
            events=events or list(service.EVENT_TYPES),
            description=None,
            actor="test",
            now=utcnow(),
        )
        session.commit()
        assert subscription.id is not None
        return subscription.id, subscription.secret


def emit_many(engine: Engine, count: int, inspection_id: uuid.UUID | None) -> list[str]:
    ids = []
    with Session(engine) as session:
        for n in range(count):
            event = service.emit(session, "task.created", {"n": n}, inspection_id, now=utcnow())
            assert event is not None
            ids.append(event.id)
        session.commit()
    return ids


def deliverer(engine: Engine, **kwargs: object) -> Deliverer:
    kwargs.setdefault("backoff_base_seconds", 0.02)
    kwargs.setdefault("backoff_most_seconds", 0.2)
    return Deliverer(engine, policy=LOOPBACK, **kwargs)  # type: ignore[arg-type]


def test_every_event_arrives_in_order_signed_after_the_receiver_comes_back(
    engine: Engine, receiver: Receiver
) -> None:
    _, secret = subscribe(engine, receiver.url)
    inspection = uuid.uuid4()
    sent = emit_many(engine, 30, inspection)
    loose = emit_many(engine, 5, None)  # no inspection: no order to keep
    receiver.down = True

    async def run() -> None:
        worker = deliverer(engine)
        for _ in range(40):  # a while down: every attempt is refused
            await worker.step()
            await asyncio.sleep(0.01)
        await worker.drain()
        receiver.down = False
        await worker.deliver_due(timeout=60, waiting=True)
        await worker.close()

    run_apart(run())
    assert any(r.answered == 503 for r in receiver.requests), "the receiver was never tried"
    accepted = receiver.accepted
    ordered = [r.id for r in accepted if r.id in sent]
    assert ordered == sent  # each once, in the order they happened
    assert sorted(r.id for r in accepted if r.id in loose) == sorted(loose)
    verifier = Webhook(secret)
    bodies: dict[str, bytes] = {}
    for request in receiver.requests:
        payload = verifier.verify(request.body, request.headers)
        assert payload["type"] == "task.created"
        assert set(payload) == {"type", "timestamp", "data"}
        # a duplicate is the same event: same id, same body
        assert bodies.setdefault(request.id, request.body) == request.body
    # never an event before the one before it was accepted
    first_accepted = {
        r.id: i for i, r in reversed(list(enumerate(receiver.requests))) if r.answered == 204
    }
    for earlier, later in zip(sent, sent[1:], strict=False):
        tried_later = min(i for i, r in enumerate(receiver.requests) if r.id == later)
        assert tried_later > first_accepted[earlier]


def test_a_failure_waits_with_growing_backoff(engine: Engine, receiver: Receiver) -> None:
    subscribe(engine, receiver.url)
    emit_many(engine, 1, uuid.uuid4())
    receiver.down = True

    async def attempt(worker: Deliverer) -> None:
        await worker.step()
        await worker.drain()

    worker = deliverer(engine, backoff_base_seconds=5.0, backoff_most_seconds=3600.0)
    before = utcnow()
    run_apart(attempt(worker))
    with Session(engine) as session:
        delivery = session.exec(select(WebhookDelivery)).one()
        assert delivery.status == DeliveryStatus.pending
        assert delivery.attempts == 1
        assert delivery.last_status == 503
        assert delivery.last_error and "503" in delivery.last_error
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert 2.5 <= wait <= 6
    assert claim(engine, now=utcnow(), limit=10) == []  # not due before its time
    assert all(2.5 * 2**5 <= backoff(6) <= 5 * 2**5 for _ in range(50))
    assert all(1800 <= backoff(30) <= 3600 for _ in range(50))


def test_a_subscription_failing_for_24_hours_is_disabled_and_the_admins_told(
    engine: Engine, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(engine, receiver.url)
    emit_many(engine, 2, uuid.uuid4())
    receiver.down = True

    async def attempt() -> None:
        worker = deliverer(engine)
        await worker.step()
        await worker.drain()
        await worker.close()

    start = utcnow()
    with time_machine.travel(start, tick=True) as traveller:
        run_apart(attempt())
        traveller.shift(timedelta(hours=23))
        run_apart(attempt())
        with Session(engine) as session:
            assert session.get(WebhookSubscription, subscription_id).enabled  # type: ignore[union-attr]
        traveller.shift(timedelta(hours=1, minutes=1))
        run_apart(attempt())
    with Session(engine) as session:
        subscription = session.get(WebhookSubscription, subscription_id)
        assert subscription is not None and not subscription.enabled
        assert "24 hours" in (subscription.disabled_reason or "")
        statuses = sorted(d.status for d in session.exec(select(WebhookDelivery)))
        assert statuses == [DeliveryStatus.failed, DeliveryStatus.pending]
        told = session.exec(select(AuditEvent).where(AuditEvent.action == "webhook_disabled")).all()
        assert [event.target for event in told] == [f"webhook:{subscription_id}"]
    assert claim(engine, now=utcnow() + timedelta(days=2), limit=10) == []  # nothing more sent
    assert len(receiver.requests) == 3


def test_two_claimers_never_take_the_same_row(engine: Engine, receiver: Receiver) -> None:
    subscribe(engine, receiver.url)
    emit_many(engine, 10, uuid.uuid4())
    emit_many(engine, 10, None)
    now = utcnow()
    first = claim(engine, now=now, limit=50)
    second = claim(engine, now=now, limit=50)
    assert sum(len(b.rows) for b in first) == 20
    assert second == []
    # a claimer that died: its lease runs out and the rows are claimed again, same ids
    again = claim(engine, now=now + timedelta(minutes=5), limit=50)
    assert sorted(r.event_id for b in again for r in b.rows) == sorted(
        r.event_id for b in first for r in b.rows
    )


def test_nothing_is_written_when_nobody_listens(engine: Engine) -> None:
    with Session(engine) as session:
        assert service.emit(session, "task.created", {}, None, now=utcnow()) is None
    with pytest.raises(ValueError, match="unknown webhook event"), Session(engine) as session:
        service.emit(session, "task.invented", {}, None, now=utcnow())


def test_a_refused_address_at_send_time_is_a_failure_not_a_send(
    engine: Engine, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url)
    emit_many(engine, 1, uuid.uuid4())

    async def attempt() -> None:
        worker = Deliverer(engine, policy=targets.Policy(allow_http=True, allow_private=False))
        await worker.step()
        await worker.drain()
        await worker.close()

    run_apart(attempt())
    assert receiver.requests == []
    with Session(engine) as session:
        delivery = session.exec(select(WebhookDelivery)).one()
        assert delivery.last_error and "loopback" in delivery.last_error
        assert delivery.status == DeliveryStatus.pending


def test_a_slow_receiver_gets_the_rest_later_never_twice_and_in_order(
    engine: Engine, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url)
    sent = emit_many(engine, 8, uuid.uuid4())
    receiver.delay = 0.1

    async def run() -> tuple[int, int]:
        worker = deliverer(engine, lease=timedelta(seconds=0.5))
        await worker.step()
        await worker.drain()
        first_round = len(receiver.requests)
        with Session(engine) as session:
            waiting = [
                d.status
                for d in session.exec(select(WebhookDelivery))
                if d.status != DeliveryStatus.succeeded
            ]
        await worker.deliver_due(timeout=30, waiting=True)
        await worker.close()
        return first_round, len(waiting)

    first_round, waiting = run_apart(run())
    assert 1 <= first_round < 8  # handed back within half the lease
    assert waiting == 8 - first_round
    assert [r.id for r in receiver.requests] == sent  # each once, in order


def test_two_workers_at_once_send_each_event_once_in_order(
    engine: Engine, receiver: Receiver
) -> None:
    subscribe(engine, receiver.url)
    chains = [uuid.uuid4() for _ in range(3)]
    sent: dict[uuid.UUID, list[str]] = {chain: [] for chain in chains}
    with Session(engine) as session:
        for n in range(45):
            chain = chains[n % 3]
            event = service.emit(session, "task.created", {"n": n}, chain, now=utcnow())
            assert event is not None
            sent[chain].append(event.id)
        session.commit()

    async def run() -> None:
        stop = asyncio.Event()
        workers = [deliverer(engine, concurrency=2) for _ in range(2)]
        running = [asyncio.create_task(w.run(stop, idle_seconds=0.02)) for w in workers]
        deadline = asyncio.get_running_loop().time() + 30
        while len(receiver.accepted) < 45 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*running)

    run_apart(run())
    ids = [r.id for r in receiver.requests]
    assert sorted(ids) == sorted(i for chain in sent.values() for i in chain)  # each once
    for chain, expected in sent.items():
        assert [i for i in ids if i in set(expected)] == expected, chain


def test_each_chain_sends_on_a_client_of_its_own_and_clients_are_kept_for_the_next(
    engine: Engine, receiver: Receiver
) -> None:
    """Threads sharing one client queued on its pool's lock; one client a chain, at most one
    per chain in flight, each kept alive for the next chain rather than made again."""
    subscribe(engine, receiver.url)
    chains = [uuid.uuid4() for _ in range(3)]
    sent: dict[uuid.UUID, list[str]] = {chain: [] for chain in chains}
    for _ in range(2):
        for chain in chains:
            sent[chain] += emit_many(engine, 5, chain)

    async def run() -> tuple[int, int]:
        worker = deliverer(engine, concurrency=3)
        await worker.deliver_due(timeout=30, waiting=True)
        made = len(worker._clients)
        for chain in chains:  # a second round on the same worker
            sent[chain] += emit_many(engine, 5, chain)
        await worker.deliver_due(timeout=30, waiting=True)
        made_after = len(worker._clients)
        await worker.close()
        return made, made_after

    made, made_after = run_apart(run())
    assert 1 <= made <= 3
    assert made_after == made  # kept, not made again
    by_id = {r.id: r for r in receiver.requests}
    assert len(by_id) == len(receiver.requests) == 45  # each once
    # a chain's rows go one after another on one connection: a claim takes all ten of a
    # chain in the first round, so each first round is on one port
    for chain in chains:
        assert len({by_id[i].peer for i in sent[chain][:10]}) == 1, chain
    assert len({r.peer for r in receiver.requests}) <= 3  # no more connections than clients


@pytest.mark.sqlite_only
def test_sqlite_takes_the_heads_of_the_chains_by_primary_key(engine: Engine) -> None:
    """`id IN (heads)` beside the claimable test's `status` terms had SQLite walk every
    waiting row through the queue index: that statement took 84 ms with 20,000 waiting, 12 ms
    joined."""
    subscribe(engine, "http://127.0.0.1:9/hooks")
    for _ in range(3):
        emit_many(engine, 4, uuid.uuid4())
    with sqlite_plans.caught(engine, "SELECT webhook_delivery.id") as seen:
        batches = claim(engine, now=utcnow(), limit=10)
    assert sorted(len(b.rows) for b in batches) == [4, 4, 4]
    heads = [(s, p) for s, p in seen if "min(webhook_delivery.id)" in s]
    assert len(heads) == 1
    steps = sqlite_plans.plan(engine, *heads[0])
    assert "SEARCH webhook_delivery USING INTEGER PRIMARY KEY (rowid=?)" in steps, steps
    assert not any(s.startswith("SEARCH webhook_delivery USING INDEX") for s in steps), steps
