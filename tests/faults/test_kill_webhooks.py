"""A `serve` process SIGKILLed in the middle of delivering webhooks, then started again: a real
receiver on loopback counts what it was sent, by `webhook-id`.

What webhooks promise (docs/webhooks.md) is at least once, in order per inspection: the worker
claims a chain of one inspection's deliveries, sends them one after another and records the
chain's outcomes when it ends. So the kill leaves `sending` exactly the rows claimed and not yet
recorded, and this is what is asserted: every event reaches the receiver; the only events it
receives twice are among those rows (one of them the request in flight at the kill, which the
receiver took while the sender died), and none more than twice; each inspection's events first
arrive in the order they happened; afterwards nothing waits."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.db import make_engine
from service.migrate import upgrade
from service.webhooks.models import WebhookDelivery
from tests.faults.cascade import announce
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    server_env,
    servers,
)
from tests.webhooks.receiver import Receiver, receiving

INSPECTIONS = 3
CONCURRENCY = 2
"""Chains in flight at once: fewer than the inspections, so some wait their turn at the kill."""
LEASE_SECONDS = 2

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class KillAt:
    """SIGKILL the sender from inside the receiver as it takes the `at`-th request, before it
    answers: the receiver has the event, the sender never hears so."""

    def __init__(self, receiver: Receiver, at: int):
        self.receiver, self.at = receiver, at
        self.pid: int | None = None
        self.fired = threading.Event()
        self.in_flight: str | None = None
        answer = receiver.answer

        def answer_then_die(headers: dict[str, str], body: bytes, peer: int = 0) -> int:
            status = answer(headers, body, peer)
            armed = self.pid is not None and not self.fired.is_set()
            if armed and len(receiver.requests) >= self.at:
                os.kill(self.pid, signal.SIGKILL)  # type: ignore[arg-type]
                self.in_flight = headers["webhook-id"]
                self.fired.set()
            return status

        receiver.answer = answer_then_die  # type: ignore[method-assign]


def _deliveries(engine: sa.Engine) -> list[tuple[int, str, str, str]]:
    """(id, event id, inspection id, status) of every delivery, in the order events happened."""
    d = WebhookDelivery
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(d.id, d.event_id, d.inspection_id, d.status).order_by(d.id)
        ).all()
    return [(row.id, row.event_id, str(row.inspection_id), row.status) for row in rows]


def _run(database_url: str, workdir: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with receiving() as receiver, servers() as started:
        kill = KillAt(receiver, at=0)
        env = server_env(
            database_url,
            webhook_allow_http="true",
            webhook_allow_private="true",
            webhook_concurrency=CONCURRENCY,
            webhook_lease_seconds=LEASE_SECONDS,
        )
        key = create_api_key(env, workdir, "admin", "inspections:write")
        headers = {"Authorization": f"Bearer {key}"}

        # The events are written with no worker running, so the kill finds them all waiting.
        setup = Server({**env, "WEBHOOKS_ENABLED": "false"}, workdir, "setup")
        started.append(setup.start())
        subscribed = setup.http.post(
            "/api/v1/webhooks",
            headers=headers,
            json={"url": receiver.url, "events": ["inspection.announced", "task.created"]},
        )
        assert subscribed.status_code == 201, subscribed.text
        for n in range(INSPECTIONS):
            announce(setup, key, f"webhooks-{n}")
        setup.stop(signal.SIGTERM)
        events = _deliveries(engine)
        assert len(events) > 20 * INSPECTIONS and {row[3] for row in events} == {"pending"}

        kill.at = len(events) // 3
        first = Server(env, workdir, "first")
        started.append(first.start())
        kill.pid = first.pid
        assert kill.fired.wait(60), "the kill never came"
        assert first.process is not None and first.process.wait(10) == -signal.SIGKILL
        left_sending = {row[1] for row in _deliveries(engine) if row[3] == "sending"}
        assert kill.in_flight in left_sending
        taken_before = Counter(r.id for r in receiver.accepted)
        assert taken_before and len(taken_before) < len(events)

        second = Server(env, workdir, "second")
        started.append(second.start())
        poll(
            lambda: {row[3] for row in _deliveries(engine)} == {"succeeded"},
            timeout=60,
            what="every delivery recorded as succeeded after the restart",
            interval=0.2,
        )
        second.stop(signal.SIGTERM)
    engine.dispose()

    received = Counter(r.id for r in receiver.accepted)
    assert set(received) == {row[1] for row in events}, "an event never arrived"
    twice = {event for event, count in received.items() if count > 1}
    assert kill.in_flight in twice
    assert twice <= left_sending, twice - left_sending
    assert set(received.values()) <= {1, 2}
    for inspection in {row[2] for row in events}:
        happened = [row[1] for row in events if row[2] == inspection]
        arrived = list(dict.fromkeys(r.id for r in receiver.accepted if r.id in set(happened)))
        assert arrived == happened, f"inspection {inspection}: events out of order"
    print(
        f"\nkilled at request {kill.at} of {len(events)} events; {len(left_sending)} left "
        f"sending; {len(twice)} received twice"
    )


def test_sigkill_mid_webhook_delivery_on_sqlite_loses_nothing(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'webhooks.db'}", tmp_path)


def test_sigkill_mid_webhook_delivery_on_postgresql_loses_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run(url, tmp_path)
