"""The API under concurrent load: 1, 10 and 100 clients at once on a real `serve`.

For each backend the bench migrates a fresh database, loads a communication tree of `--people`
people, announces a drill through the service (so the cascade has a row per person), starts a
real `inspection-week serve` (scheduler on, dispatcher off so that nothing leaves the machine,
API_RATE_LIMIT_PER_MINUTE=0 so the API key's limit does not answer 429) and, for each number of
concurrent clients, sends `--requests` requests (at least 5 a client) to each of:

- `GET /healthz`: the baseline, the HTTP stack alone under the same concurrency;
- `GET /api/v1/inspections/{id}`: the inspection as JSON, what the intranet's dashboard reads;
- `GET /api/v1/inspections/{id}/cascade`: the cascade's progress;
- `POST /ack/{token}`: an acknowledgement through the link in a message, a different person each
  time (a write, with the cascade's bookkeeping).

Each client is an httpx.AsyncClient connection of its own in one asyncio loop in this process (on
a small machine the load generator shares the CPU with the server: compare with the /healthz row,
measured the same way). It prints throughput, p50 and p99 per route and concurrency, and counts
errors (transport errors and any status but the expected one). Target: no errors.

    .venv/bin/python bench/api_load.py [--people 4000] [--requests 1000] [--backend both]
    .venv/bin/python bench/api_load.py --quick      # 1,000 people, 200 requests
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from cascade import PG_ADMIN_URL, database, postgres_answers  # noqa: E402

from service import signed_links  # noqa: E402
from service.cascade.models import CascadeNode  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.inspections import flows as inspection_flows  # noqa: E402
from service.inspections.schemas import AnnounceRequest  # noqa: E402
from service.main import build_rules  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from tests.processes import Server, create_api_key, server_env  # noqa: E402
from tests.trees import insert_tree, tree_rows  # noqa: E402

CONCURRENCY = (1, 10, 100)
NAMES = {
    "GET /api/v1/inspections/{id}": "inspection JSON",
    "GET /api/v1/inspections/{id}/cascade": "cascade progress",
}
TIMEOUT_S = 35.0
"""Over the server's pool timeout (30 s): a request that waited out the pool answers 500."""
MAX_ERRORS = 20
"""A run stops sending after this many errors (those in flight still count)."""


@dataclass(frozen=True)
class Run:
    route: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def seed(url: str, people: int) -> tuple[uuid.UUID, list[str]]:
    """The tree and a drill announced through the service; an ack token for every person."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC) - timedelta(minutes=5)
    insert_tree(engine, tree_rows(people, now=now, window=15))
    rules = build_rules(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    with Session(engine, expire_on_commit=False) as session:
        inspection = inspection_flows.announce(
            session,
            rules=rules,
            request=AnnounceRequest(
                framework="sif-2013", notified_at=now, lead_inspector="Harriet Oyelaran", drill=True
            ),
            actor="bench",
            now=now,
        )
        session.commit()
        signer = signed_links.ack_signer(session, now=datetime.now(UTC))
        session.commit()
        codes = session.execute(
            sa.select(CascadeNode.ack_code)  # type: ignore[call-overload]
            .where(CascadeNode.inspection_id == inspection.id)
            .order_by(CascadeNode.contact_id)
        ).scalars()
        tokens = [signer.token_for(code) for code in codes]
    engine.dispose()
    return inspection.id, tokens


async def load(
    base_url: str,
    headers: dict[str, str],
    clients: int,
    total: int,
    send: Callable[[httpx.AsyncClient, int], object],
    expect: int,
) -> tuple[float, list[float], int]:
    """`total` requests shared by `clients` connections at once: seconds, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def client() -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=TIMEOUT_S, limits=limits
        ) as http:
            for index in counter:
                if errors >= MAX_ERRORS:
                    return  # a stalled server: say so, rather than wait out every request
                started = time.perf_counter()
                try:
                    reply = await send(http, index)  # type: ignore[misc]
                    if reply.status_code != expect:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - began, latencies, errors


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def one_backend(backend: str, args: argparse.Namespace) -> list[Run]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-api-load-") as folder:
        workdir = Path(folder)
        with database(backend, workdir) as url:
            print(f"\n{backend}: seeding {args.people:,} people...", flush=True)
            inspection_id, tokens = seed(url, args.people)
            env = server_env(
                url,
                log_level="WARNING",
                dispatcher_enabled="false",
                api_rate_limit_per_minute=0,
                scheduler_tick_seconds=5,
            )
            key = create_api_key(env, workdir, "inspections:read", name="bench")
            server = Server(env, workdir, "api-load").start()
            # A different person each time, round again (acknowledged already) if they run out.
            unused = itertools.cycle(tokens)

            def ack(http: httpx.AsyncClient, _: int) -> object:
                return http.post(f"/ack/{next(unused)}")

            routes: list[tuple[str, Callable[[httpx.AsyncClient, int], object], int]] = [
                ("GET /healthz", lambda http, _: http.get("/healthz"), 200),
                (
                    "GET /api/v1/inspections/{id}",
                    lambda http, _: http.get(f"/api/v1/inspections/{inspection_id}"),
                    200,
                ),
                (
                    "GET /api/v1/inspections/{id}/cascade",
                    lambda http, _: http.get(f"/api/v1/inspections/{inspection_id}/cascade"),
                    200,
                ),
                ("POST /ack/{token}", ack, 200),
            ]
            headers = {"Authorization": f"Bearer {key}"}
            try:
                for clients in args.clients:
                    total = max(args.requests, 5 * clients)
                    for route, send, expect in routes:
                        # warm-up: one request a client, untimed
                        asyncio.run(load(server.url, headers, clients, clients, send, expect))
                        seconds, latencies, errors = asyncio.run(
                            load(server.url, headers, clients, total, send, expect)
                        )
                        run = Run(
                            route,
                            clients,
                            len(latencies),
                            seconds,
                            percentile(latencies, 50),
                            percentile(latencies, 99),
                            errors,
                        )
                        runs.append(run)
                        print(
                            f"  {clients:>3} clients {route:<38} {run.per_second:>8.0f}/s "
                            f"p50 {run.p50_ms:>7.1f} ms p99 {run.p99_ms:>7.1f} ms "
                            f"errors {errors}",
                            flush=True,
                        )
            except BaseException:
                print(server.log()[-4000:], file=sys.stderr)
                raise
            finally:
                try:
                    server.stop()
                except AssertionError:  # a server still stalled: it is killed, the figures stand
                    print(f"{backend}: the server did not stop on SIGTERM; killed", flush=True)
                server.close()
    return runs


def report(backend: str, runs: list[Run]) -> None:
    print(f"\n{backend}: requests a second, p50 and p99 in ms, errors")
    print(f"{'route':<40}{'clients':>8}{'req/s':>9}{'p50':>9}{'p99':>9}{'errors':>8}")
    for run in runs:
        print(
            f"{run.route:<40}{run.clients:>8}{run.per_second:>9.0f}{run.p50_ms:>9.1f}"
            f"{run.p99_ms:>9.1f}{run.errors:>8}"
        )
    floor = {run.clients: run for run in runs if run.route == "GET /healthz"}
    for run in runs:
        if run.route == "GET /healthz":
            continue
        base = floor[run.clients]
        name = NAMES.get(run.route, run.route)
        record(
            "api_load",
            backend,
            f"{name}, {run.clients} clients, req/s",
            run.per_second,
            "/s",
            baseline=base.per_second,
        )
        record(
            "api_load",
            backend,
            f"{name}, {run.clients} clients, p99",
            run.p99_ms,
            "ms",
            baseline=base.p99_ms,
            higher_is_better=False,
        )
    errors = sum(run.errors for run in runs)
    failing = sorted({f"{run.route} at {run.clients}" for run in runs if run.errors})
    record(
        "api_load",
        backend,
        "errors, every route and concurrency",
        errors,
        "",
        target=0,
        higher_is_better=False,
        why=", ".join(failing),
    )
    print(f"{'PASS' if errors == 0 else 'MISS'}: no errors on {backend} ({errors} counted)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=4_000)
    parser.add_argument("--requests", type=int, default=1_000, help="a route and concurrency")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=list(CONCURRENCY),
        help="concurrent clients, comma-separated (1,10,100)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 people, 200 requests")
    args = parser.parse_args()
    if args.quick:
        args.people, args.requests = 1_000, 200
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_answers():
            print(f"\npostgresql: skipped, no server answers at {PG_ADMIN_URL}")
            continue
        report(backend, one_backend(backend, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
