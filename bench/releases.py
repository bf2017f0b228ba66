"""The cascade's releases alone, in one process: the CPU it takes to write a 10,000-person
window-0 cascade's messages, per message, with no dispatcher sending them.

A drill is announced on a freshly migrated database holding a generated tree (12 in the
steering group, depth 4, e-mail and SMS each), then the scheduler's `run_due` runs the release
rows with the service's own handlers until none is left. Baseline, in the same run and on the
same database: the same number of announcements written straight through the outbox (rendered,
inserted in groups of the tree's size, one transaction each), which is the part of a release no
bookkeeping can remove. The ratio is what the cascade's own work (claims, the tree's updates,
the next level's due rows) costs on top. It also prints the statements the releases sent to the
database per message written, which no other load on the machine moves: on a database on
another machine each is a round trip (`bench/db_hop.py` puts one in front of PostgreSQL). On a
shared machine the CPU times move less than the end-to-end rate of `cascade.py`, which also
counts the sends.

    .venv/bin/python bench/releases.py [--people 10000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import record  # noqa: E402
from bench.cascade import database, postgres_answers  # noqa: E402
from service.config import Settings  # noqa: E402
from service.contacts.models import Contact  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.inspections import flows as inspection_flows  # noqa: E402
from service.inspections.models import Inspection  # noqa: E402
from service.inspections.schemas import AnnounceRequest  # noqa: E402
from service.inspections.service import outbox_for  # noqa: E402
from service.main import build_handlers, build_rules  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.notify.models import Message, Purpose  # noqa: E402
from service.notify.outbox import addresses  # noqa: E402
from service.rules import Rules  # noqa: E402
from service.scheduler.due import run_due  # noqa: E402
from tests.trees import insert_tree, tree_rows  # noqa: E402

GROUP = 9
"""People per transaction in the baseline: about a group of the generated tree."""


def prepared(url: str, people: int) -> tuple[sa.Engine, Rules, datetime]:
    """A migrated database holding the generated tree, and the service's rules for it."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    insert_tree(engine, tree_rows(people, now=now, window=0))
    return engine, build_rules(Settings(database_url=url)), now


def messages_written(engine: sa.Engine) -> int:
    with Session(engine) as session:
        written = session.exec(select(sa.func.count()).select_from(Message)).one()
    engine.dispose()
    return int(written)


@dataclass
class Released:
    cpu: float
    wall: float
    written: int
    statements: int
    """Sent to the database by the releases, an `executemany` counted once (psycopg sends its
    rows in one pipeline): on a database on another machine each is a round trip."""


def releases(url: str, people: int) -> Released:
    engine, rules, now = prepared(url, people)
    handlers = build_handlers(rules)
    with Session(engine, expire_on_commit=False) as session:
        request = AnnounceRequest(notified_at=now, drill=True)
        inspection_flows.announce(session, rules=rules, request=request, actor="bench", now=now)
        session.commit()
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    while run_due(
        engine, now=datetime.now(UTC), handlers=handlers, worker="bench", limit=10_000
    ).more:
        pass
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sa.event.remove(engine, "before_cursor_execute", count)
    return Released(cpu, wall, messages_written(engine), statements)


def outbox_alone(url: str, people: int) -> tuple[float, int]:
    """CPU seconds to write the same people's announcements straight through the outbox."""
    engine, rules, now = prepared(url, people)
    with Session(engine, expire_on_commit=False) as session:
        inspection = Inspection(
            framework="sif-2013", drill=True, notified_at=now, created_at=now, created_by="bench"
        )
        session.add(inspection)
        session.commit()
        contacts = list(session.exec(select(Contact).order_by(col(Contact.id))).all())
    cpu = time.process_time()
    for start in range(0, len(contacts), GROUP):
        with Session(engine, expire_on_commit=False) as session:
            outbox = outbox_for(session, inspection, rules=rules, now=now)
            for contact in contacts[start : start + GROUP]:
                for medium, address in addresses(contact).items():
                    outbox.enqueue(
                        person=contact,
                        medium=medium,
                        address=address,
                        purpose=Purpose.drill,
                        dedupe=f"{contact.id}:{Purpose.announcement}",
                        priority=2,
                        values={
                            "ack_url": f"{rules.messaging.public_base_url}/ack/{uuid.uuid4().hex}",
                            "reply_code": "123456",
                            "tasks": [],
                        },
                    )
            outbox.flush()
            session.commit()
    cpu = time.process_time() - cpu
    return cpu, messages_written(engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not postgres_answers():
        print("postgresql: no server answers; skipped")
        backends.remove("postgresql")
    print(f"tree: {args.people} people, window 0, e-mail + SMS each; CPU of this process")
    print(
        f"{'backend':<11}{'messages':>9}{'release us/msg':>16}{'outbox us/msg':>15}"
        f"{'ratio':>7}{'release s':>11}{'statements/msg':>16}"
    )
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="bench-releases-") as folder:
            with database(backend, Path(folder)) as url:
                done = releases(url, args.people)
            with database(backend, Path(folder)) as url:
                base_cpu, base_written = outbox_alone(url, args.people)
        per = done.cpu / done.written * 1e6
        base = base_cpu / base_written * 1e6
        print(
            f"{backend:<11}{done.written:>9}{per:>16.0f}{base:>15.0f}{per / base:>7.2f}"
            f"{done.wall:>11.1f}{done.statements / done.written:>16.3f}"
        )
        record(
            "releases",
            backend,
            "release CPU per message written",
            per,
            "us",
            baseline=base,
            higher_is_better=False,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
