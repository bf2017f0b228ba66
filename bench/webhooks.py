"""Webhook delivery throughput: 10,000 events delivered by the service's worker to a receiver on
loopback, against a plain httpx loop posting the same bodies to the same receiver.

The receiver is a small HTTP/1.1 keep-alive server in a process of its own (it answers 204 and
counts). The bench migrates a fresh SQLite database, subscribes the receiver to every event,
emits `--events` events spread over `--inspections` inspections (each inspection's events are
delivered strictly in order, so inspections are the parallelism), then runs the `Deliverer` as
the app runs it (claim, sign, POST, record) until every delivery is recorded as succeeded. The
baseline posts the same bodies with httpx as the worker does (as many threads as the worker has
chains in flight, each with a blocking client of its own, as each chain has), and records
nothing.

Prints deliveries per second of each, the worker's share of the baseline, the peak memory of
the bench process while delivering, and PASS or MISS against 500 deliveries a second.

    .venv/bin/python bench/webhooks.py [--events 10000] [--inspections 20]
        [--concurrency 20] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import record  # noqa: E402
from bench.cascade import database, postgres_answers  # noqa: E402
from service.db import make_engine, utcnow  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.webhooks import service as webhooks  # noqa: E402
from service.webhooks import targets  # noqa: E402
from service.webhooks.clients import CLIENT_CONNECTIONS, NO_DELAY  # noqa: E402
from service.webhooks.delivery import Deliverer  # noqa: E402
from service.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent  # noqa: E402

TARGET_PER_SECOND = 500
RECEIVER = r"""
import asyncio, sys

count = 0

async def serve(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            count += 1
            if head.startswith(b"GET /count"):
                body = str(count - 1).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_reset() -> None:
    """Start the peak (VmHWM) over from here, where Linux allows it."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(engine: sa.Engine, url: str, events: int, inspections: int) -> list[str]:
    chains = [uuid.uuid4() for _ in range(inspections)]
    with sa.orm.Session(engine) as session:
        webhooks.create(
            session,
            url=url,
            events=list(webhooks.EVENT_TYPES),
            description="bench",
            actor="bench",
            now=utcnow(),
        )
        session.commit()
    from sqlmodel import Session

    with Session(engine) as session:
        for n in range(events):
            webhooks.emit(
                session,
                "task.created",
                {"n": n, "title": f"Task {n}", "status": "to_do", "owner_name": "Priya Natarajan"},
                chains[n % inspections],
                now=utcnow(),
            )
            if n % 1000 == 999:
                session.commit()
        session.commit()
        bodies = [body for (body,) in session.execute(sa.select(WebhookEvent.body)).all()]
    return bodies


async def deliver(engine: sa.Engine, concurrency: int) -> float:
    worker = Deliverer(
        engine, policy=targets.Policy(allow_http=True, allow_private=True), concurrency=concurrency
    )
    started = time.perf_counter()
    await worker.deliver_due(timeout=600, waiting=True)
    took = time.perf_counter() - started
    await worker.close()
    return took


def baseline(url: str, bodies: list[str], concurrency: int) -> float:
    """The same bodies posted with httpx as the worker posts them (`concurrency` threads, each
    with a blocking client of its own, TCP_NODELAY), with no database, no signing and nothing
    recorded."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def post(body: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            transport = httpx.HTTPTransport(
                limits=httpx.Limits(max_connections=CLIENT_CONNECTIONS), socket_options=NO_DELAY
            )
            client = local.client = httpx.Client(timeout=10, transport=transport)
            clients.append(client)
        response = client.post(
            url, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 204

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            list(pool.map(post, bodies))
            return time.perf_counter() - started
    finally:
        for client in clients:
            client.close()


def run(backend: str, events: int, inspections: int, concurrency: int) -> bool:
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/hooks"
        with tempfile.TemporaryDirectory() as folder, database(backend, Path(folder)) as db_url:
            engine = make_engine(db_url)
            upgrade(engine)
            started = time.perf_counter()
            bodies = emit(engine, url, events, inspections)
            emitting = time.perf_counter() - started
            in_flight = min(concurrency, inspections)
            base_seconds = baseline(url, bodies, in_flight)
            peak_rss_reset()
            seconds = asyncio.run(deliver(engine, concurrency))
            peak = peak_rss_mb()
            with sa.orm.Session(engine) as session:
                succeeded = session.execute(
                    sa.select(sa.func.count()).where(
                        WebhookDelivery.status == DeliveryStatus.succeeded
                    )
                ).scalar_one()
            engine.dispose()
        counted = int(httpx.get(f"http://127.0.0.1:{port}/count").text)
    finally:
        receiver.terminate()
        receiver.wait()
    rate, base_rate = succeeded / seconds, events / base_seconds
    print(
        f"backend {backend}: {events} events over {inspections} inspections, "
        f"{concurrency} in flight at most (emitted in {emitting:.1f} s)"
    )
    print(f"{'':28}{'seconds':>10}{'per second':>14}")
    print(f"{'worker (claim+sign+record)':28}{seconds:10.2f}{rate:14.0f}")
    print(f"{'baseline (plain httpx)':28}{base_seconds:10.2f}{base_rate:14.0f}")
    print(
        f"worker / baseline: {rate / base_rate:.0%}; peak memory while delivering "
        f"{peak:.0f} MB; receiver counted {counted} requests, {succeeded} recorded succeeded"
    )
    ok = succeeded == events and rate >= TARGET_PER_SECOND
    record(
        "webhooks",
        backend,
        "deliveries a second",
        rate,
        "/s",
        target=TARGET_PER_SECOND,
        baseline=base_rate,
        why="" if succeeded == events else f"only {succeeded} of {events} delivered",
    )
    if succeeded != events:
        record(
            "webhooks",
            backend,
            "deliveries lost",
            events - succeeded,
            "",
            target=0,
            higher_is_better=False,
        )
    record("webhooks", backend, "peak memory while delivering", peak, "MB", higher_is_better=False)
    print(
        f"{'PASS' if ok else 'MISS'}: every event delivered and at least "
        f"{TARGET_PER_SECOND} deliveries a second"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--inspections", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=20, help="WEBHOOK_CONCURRENCY")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.backend == "postgresql" and not postgres_answers():
        print("PostgreSQL does not answer: skipped")
        return 0
    return 0 if run(args.backend, args.events, args.inspections, args.concurrency) else 1


if __name__ == "__main__":
    sys.exit(main())
