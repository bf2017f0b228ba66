"""The scheduler at scale: 100,000 pending due rows, then 10,000 falling due in one minute.

For each backend the bench migrates a fresh database and writes `--pending` due rows (deadline
reminders, due over the next 30 days, so none fires during the run) straight into the due table.
It then times:

- the start-up of a real `inspection-week serve` (from launch to `/healthz` answering and the
  scheduler's first tick reported by `/readyz`) with the rows present, and its peak memory
  (VmHWM) after a few ticks; the baseline is the same start on an empty database, same run;
- the lateness of firing: the real `Scheduler` (APScheduler tick, leader lock, `run_due`) at its
  deployed tick interval (5 s) runs in this process over the same table, while `--burst` rows of
  a bench kind fall due at random instants within `--window` seconds (one minute). Lateness is
  the wall time at which each job's handler ran minus its due time. The baseline is the same
  with 1% of the rows in a window before it (the floor the tick alone sets). It also checks that
  every row fired exactly once.

Target: lateness p99 under 2 s on each backend.

    .venv/bin/python bench/scheduler.py [--pending 100000] [--burst 10000] [--window 60]
    .venv/bin/python bench/scheduler.py --quick        # 20,000 pending, 2,000 in 12 s
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402

from service.db import make_engine, utcnow  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.scheduler import due  # noqa: E402
from service.scheduler.core import Scheduler  # noqa: E402
from service.scheduler.due import DueJob, DueStatus  # noqa: E402
from tests.processes import Server, fresh_postgres_database, server_env  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_P99_S = 2.0
TICK_SECONDS = 5.0
"""The deployed default (SCHEDULER_TICK_SECONDS)."""
BENCH_KIND = "bench_fire"


def insert_pending(
    engine: sa.Engine, count: int, *, prefix: str, kind: str, start: datetime, spread_s: float
) -> list[datetime]:
    """Write `count` pending rows due at random instants in [start, start + spread_s)."""
    now = utcnow()
    times = sorted(start + timedelta(seconds=random.uniform(0, spread_s)) for _ in range(count))
    from sqlmodel import Session

    for first in range(0, count, 10_000):
        rows = [
            due.new_row(
                kind=kind, dedupe_key=f"{prefix}:{i}", due_at=times[i], now=now, payload={"i": i}
            )
            for i in range(first, min(count, first + 10_000))
        ]
        with Session(engine) as session:
            due.add(session, rows)
            session.commit()
    return times


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_serve(database_url: str, workdir: Path, name: str) -> tuple[float, float]:
    """Seconds from launch until /healthz answers and the first tick is reported; peak MB."""
    env = server_env(database_url, scheduler_tick_seconds=TICK_SECONDS, dispatcher_enabled="false")
    server = Server(env, workdir, name=name)
    try:
        started = time.monotonic()
        server.launch().wait_until_up()
        while server.last_tick_at() is None:
            time.sleep(0.02)
        took = time.monotonic() - started
        time.sleep(2 * TICK_SECONDS)  # a few ticks over the table
        peak = vm_hwm_mb(server.pid)
        server.stop()
        return took, peak
    finally:
        server.close()


def fire_burst(engine: sa.Engine, count: int, window: float, prefix: str) -> list[float]:
    """Lateness in seconds of each of `count` rows due within `window` seconds from now + 3 s."""
    fired: dict[int, float] = {}
    calls: Counter[int] = Counter()
    guard = threading.Lock()

    def fire(_session: object, job: DueJob, _now: datetime) -> str:
        at = time.time()
        with guard:
            calls[job.payload["i"]] += 1
            fired.setdefault(job.payload["i"], at - job.due_at.timestamp())
        return "fired"

    start = utcnow() + timedelta(seconds=3)
    insert_pending(engine, count, prefix=prefix, kind=BENCH_KIND, start=start, spread_s=window)
    scheduler = Scheduler(engine, handlers={BENCH_KIND: fire}, tick_seconds=TICK_SECONDS)
    scheduler.start()
    try:
        deadline = time.monotonic() + 3 + window + 120
        while len(fired) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(TICK_SECONDS + 0.5)  # one more tick: would anything fire twice?
    finally:
        scheduler.shutdown()
    twice = sum(1 for n in calls.values() if n > 1)
    with engine.connect() as connection:
        left = connection.execute(
            sa.select(sa.func.count())
            .select_from(DueJob)
            .where(
                DueJob.kind == BENCH_KIND,
                DueJob.dedupe_key.like(f"{prefix}:%"),
                DueJob.status != DueStatus.done,
            )
        ).scalar_one()
    if twice or left or len(fired) != count:
        raise SystemExit(
            f"scheduler bench: {len(fired)} of {count} fired, {twice} twice, {left} not done"
        )
    return list(fired.values())


def p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def bench_backend(backend: str, url: str, workdir: Path, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start_serve(url, workdir, f"first-{backend}")  # untimed: the first start sets things up
    empty_s, empty_mb = start_serve(url, workdir, f"empty-{backend}")
    began = time.monotonic()
    insert_pending(
        engine,
        args.pending,
        prefix="future",
        kind="deadline_reminder",
        start=utcnow() + timedelta(days=1),
        spread_s=30 * 86400,
    )
    print(f"{backend}: wrote {args.pending:,} pending rows in {time.monotonic() - began:.1f} s")
    full_s, full_mb = start_serve(url, workdir, f"full-{backend}")
    floor = fire_burst(engine, max(2, args.burst // 100), args.window, "floor")
    late = fire_burst(engine, args.burst, args.window, "burst")
    engine.dispose()

    print(
        f"{backend}: serve start-up {full_s:.2f} s with {args.pending:,} rows, "
        f"{empty_s:.2f} s empty; peak RSS {full_mb:.0f} MB, {empty_mb:.0f} MB empty"
    )
    print(
        f"{backend}: lateness of {args.burst:,} due within {args.window:g} s: "
        f"p50 {p(late, 50):.3f} s, p99 {p(late, 99):.3f} s, max {max(late):.3f} s; "
        f"{len(floor)} alone: p99 {p(floor, 99):.3f} s"
    )
    rows = f"{args.pending // 1000}k pending"
    record(
        "scheduler",
        backend,
        f"serve start-up, {rows}",
        full_s,
        "s",
        baseline=empty_s,
        higher_is_better=False,
    )
    record(
        "scheduler",
        backend,
        f"serve peak RSS, {rows}",
        full_mb,
        "MB",
        baseline=empty_mb,
        higher_is_better=False,
    )
    p99 = p(late, 99)
    record(
        "scheduler",
        backend,
        f"lateness p99, {args.burst:,} in {args.window:g} s",
        p99,
        "s",
        target=TARGET_P99_S,
        baseline=p(floor, 99),
        higher_is_better=False,
        why=f"p50 {p(late, 50):.3f} s, max {max(late):.3f} s",
    )


def postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000, help="rows waiting (100,000)")
    parser.add_argument("--burst", type=int, default=10_000, help="rows due in the window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--quick", action="store_true", help="20,000 pending, 2,000 in 12 s")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="default both"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.pending, args.burst, args.window = 20_000, 2_000, 12.0
    with tempfile.TemporaryDirectory(prefix="iw-bench-") as tmp:
        workdir = Path(tmp)
        if args.backend in ("sqlite", "both"):
            bench_backend("sqlite", f"sqlite:///{workdir / 'bench.db'}", workdir, args)
        if args.backend in ("postgresql", "both"):
            problem = postgres_problem()
            if problem is not None:
                print(f"postgresql: skipped, no server answers at {PG_ADMIN_URL} ({problem})")
            else:
                with fresh_postgres_database(PG_ADMIN_URL) as url:
                    bench_backend("postgresql", url, workdir, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
