"""Announce latency, end to end through the HTTP API of a real `inspection-week serve` process.

For each backend the bench migrates a fresh database, creates an API key with the CLI, starts the
server on a free loopback port and drives it with one keep-alive httpx client. After the warm-up,
it alternates a bare `GET /healthz` (the floor of the HTTP stack: routing, JSON, loopback) with a
drill announce (`POST /api/v1/inspections`, a fresh Idempotency-Key each time, as the intranet
sends), so both are timed under the same conditions and the difference is what announce costs.

    .venv/bin/python bench/announce.py [--count 200] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402

TARGET_P50_MS = 50.0
PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STARTUP_TIMEOUT_S = 30.0


def console_script() -> str:
    """The `inspection-week` beside this interpreter (a virtualenv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "inspection-week"
    if beside.is_file():
        return str(beside)
    found = shutil.which("inspection-week")
    if found is None:
        sys.exit("bench: no `inspection-week` command; run `pip install -e .` first")
    return found


@dataclass(frozen=True)
class Stats:
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, samples_ms: list[float]) -> Stats:
        cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
        return cls(
            p50=cuts[49],
            p95=cuts[94],
            p99=cuts[98],
            max=max(samples_ms),
            mean=statistics.fmean(samples_ms),
        )


@dataclass(frozen=True)
class Result:
    backend: str
    healthz: Stats
    announce: Stats


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [console_script(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"inspection-week {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@contextmanager
def running_server(env: dict[str, str], cwd: Path, port: int, log: Path) -> Iterator[str]:
    base_url = f"http://127.0.0.1:{port}"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [console_script(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def announce_body(index: int) -> dict[str, object]:
    return {
        "framework": "sif-2013",
        "notified_at": datetime.now(UTC).isoformat(),
        "lead_inspector": "Harriet Oyelaran",
        "drill": True,
        "notes": f"Rehearsal {index}",
    }


def measure(base_url: str, api_key: str, *, count: int, warmup: int) -> tuple[Stats, Stats]:
    headers = {"Authorization": f"Bearer {api_key}"}
    healthz_ms: list[float] = []
    announce_ms: list[float] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:

        def healthz() -> float:
            start = time.perf_counter_ns()
            response = client.get("/healthz")
            elapsed = (time.perf_counter_ns() - start) / 1e6
            if response.status_code != 200:
                raise RuntimeError(f"GET /healthz answered {response.status_code}")
            return elapsed

        def announce(index: int) -> float:
            body = announce_body(index)
            key = {"Idempotency-Key": str(uuid.uuid4())}
            start = time.perf_counter_ns()
            response = client.post("/api/v1/inspections", json=body, headers=key)
            elapsed = (time.perf_counter_ns() - start) / 1e6
            if response.status_code != 201 or response.json().get("drill") is not True:
                raise RuntimeError(
                    f"announce answered {response.status_code}: {response.text[:500]}"
                )
            return elapsed

        for index in range(warmup):
            healthz()
            announce(-index - 1)
        for index in range(count):
            healthz_ms.append(healthz())
            announce_ms.append(announce(index))
    return Stats.of(healthz_ms), Stats.of(announce_ms)


def bench_backend(
    backend: str, database_url: str, workdir: Path, *, count: int, warmup: int
) -> Result:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }
    # Run in the scratch folder, so that no developer's .env file changes the settings.
    cli(env, workdir, "migrate")
    api_key = (
        cli(env, workdir, "api-keys", "create", "--name", "bench", "--scope", "inspections:write")
        .strip()
        .splitlines()[-1]
    )
    with running_server(env, workdir, free_port(), workdir / f"serve-{backend}.log") as base_url:
        healthz, announce = measure(base_url, api_key, count=count, warmup=warmup)
    return Result(backend=backend, healthz=healthz, announce=announce)


def postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own, dropped afterwards even when the bench fails."""
    name = f"iw_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def print_table(results: list[Result]) -> None:
    header = (
        f"{'backend':<11} {'request':<30} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'mean':>8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        for label, stats in (
            ("GET /healthz (baseline)", result.healthz),
            ("POST /api/v1/inspections", result.announce),
        ):
            print(
                f"{result.backend:<11} {label:<30} {stats.p50:>8.2f} {stats.p95:>8.2f} "
                f"{stats.p99:>8.2f} {stats.max:>8.2f} {stats.mean:>8.2f}"
            )
        extra = result.announce.p50 - result.healthz.p50
        print(f"{result.backend:<11} {'announce over baseline (p50)':<30} {extra:>8.2f}")
    print("(milliseconds)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="timed announces (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed first requests (20)")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="default both"
    )
    args = parser.parse_args(argv)
    if args.count < 2:
        parser.error("--count must be at least 2")

    print(
        f"announce latency: {args.count} drill announces after {args.warmup} warm-up requests, "
        "one keep-alive httpx client over loopback, scheduler on"
    )
    print(
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="iw-bench-") as tmp:
        workdir = Path(tmp)
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{workdir / 'bench.db'}"
            results.append(
                bench_backend("sqlite", url, workdir, count=args.count, warmup=args.warmup)
            )
        if args.backend in ("postgresql", "both"):
            problem = postgres_problem()
            if problem is not None:
                print(f"postgresql: skipped, no server answers at {PG_ADMIN_URL} ({problem})")
            else:
                with postgres_database() as url:
                    results.append(
                        bench_backend(
                            "postgresql", url, workdir, count=args.count, warmup=args.warmup
                        )
                    )
    print()
    print_table(results)
    for result in results:
        record(
            "announce",
            result.backend,
            "announce p50",
            result.announce.p50,
            "ms",
            target=TARGET_P50_MS if result.backend == "sqlite" else None,
            baseline=result.healthz.p50,
            higher_is_better=False,
        )
        if result.backend == "sqlite":
            verdict = "PASS" if result.announce.p50 < TARGET_P50_MS else "MISS"
            print(
                f"{verdict}: SQLite announce p50 {result.announce.p50:.2f} ms "
                f"(target under {TARGET_P50_MS:.0f} ms)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
