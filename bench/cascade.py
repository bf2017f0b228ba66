"""The cascade at scale: a generated tree of 10,000 people (12 in the steering group, depth 4,
e-mail and SMS each) announced on a real `inspection-week serve` process, e-mail going to a real
SMTP server on loopback and SMS to the fake GOV.UK Notify server (its own process).

Prints, per backend: messages per second, time until the last steering-group message was
accepted, time until every message was accepted, the server's peak memory; then, with Notify's
default rate limit on (3,000 a minute), time until the steering group was accepted while 20,000
messages queue behind it. In the same run, as baselines: the same kind of messages sent by a plain
sequential loop with the official `notifications-python-client`, and the fake server's own ceiling:
several worker processes, each a bare sequential loop on its own kept-alive connection, against
the same fake process the service sends to (so every send the ceiling counts passed the same JWT,
schema and limit checks). Both are measured before each backend's run and again after the last,
and each run is compared with the mean of the two measured either side of it. Targets: the
service at least the sequential loop's rate and at least half the ceiling, the steering group
first.

    .venv/bin/python bench/cascade.py [--people 10000] [--backend sqlite|postgresql|both]
        [--replicas 3 [--replica-people 2000]]

With `--replicas N`, also: N `serve` processes on one PostgreSQL database sending to one fake
Notify that enforces Notify's own 3,000 a minute: how many 429s it answered, the accepted rate a
minute over the run and the most it accepted in any 60 seconds (only the replica holding the
dispatcher's leader lock sends).

With `--director`, also, on each backend: a council's org chart, one director at the root and the
steering group (the `steering` contacts group) reporting to them, the whole tree below going at
once, Notify's 3,000 a minute on: seconds until every steering-group member's message was
accepted (target: 2 s). `--skip-main` leaves out the runs above and the baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from notifications_python_client.notifications import NotificationsAPIClient  # noqa: E402

from bench._results import record  # noqa: E402
from service.cascade.models import CascadeNode  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.notify.models import Message  # noqa: E402
from tests.notify.fake_notify import FakeNotifyControl  # noqa: E402
from tests.notify.fake_notify.ceiling import measure_ceiling_processes  # noqa: E402
from tests.notify.smtp_sink import SmtpSink  # noqa: E402
from tests.processes import Server, create_api_key, server_env  # noqa: E402
from tests.trees import insert_tree, tree_rows  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STEERING_TARGET_S = 2.0
MEMORY_TARGET_MB = 300.0
BASELINE_SAMPLE = 600
UNLIMITED_PER_MINUTE = 6_000_000
NOTIFY_LIMIT = 3_000
DISPATCH_CONCURRENCY: int = Settings.model_fields["dispatch_concurrency"].default
"""The service's own default, unless --concurrency says otherwise."""
LATENCY_MS = 50.0
"""The fake answers after this long, as GOV.UK Notify does over the internet (an assumption:
pass --latency-ms 0 for the loopback-only figures)."""


@contextmanager
def fake_notify_process(
    latency_ms: float, per_minute: int = UNLIMITED_PER_MINUTE
) -> Iterator[dict[str, str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "tests/notify/fake_notify.py",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            # the service's own limiter sets the pace in the limited run; Notify lets a service
            # have a higher rate limit than its default 3,000 a minute
            "--rate-limit-per-minute",
            str(per_minute),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        yield info
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'cascade-{uuid.uuid4().hex[:6]}.db'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"iw_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgres_answers() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used (`/proc/<pid>/stat`, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    backend: str
    messages: int
    seconds_all: float
    seconds_steering: float
    peak_mb: float
    cpu_ms_per_message: float
    """The serve process's CPU from the announce until every message was accepted, per
    message: steadier than the rate on a loaded machine, since it counts only the service's own
    work (not the database's, the fake's or the SMTP server's)."""
    steering_with_limit: float
    announce_ms: float
    seconds_written: float
    """From the announce to the last message written to the outbox (to within a tick's round):
    next to `seconds_all`, whether writing the cascade or sending it set the pace."""
    timeline: list[tuple[int, int, int]]

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds_all


def cascade_written(engine: sa.Engine, inspection_id: str) -> bool:
    """Whether every person in the tree was messaged: until then the messages sent so far may
    be all there are only because the dispatcher caught up with the cascade."""
    with engine.connect() as connection:
        waiting = connection.execute(
            sa.select(sa.func.count()).where(
                CascadeNode.inspection_id == uuid.UUID(inspection_id),
                CascadeNode.notified_at.is_(None),  # type: ignore[union-attr]
            )
        ).scalar_one()
    return waiting == 0


def sent_times(
    engine: sa.Engine, inspection_id: str
) -> tuple[int, int, datetime | None, datetime | None]:
    """(messages, sent, last steering-group acceptance, last acceptance)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(Message.sent_at),
                sa.func.max(sa.case((Message.priority == 1, Message.sent_at))),
                sa.func.max(Message.sent_at),
            ).where(Message.inspection_id == uuid.UUID(inspection_id))
        ).one()
    return rows[0], rows[1], rows[2], rows[3]


TIMELINE_STEP_S = 5


def written_and_sent(
    engine: sa.Engine, inspection_id: str, started: datetime
) -> tuple[float, list[tuple[int, int, int]]]:
    """(seconds to the last message written, [(second, written, sent) every TIMELINE_STEP_S])."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Message.created_at, Message.sent_at).where(
                Message.inspection_id == uuid.UUID(inspection_id)
            )
        ).all()
    written: Counter[int] = Counter()
    sent: Counter[int] = Counter()
    for created_at, sent_at in rows:
        written[int((created_at - started).total_seconds() // TIMELINE_STEP_S)] += 1
        if sent_at is not None:
            sent[int((sent_at - started).total_seconds() // TIMELINE_STEP_S)] += 1
    last = max((created_at for created_at, _ in rows), default=started)
    steps = sorted(set(written) | set(sent))
    return (last - started).total_seconds(), [
        (step * TIMELINE_STEP_S, written[step], sent[step]) for step in steps
    ]


def steering_accepted(engine: sa.Engine, inspection_id: str) -> datetime | None:
    with engine.connect() as connection:
        waiting, last = connection.execute(
            sa.select(
                sa.func.count().filter(Message.sent_at.is_(None)),
                sa.func.max(Message.sent_at),
            ).where(Message.inspection_id == uuid.UUID(inspection_id), Message.priority == 1)
        ).one()
    return None if waiting else last


def announce(server: Server, key: str) -> tuple[str, datetime, float]:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    response = server.http.post(
        "/api/v1/inspections",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "notified_at": (started - timedelta(minutes=1)).isoformat(),
            "drill": True,
            "lead_inspector": "Harriet Oyelaran",
        },
        timeout=120,
    )
    response.raise_for_status()
    return response.json()["id"], started, (time.perf_counter() - clock) * 1000


def sending_env(
    url: str,
    sink: SmtpSink,
    notify: dict[str, str],
    concurrency: int,
    *,
    notify_per_minute: int,
    smtp_per_minute: int,
) -> dict[str, str]:
    """A serve process's settings: e-mail to the SMTP sink, texts to the fake Notify."""
    return server_env(
        url,
        email_channel="smtp",
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_security="none",
        sms_channel="govuk_notify",
        notify_api_key=notify["api_key"],
        notify_base_url=notify["base_url"],
        notify_sms_template_id=notify["sms_template_id"],
        notify_rate_limit_per_minute=notify_per_minute,
        smtp_rate_limit_per_minute=smtp_per_minute,
        dispatch_concurrency=concurrency,
        log_level="WARNING",
    )


def one_backend(
    backend: str, people: int, sink: SmtpSink, notify: dict[str, str], concurrency: int
) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-cascade-") as folder:
        workdir = Path(folder)
        results: dict[str, float] = {}
        timeline: list[tuple[int, int, int]] = []
        for limited in (False, True):
            with database(backend, workdir) as url:
                engine = make_engine(url)
                upgrade(engine)
                insert_tree(engine, tree_rows(people, now=datetime.now(UTC), window=0))
                env = sending_env(
                    url,
                    sink,
                    notify,
                    concurrency,
                    notify_per_minute=NOTIFY_LIMIT if limited else UNLIMITED_PER_MINUTE,
                    smtp_per_minute=6000 if limited else 6_000_000,
                )
                key = create_api_key(env, workdir, "inspections:write")
                server = Server(env, workdir, f"{backend}-{limited}").start()
                try:
                    cpu_before = cpu_seconds(server.pid)
                    inspection_id, started, announce_ms = announce(server, key)
                    results["announce_ms" if not limited else "announce_ms_limited"] = announce_ms
                    if limited:
                        deadline = time.monotonic() + 60
                        while (last := steering_accepted(engine, inspection_id)) is None:
                            if time.monotonic() > deadline:
                                raise SystemExit("steering group not accepted within 60 s")
                            time.sleep(0.05)
                        results["steering_with_limit"] = (last - started).total_seconds()
                    else:
                        deadline = time.monotonic() + 1800
                        while True:
                            total, sent, last_steering, last = sent_times(engine, inspection_id)
                            if total and sent == total and cascade_written(engine, inspection_id):
                                break
                            if time.monotonic() > deadline:
                                raise SystemExit(f"only {sent} of {total} sent after 30 minutes")
                            time.sleep(0.5)
                        assert last is not None and last_steering is not None
                        results["messages"] = total
                        results["all"] = (last - started).total_seconds()
                        results["steering"] = (last_steering - started).total_seconds()
                        results["peak"] = peak_memory_mb(server.pid)
                        results["cpu_ms"] = (cpu_seconds(server.pid) - cpu_before) * 1000 / total
                        results["written"], timeline = written_and_sent(
                            engine, inspection_id, started
                        )
                finally:
                    server.stop(signal.SIGKILL if limited else signal.SIGTERM)
                    server.close()
                    engine.dispose()
    return Run(
        backend=backend,
        messages=int(results["messages"]),
        seconds_all=results["all"],
        seconds_steering=results["steering"],
        peak_mb=results["peak"],
        cpu_ms_per_message=results["cpu_ms"],
        steering_with_limit=results["steering_with_limit"],
        announce_ms=results["announce_ms"],
        seconds_written=results["written"],
        timeline=timeline,
    )


@dataclass
class ReplicaRun:
    replicas: int
    texts: int
    refused_429: int
    busiest_minute: int
    per_minute: float
    """Accepted over the time from the first acceptance to the last, a minute."""
    seconds: float
    steering_s: float


def replicas_run(
    people: int, replicas: int, sink: SmtpSink, notify: dict[str, str], concurrency: int
) -> ReplicaRun:
    """`replicas` serve processes on one PostgreSQL database sending to one fake Notify whose rate
    limit is Notify's own 3,000 a minute: how often it answers 429, and the most texts it accepted
    in any 60 seconds."""
    control = FakeNotifyControl(notify["base_url"])
    control.reset()
    control.configure(rate_limit_per_minute=NOTIFY_LIMIT)
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as folder:
        workdir = Path(folder)
        with database("postgresql", workdir) as url:
            engine = make_engine(url)
            upgrade(engine)
            insert_tree(engine, tree_rows(people, now=datetime.now(UTC), window=0))
            env = sending_env(
                url,
                sink,
                notify,
                concurrency,
                notify_per_minute=NOTIFY_LIMIT,
                smtp_per_minute=6_000_000,
            )
            key = create_api_key(env, workdir, "inspections:write")
            servers = [Server(env, workdir, f"replica-{n}").start() for n in range(replicas)]
            try:
                inspection_id, started, _ = announce(servers[0], key)
                deadline = time.monotonic() + 1800
                steering = None
                while True:
                    if steering is None and (last := steering_accepted(engine, inspection_id)):
                        steering = (last - started).total_seconds()
                    total, sent, _, last_sent = sent_times(engine, inspection_id)
                    if total and sent == total and cascade_written(engine, inspection_id):
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"only {sent} of {total} sent after 30 minutes")
                    time.sleep(0.5)
            finally:
                for server in servers:
                    server.stop(signal.SIGTERM)
                    server.close()
                engine.dispose()
    posts = [r for r in control.requests() if r["method"] == "POST" and "/v2/" in r["path"]]
    control.configure(rate_limit_per_minute=UNLIMITED_PER_MINUTE)
    control.close()
    accepted = sorted(r["received_at"] for r in posts if r["status"] == 201)
    busiest, first = 0, 0
    for last, moment in enumerate(accepted):
        while moment - accepted[first] >= 60:
            first += 1
        busiest = max(busiest, last - first + 1)
    assert last_sent is not None
    return ReplicaRun(
        replicas=replicas,
        texts=len(accepted),
        refused_429=sum(1 for r in posts if r["status"] == 429),
        busiest_minute=busiest,
        per_minute=(
            len(accepted) / (accepted[-1] - accepted[0]) * 60
            if len(accepted) > 1 and accepted[-1] > accepted[0]
            else float("nan")
        ),
        seconds=(last_sent - started).total_seconds(),
        steering_s=steering or float("nan"),
    )


def director_rows(people: int) -> list[dict[str, object]]:
    """A director at the root, the 12 of the steering group reporting to them (in the group
    named by `STEERING_GROUP`), and the rest of the tree below them, every window 0."""
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = tree_rows(people - 1, now=now, window=0)
    director = {
        **rows[0],
        "id": "director",
        "name": "Morag Baird",
        "role": "Director of children's services",
        "email": "director@example.org",
        "deputy": None,
        "groups": ["leadership"],
        "ack_window_minutes": None,
    }
    for row in rows:
        if row["reports_to"] is None:
            row["reports_to"] = "director"
            row["groups"] = ["steering"]
    return [director, *rows]


@dataclass
class DirectorRun:
    backend: str
    level_one: int
    steering_s: float


def director_run(
    backend: str, people: int, sink: SmtpSink, notify: dict[str, str], concurrency: int
) -> DirectorRun:
    """The steering group below a director, with Notify's own 3,000 a minute on the fake and in
    the service: seconds from the announce until the last of their messages was accepted."""
    control = FakeNotifyControl(notify["base_url"])
    control.reset()
    control.configure(rate_limit_per_minute=NOTIFY_LIMIT)
    with tempfile.TemporaryDirectory(prefix="bench-director-") as folder:
        workdir = Path(folder)
        with database(backend, workdir) as url:
            engine = make_engine(url)
            upgrade(engine)
            insert_tree(engine, director_rows(people))
            env = sending_env(
                url,
                sink,
                notify,
                concurrency,
                notify_per_minute=NOTIFY_LIMIT,
                smtp_per_minute=6000,
            )
            key = create_api_key(env, workdir, "inspections:write")
            server = Server(env, workdir, f"director-{backend}").start()
            try:
                inspection_id, started, _ = announce(server, key)
                deadline = time.monotonic() + 60
                while (last := steering_accepted(engine, inspection_id)) is None:
                    if time.monotonic() > deadline:
                        raise SystemExit("steering group not accepted within 60 s")
                    time.sleep(0.02)
                with engine.connect() as connection:
                    level_one = connection.execute(
                        sa.select(sa.func.count()).where(
                            CascadeNode.inspection_id == uuid.UUID(inspection_id),
                            CascadeNode.level == 1,
                        )
                    ).scalar_one()
            finally:
                server.stop(signal.SIGKILL)
                server.close()
                engine.dispose()
    control.configure(rate_limit_per_minute=UNLIMITED_PER_MINUTE)
    control.close()
    return DirectorRun(backend, level_one, (last - started).total_seconds())


@dataclass(frozen=True)
class References:
    """What a run is compared with, measured next to it: the fake's ceiling and the plain loop."""

    ceiling: float
    plain: float


def references(notify: dict[str, str], args: argparse.Namespace) -> References:
    """The ceiling and the baseline, measured now: this machine's speed drifts by a quarter
    within minutes, so one measurement before all the runs compares a later run with another
    machine."""
    ceiling = measure_ceiling_processes(
        notify["base_url"],
        notify["api_key"],
        notify["sms_template_id"],
        seconds=5,
        processes=args.ceiling_processes,
        # as many connections as the service may have sends under way, or the fake's latency
        # alone would set the figure; one each when it answers at once
        connections=args.concurrency if args.latency_ms else args.ceiling_processes,
    ).per_second
    return References(ceiling, baseline(notify, args.baseline_sample))


def either_side(before: References, after: References) -> tuple[float, float]:
    """(ceiling, baseline) for a run: the means of those measured just before and just after."""
    return (before.ceiling + after.ceiling) / 2, (before.plain + after.plain) / 2


def baseline(notify: dict[str, str], sample: int) -> float:
    """Messages a second from a plain sequential loop with the official client."""
    client = NotificationsAPIClient(notify["api_key"], base_url=notify["base_url"])
    started = time.monotonic()
    for n in range(sample):
        client.send_sms_notification(
            phone_number=f"07700 900{n % 1000:03d}",
            template_id=notify["sms_template_id"],
            personalisation={"body": f"EXERCISE: inspection announced, message {n}"},
            reference=str(uuid.uuid4()),
        )
    return sample / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--baseline-sample", type=int, default=BASELINE_SAMPLE)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=LATENCY_MS,
        help="added by the fake Notify to every answer: the round trip to the real service",
    )
    parser.add_argument(
        "--concurrency", type=int, default=DISPATCH_CONCURRENCY, help="DISPATCH_CONCURRENCY"
    )
    parser.add_argument(
        "--ceiling-processes",
        type=int,
        default=max(2, os.cpu_count() or 2),
        help="load processes for the fake's ceiling (each a sequential loop)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="also run this many serve processes on one PostgreSQL database against one fake "
        "Notify limited to 3,000 a minute, and print its 429s and busiest minute",
    )
    parser.add_argument(
        "--replica-people",
        type=int,
        default=6_000,
        help="the tree for the --replicas run (over 3,000 texts, so that it lasts over a minute)",
    )
    parser.add_argument(
        "--director",
        action="store_true",
        help="also time the steering group below a director at the root, on each backend",
    )
    parser.add_argument(
        "--skip-main",
        action="store_true",
        help="only the --director and --replicas runs: no main runs, no baselines",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also print, every 5 s from the announce, how many messages were written to the "
        "outbox and how many were sent",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not postgres_answers():
        print(f"PostgreSQL at {PG_ADMIN_URL} does not answer: skipped")
        backends.remove("postgresql")

    measured: list[References] = []
    runs: list[Run] = []
    with fake_notify_process(args.latency_ms) as notify, SmtpSink() as sink:
        if not args.skip_main:
            measured.append(references(notify, args))
            for backend in backends:
                runs.append(one_backend(backend, args.people, sink, notify, args.concurrency))
                measured.append(references(notify, args))
        directed = (
            [
                director_run(backend, args.people, sink, notify, args.concurrency)
                for backend in backends
            ]
            if args.director
            else []
        )
        shared = None
        if args.replicas and postgres_answers():
            shared = replicas_run(
                args.replica_people, args.replicas, sink, notify, args.concurrency
            )

    print(f"tree: {args.people} people, 12 in the steering group, depth 4, e-mail + SMS each")
    print(f"fake Notify answers after {args.latency_ms:g} ms; e-mail to an SMTP server on loopback")
    verdicts: list[tuple[str, bool]] = []
    if not runs:
        return _report(args, directed, shared, verdicts)
    print(
        f"fake Notify ceiling ({args.ceiling_processes} processes of bare sequential loops), "
        "messages/s: " + " / ".join(f"{m.ceiling:.1f}" for m in measured)
    )
    print(
        f"baseline (official client, sequential, {args.baseline_sample} SMS), messages/s: "
        + " / ".join(f"{m.plain:.1f}" for m in measured)
    )
    print(
        "(measured before each backend's run and after the last: each run is compared with "
        "the mean of the two either side of it)"
    )
    print()
    columns = [
        ("backend", -11),
        ("messages", 9),
        ("msg/s", 9),
        ("x base", 8),
        ("/ceil", 7),
        ("steering s", 12),
        ("written s", 11),
        ("all s", 8),
        ("peak MB", 9),
        ("CPU ms/msg", 12),
        ("steering s, limit on", 22),
        ("announce ms", 13),
    ]
    header = "".join(f"{name:<{-w}}" if w < 0 else f"{name:>{w}}" for name, w in columns)
    print(header)
    print("-" * len(header))
    for number, run in enumerate(runs):
        ceiling, plain = either_side(measured[number], measured[number + 1])
        print(
            f"{run.backend:<11}{run.messages:>9}{run.per_second:>9.1f}"
            f"{run.per_second / plain:>8.1f}"
            f"{run.per_second / ceiling:>7.2f}{run.seconds_steering:>12.2f}"
            f"{run.seconds_written:>11.1f}{run.seconds_all:>8.1f}"
            f"{run.peak_mb:>9.0f}{run.cpu_ms_per_message:>12.2f}"
            f"{run.steering_with_limit:>22.2f}{run.announce_ms:>13.0f}"
        )
        record(
            "cascade",
            run.backend,
            "dispatch rate, provider answering at once"
            if args.latency_ms == 0
            else f"dispatch rate, provider answering after {args.latency_ms:g} ms",
            run.per_second,
            "messages/s",
            target=max(plain, ceiling / 2),
            baseline=plain,
        )
        record("cascade", run.backend, "fake Notify ceiling", ceiling, "messages/s")
        record(
            "cascade",
            run.backend,
            "serve CPU per message, announce to last accepted",
            run.cpu_ms_per_message,
            "ms",
        )
        record(
            "cascade",
            run.backend,
            "steering group accepted, Notify's limit on",
            run.steering_with_limit,
            "s",
            target=STEERING_TARGET_S,
            higher_is_better=False,
        )
        record(
            "cascade",
            run.backend,
            "steering group accepted, no limit",
            run.seconds_steering,
            "s",
            target=STEERING_TARGET_S,
            higher_is_better=False,
        )
        verdicts += [
            (f"{run.backend}: at least the sequential loop", run.per_second >= plain),
            (f"{run.backend}: at least half the ceiling", run.per_second >= ceiling / 2),
            (
                f"{run.backend}: steering group within {STEERING_TARGET_S:g} s, limit on",
                run.steering_with_limit <= STEERING_TARGET_S,
            ),
            (
                f"{run.backend}: peak memory under {MEMORY_TARGET_MB:g} MB",
                run.peak_mb < MEMORY_TARGET_MB,
            ),
        ]
    if args.timeline:
        for run in runs:
            print(f"\n{run.backend}: messages written and sent, every {TIMELINE_STEP_S} s")
            print(f"{'from s':>8}{'written':>9}{'sent':>9}")
            for second, written, sent in run.timeline:
                print(f"{second:>8}{written:>9}{sent:>9}")
    return _report(args, directed, shared, verdicts)


def _report(
    args: argparse.Namespace,
    directed: list[DirectorRun],
    shared: ReplicaRun | None,
    verdicts: list[tuple[str, bool]],
) -> int:
    """The --director and --replicas figures, then every verdict."""
    if directed:
        print()
    for run in directed:
        print(
            f"{run.backend}: a director at the root and {run.level_one - 1} in the steering "
            f"group below them ({run.level_one} at level 1), Notify's {NOTIFY_LIMIT:,} a "
            f"minute on: steering group accepted after {run.steering_s:.2f} s"
        )
        verdicts.append(
            (
                f"{run.backend}: director at the root, steering group within "
                f"{STEERING_TARGET_S:g} s",
                run.steering_s <= STEERING_TARGET_S and run.level_one == 13,
            )
        )
    if shared is not None:
        print()
        print(
            f"{shared.replicas} serve processes on PostgreSQL, one fake Notify limited to "
            f"{NOTIFY_LIMIT:,} a minute, {args.replica_people} people: {shared.texts} texts "
            f"accepted in {shared.seconds:.1f} s; 429 answers: {shared.refused_429}; accepted "
            f"a minute: {shared.per_minute:.0f} over the run, {shared.busiest_minute} in the "
            f"busiest 60 s; steering group accepted after {shared.steering_s:.2f} s"
        )
        verdicts += [
            (f"{shared.replicas} replicas: 429 no more than a handful", shared.refused_429 <= 5),
            (
                f"{shared.replicas} replicas: at or under {NOTIFY_LIMIT:,} a minute",
                shared.busiest_minute <= NOTIFY_LIMIT and shared.per_minute <= NOTIFY_LIMIT,
            ),
        ]
    print()
    for label, ok in verdicts:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
