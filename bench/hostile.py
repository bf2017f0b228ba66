"""The worst input of each kind a coordinator or a read-only key can send, against a normal
request of the same route, on a real server: time and the server's extra peak memory.

    .venv/bin/python bench/hostile.py
    .venv/bin/python bench/hostile.py --repeat 5

Target, for every route: the worst case within 10x of the normal request's time and under 100 MB
of extra memory (the most the server's RSS rises while it answers, read every 2 ms), and never
a 500. Each row says PASS or
MISS, and the last line PASS when every row does.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import record  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from tests.contacts import bombs  # noqa: E402
from tests.contacts.sheets import csv_bytes, person, xlsx_bytes  # noqa: E402
from tests.processes import Server, console_script, create_api_key, server_env  # noqa: E402
from tests.trees import insert_tree, tree_rows  # noqa: E402

PASSWORD = "correct horse battery staple 7"
TIME_FACTOR = 10.0
EXTRA_MB = 100.0
TREE_PEOPLE = 2_000
"""People in the normal tree, and in the deep chain (one per level) that replaces it."""
LOOPS = "{% for a in 'x'*500 %}{% for b in 'x'*500 %}{% for c in 'x'*500 %}x{% endfor %}{% endfor %}{% endfor %}"  # noqa: E501
POWERS = "{{ (((9**64)**64)**64)**64 }} ((name))"


@dataclass
class Case:
    route: str
    normal: Callable[[], httpx.Response]
    worst: Callable[[], httpx.Response]
    worst_label: str
    between: Callable[[], None] | None = None


@dataclass
class Figure:
    ms: float
    mb: float
    status: int
    kb: float


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else 0.0


class RssSampler(threading.Thread):
    """The server's highest resident memory while a request runs, read every 2 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.highest = rss_mb(pid)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.highest = max(self.highest, rss_mb(self.pid))
            self.done.wait(0.002)


def measure(server: Server, call: Callable[[], httpx.Response], repeat: int) -> Figure:
    """Best time of `repeat` calls, and the most the server's RSS rose above where it stood
    before a call."""
    times = []
    extra = 0.0
    status = 0
    size = 0
    for _ in range(repeat):
        before = rss_mb(server.pid)
        sampler = RssSampler(server.pid)
        sampler.start()
        started = time.perf_counter()
        try:
            try:
                reply = call()
            except httpx.TransportError as exc:
                # The previous case's 500 closed this keep-alive connection; the client opens
                # a new one on the next call.
                print(f"    (retried after {type(exc).__name__}: {exc})")
                reply = call()
            status = reply.status_code
            size = len(reply.content)
        except httpx.HTTPError as exc:
            status = 0
            print(f"    ({type(exc).__name__}: {exc})")
        times.append((time.perf_counter() - started) * 1000)
        sampler.done.set()
        sampler.join()
        extra = max(extra, max(sampler.highest, rss_mb(server.pid)) - before)
    return Figure(min(times), extra, status, size / 1024)


def sign_in(server: Server, workdir: Path) -> httpx.Client:
    done = subprocess.run(
        [
            str(console_script()),
            "users",
            "create",
            "--username",
            "bench",
            "--name",
            "Morag Baird",
            "--role",
            "admin",
            "--password-stdin",
        ],  # fmt: skip
        env=server.env,
        cwd=workdir,
        input=PASSWORD,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise SystemExit(f"users create failed: {done.stderr}")
    client = httpx.Client(base_url=server.url, timeout=300, follow_redirects=True)
    token = csrf(client, "/login")
    reply = client.post(
        "/login", data={"csrf_token": token, "username": "bench", "password": PASSWORD}
    )
    if reply.status_code != 200:
        raise SystemExit(f"signing in failed: {reply.status_code} {reply.text[:300]}")
    return client


def csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None, f"no CSRF token on {path}"
    return found.group(1)


def announce_form(client: httpx.Client, day: str, month: str, year: str) -> httpx.Response:
    return client.post(
        "/rehearsal",
        data={
            "csrf_token": csrf(client, "/rehearsal"),
            "framework": "sif-2013",
            "call_date-day": day,
            "call_date-month": month,
            "call_date-year": year,
            "call_time": "09:30",
        },
    )


def cases(server: Server, workdir: Path, url: str) -> list[Case]:
    env = server.env
    key = create_api_key(
        env, workdir, "contacts:read", "contacts:write", "templates:read", name="bench"
    )
    api = httpx.Client(base_url=server.url, timeout=300, headers={"Authorization": f"Bearer {key}"})
    page = sign_in(server, workdir)
    small = [person(f"S{n:03d}", f"Person {n:03d}") for n in range(10)]
    ring = [
        person(f"R{n:05d}", f"Person {n:05d}", reports_to=f"R{(n + 1) % 4000:05d}")
        for n in range(4000)
    ]

    def upload(data: bytes, name: str) -> Callable[[], httpx.Response]:
        return lambda: api.post(
            "/api/v1/contacts/import", params={"dry_run": "true"}, files={"file": (name, data)}
        )

    def preview(body: str) -> Callable[[], httpx.Response]:
        return lambda: api.post("/api/v1/templates/announcement/sms/preview", json={"body": body})

    def deepen() -> None:
        """Replace the normal tree by one chain as deep as it has people (stored directly:
        the import refuses it)."""
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE contact SET active = 0")
        chain = tree_rows(TREE_PEOPLE, now=datetime.now(UTC), steering=1, depth=TREE_PEOPLE)
        for row in chain:
            row["id"] = "d" + row["id"]
            row["reports_to"] = "d" + row["reports_to"] if row["reports_to"] else None
            row["deputy"] = None
        insert_tree(engine, chain)
        engine.dispose()

    def formula_contact() -> None:
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE contact SET email = '=1+2@example.org' WHERE id = 'dp00001'"
            )
        engine.dispose()

    return [
        Case(
            "POST /api/v1/templates/…/preview",
            lambda: api.post("/api/v1/templates/announcement/sms/preview", json={}),
            preview(LOOPS + POWERS + "((name))" * 2_000),
            "loops, 9**64**64, 2,000 placeholders",
        ),
        Case(
            "POST /api/v1/contacts/import",
            upload(csv_bytes(small), "contacts.csv"),
            upload(csv_bytes(ring), "contacts.csv"),
            "a reports_to cycle of 4,000 rows",
        ),
        Case(
            "POST /api/v1/contacts/import .xlsx",
            upload(xlsx_bytes(small), "contacts.xlsx"),
            upload(bombs.far_right_bomb(20_000), "contacts.xlsx"),
            "20,000 empty cells in column XFD",
        ),
        Case(
            "POST /api/v1/contacts/import .xlsx",
            upload(xlsx_bytes(small), "contacts.xlsx"),
            upload(bombs.shared_strings_bomb(1_000_000), "contacts.xlsx"),
            "shared strings: 1,000,000 entries",
        ),
        Case(
            "POST /rehearsal (date fields)",
            lambda: announce_form(page, "31", "2", "2026"),
            lambda: announce_form(page, "9" * 40, "9" * 40, "9" * 40),
            "day, month, year of 40 digits",
        ),
        Case(
            "GET /contacts/tree?under=",
            lambda: page.get("/contacts/tree", params={"under": "p00000"}),
            lambda: page.get("/contacts/tree", params={"under": "dp00000"}),
            f"a chain {TREE_PEOPLE:,} levels deep",
            between=deepen,
        ),
        Case(
            "GET /api/v1/contacts/export.csv",
            lambda: api.get("/api/v1/contacts/export", params={"format": "csv"}),
            lambda: api.get("/api/v1/contacts/export", params={"format": "csv"}),
            "an e-mail starting with =",
            between=formula_contact,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="calls of each; the best is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder:
        workdir = Path(folder)
        url = f"sqlite:///{workdir / 'hostile.db'}"
        engine = make_engine(url)
        upgrade(engine)
        insert_tree(engine, tree_rows(TREE_PEOPLE, now=datetime.now(UTC)))
        engine.dispose()
        env = server_env(url, log_level="WARNING", dispatcher_enabled="false")
        server = Server(env, workdir, "hostile").start()
        rows = []
        try:
            for case in cases(server, workdir, url):
                normal = measure(server, case.normal, args.repeat)
                if case.between is not None:
                    case.between()
                worst = measure(server, case.worst, args.repeat)
                rows.append((case, normal, worst))
                print(f"  measured {case.route}: {case.worst_label}", flush=True)
        except SystemExit:
            print(server.log()[-4000:], file=sys.stderr)
            raise
        finally:
            server.stop()
            server.close()
    print(f"sqlite, best of {args.repeat}; +MB: the most the server's RSS rose during a call")
    print(
        f"{'route':<36}{'worst input':<38}{'normal ms':>10}{'worst ms':>10}{'×':>7}"
        f"{'+MB':>7}{'codes':>9}{'reply KB':>14}  verdict"
    )
    passed = True
    for case, normal, worst in rows:
        factor = worst.ms / max(normal.ms, 0.001)
        ok = factor <= TIME_FACTOR and worst.mb < EXTRA_MB and 0 < worst.status < 500
        passed &= ok
        print(
            f"{case.route:<36}{case.worst_label:<38}{normal.ms:>10.1f}{worst.ms:>10.1f}"
            f"{factor:>7.1f}{worst.mb:>7.1f}{f'{normal.status}/{worst.status}':>9}"
            f"{f'{normal.kb:.1f}/{worst.kb:.1f}':>14}  "
            f"{'PASS' if ok else 'MISS'}"
        )
    for case, normal, worst in rows:
        record(
            "hostile",
            "sqlite",
            f"{case.route}: {case.worst_label}",
            worst.ms,
            "ms",
            target=normal.ms * TIME_FACTOR,
            baseline=normal.ms,
            higher_is_better=False,
        )
    most = max(rows, key=lambda row: row[2].mb)
    record(
        "hostile",
        "sqlite",
        "most extra memory, any worst input",
        most[2].mb,
        "MB",
        target=EXTRA_MB,
        higher_is_better=False,
        why=f"{most[0].route}: {most[0].worst_label}",
    )
    errors = [case.route for case, _, worst in rows if not 0 < worst.status < 500]
    record(
        "hostile",
        "sqlite",
        "worst inputs answered 500",
        len(errors),
        "",
        target=0,
        higher_is_better=False,
        why=", ".join(errors),
    )
    print(
        f"target: worst within {TIME_FACTOR:g}x of normal, under {EXTRA_MB:g} MB extra, never a "
        f"500: {'PASS' if passed else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
