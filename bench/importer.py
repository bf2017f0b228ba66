"""The contacts import of 10,000 rows: created, updated, then replaced by half the file.

For each backend the bench migrates a fresh database and times, in this process, what an import
through the API or `inspection-week contacts import` does (read and check the CSV, plan the
changes, write them in bulk, one audit event, commit): 10,000 new people four levels deep, the
same 10,000 with a changed role, then a replace with the first 5,000 (5,000 deactivated). The
baseline, timed in the same run on the same database: writing the same 10,000 contacts straight
into the table with two executemany statements (rows, then their tree links), with no file to
read and nothing checked. It prints each figure and its cost over the baseline.

Target: each step under 20 s on either backend; the last line says `PASS` or `MISS`.

    .venv/bin/python bench/importer.py [--rows 10000] [--repeat 3]
                                       [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import record  # noqa: E402
from cascade import PG_ADMIN_URL, database, postgres_answers  # noqa: E402

from service.contacts import service  # noqa: E402
from service.contacts.importer import import_contacts  # noqa: E402
from service.contacts.models import Contact  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from tests.contacts.sheets import big_tree, csv_bytes  # noqa: E402
from tests.trees import insert_tree  # noqa: E402

TARGET_S = 20.0


def stored_rows(size: int, now: datetime) -> list[dict[str, object]]:
    """The contacts `big_tree(size)` is stored as, ready for a bare insert."""
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "role": row["role"],
            "email": row["email"],
            "mobile": "+44" + row["mobile"].replace(" ", "")[1:],
            "reports_to": row["reports_to"] or None,
            "deputy": row["deputy"] or None,
            "groups": row["groups"].split(";"),
            "channels": ["email", "sms"],
            "ack_window_minutes": None,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for row in big_tree(size)
    ]


def bare_insert(engine: sa.Engine, rows: list[dict[str, object]]) -> float:
    """Seconds to write the rows, then their links (tests/trees.py), in one transaction."""
    started = time.perf_counter()
    insert_tree(engine, rows)
    took = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(sa.update(Contact).values(reports_to=None, deputy=None))
        connection.execute(sa.delete(Contact))
    return took


def timed_import(engine: sa.Engine, data: bytes, **options: bool) -> tuple[float, dict[str, int]]:
    now = datetime.now(UTC)
    started = time.perf_counter()
    with Session(engine) as session:
        counts = import_contacts(
            session, data, filename="contacts.csv", actor="bench", now=now, **options
        )
        session.commit()
    return time.perf_counter() - started, counts.as_dict()


def one_round(engine: sa.Engine, size: int) -> dict[str, float]:
    """One import of each kind on an empty table; emptied again afterwards."""
    half = size // 2
    steps: list[tuple[str, Callable[[], tuple[float, dict[str, int]]], dict[str, int]]] = [
        (
            f"create {size:,}",
            lambda: timed_import(engine, csv_bytes(big_tree(size))),
            {"created": size, "updated": 0, "unchanged": 0, "deactivated": 0},
        ),
        (
            f"update {size:,}",
            lambda: timed_import(engine, csv_bytes(big_tree(size, role="Practitioner"))),
            {"created": 0, "updated": size, "unchanged": 0, "deactivated": 0},
        ),
        (
            f"replace by {half:,}",
            lambda: timed_import(
                engine, csv_bytes(big_tree(half, role="Practitioner")), replace=True
            ),
            {"created": 0, "updated": 0, "unchanged": half, "deactivated": size - half},
        ),
    ]
    seconds: dict[str, float] = {}
    for label, step, expected in steps:
        took, counts = step()
        if counts != expected:
            raise SystemExit(f"{label}: counted {counts}, expected {expected}")
        seconds[label] = took
        if not expected["created"]:
            continue
        with Session(engine) as session:
            levels = max(service.tree_levels(session).values())
        if levels != 4:
            raise SystemExit(f"the imported tree is {levels} levels deep, expected 4")
    with engine.begin() as connection:
        connection.execute(sa.update(Contact).values(reports_to=None, deputy=None))
        connection.execute(sa.delete(Contact))
    return seconds


def one_backend(backend: str, *, size: int, repeat: int) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="bench-importer-") as folder,
        database(backend, Path(folder)) as url,
    ):
        engine = make_engine(url)
        upgrade(engine)
        rows = stored_rows(size, datetime.now(UTC))
        baseline = min(bare_insert(engine, rows) for _ in range(repeat))
        rounds = [one_round(engine, size) for _ in range(repeat)]
        engine.dispose()
    best = {label: min(r[label] for r in rounds) for label in rounds[0]}
    print(f"\n{backend}: {size:,} rows, best of {repeat}")
    print(f"{'':<28}{'seconds':>9}{'/baseline':>11}")
    print(f"{'bare insert (baseline)':<28}{baseline:>9.2f}{1:>11.1f}")
    for label, took in best.items():
        print(f"{'import: ' + label:<28}{took:>9.2f}{took / baseline:>11.1f}")
    for label, took in best.items():
        record(
            "importer",
            backend,
            f"import: {label}",
            took,
            "s",
            target=TARGET_S,
            baseline=baseline,
            higher_is_better=False,
        )
    slowest = max(best.values())
    passed = slowest < TARGET_S
    print(
        f"target: every step under {TARGET_S:.0f} s on {backend}: slowest {slowest:.2f} s "
        f"{'PASS' if passed else 'MISS'}"
    )
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.rows < 1_001:
        parser.error("--rows must be over 1,000 so that the tree is four levels deep")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        if backend == "postgresql" and not postgres_answers():
            print(f"\npostgresql: skipped, no server answers at {PG_ADMIN_URL}")
            continue
        ok &= one_backend(backend, size=args.rows, repeat=args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
