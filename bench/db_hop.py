"""A loopback hop in front of PostgreSQL that holds everything it forwards for a set time each
way: the round trips of a database on another machine, for the benches that count them
(`releases.py`, `cascade.py`), on a machine whose database answers in well under a tenth of a
millisecond. The relay is the fault tests' (`tests/faults/pg_link.py`), with a hold.

    .venv/bin/python bench/db_hop.py --one-way-ms 0.25 [--port 15432] [--target 127.0.0.1:5432] &
    BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:15432/test \\
        .venv/bin/python bench/releases.py --backend postgresql

Once it listens it prints the round trip through it (`SELECT 1`, 200 times)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.pg_link import Link  # noqa: E402


def round_trip_ms(port: int) -> float:
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=test") as db:
        cursor = db.cursor()
        cursor.execute("SELECT 1")
        started = time.perf_counter()
        for _ in range(200):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return (time.perf_counter() - started) / 200 * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one-way-ms", type=float, default=0.25)
    parser.add_argument("--port", type=int, default=15432)
    parser.add_argument("--target", default="127.0.0.1:5432")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    link = Link((host, int(port)), hold=args.one_way_ms / 1000, port=args.port)
    print(
        f"db_hop: 127.0.0.1:{link.port} -> {args.target}, holding {args.one_way_ms:g} ms each way;"
        f" a round trip through it: {round_trip_ms(link.port):.2f} ms",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    link.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
