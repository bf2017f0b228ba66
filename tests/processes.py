"""Real `inspection-week` processes for tests: the console script, a free port, a server that is
waited on until it answers, and polling instead of long sleeps. The one-off commands beside a
server (`migrate`, `api-keys create`, `users create`) run in this process."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from tests.commands import run_command

T = TypeVar("T")

START_TIMEOUT = 90.0
"""Generous: a first start migrates a fresh database, and on a busy two-core machine that
alone has taken over 30 s; a server that never answers still fails the test."""
STOP_TIMEOUT = 30.0


def console_script() -> Path:
    """The installed `inspection-week` command, next to the interpreter running the tests."""
    path = Path(sys.executable).parent / "inspection-week"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: install the project with `pip install -e .`")
    return path


def free_port() -> int:
    """A loopback port free right now, chosen below the kernel's ephemeral range (32768 and up on
    Linux): a server process takes seconds to bind it, and in that time a port from bind(0) could
    be handed to an outgoing connection or another test's server."""
    while True:
        port = random.randint(20_000, 32_000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def server_env(database_url: str, **settings: object) -> dict[str, str]:
    """The environment a process sees: ours, with the service's settings replaced."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "SCHEDULER_ENABLED": "true",
            "SCHEDULER_TICK_SECONDS": "0.2",
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> str:
    """Run one CLI command to completion, in this process (tests/commands.py: the same commands
    with the same settings, without a second start of Python); its stdout, or a failure that
    shows its stderr."""
    done = run_command(*args, env=env, cwd=cwd, stdin=stdin)
    if done.returncode != 0:
        raise AssertionError(
            f"`inspection-week {' '.join(args)}` exited {done.returncode}:\n{done.stderr}"
        )
    return done.stdout


def create_api_key(env: dict[str, str], cwd: Path, *scopes: str, name: str = "intranet") -> str:
    """`api-keys create` prints the key alone on its last line."""
    scope_args = [arg for scope in scopes or ("inspections:write",) for arg in ("--scope", scope)]
    output = run_cli("api-keys", "create", "--name", name, *scope_args, env=env, cwd=cwd)
    return output.strip().splitlines()[-1]


def poll(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `check` until it returns something truthy; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout:g}s: {what}")
        time.sleep(interval)


class Server:
    """One `inspection-week serve` process; its output goes to a log file shown on failure."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str = "server"):
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.workdir = workdir
        self.log_path = workdir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def worker(self) -> str:
        """How this process signs the due rows it runs (see Scheduler.worker)."""
        return f"{socket.gethostname()}:{self.pid}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Server:
        return self.launch().wait_until_up()

    def launch(self) -> Server:
        """Start the process without waiting, so that several can start side by side."""
        with self.log_path.open("ab") as log:
            # cwd is the test's folder, so no developer's .env file is read.
            self.process = subprocess.Popen(
                [str(console_script()), "serve"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_until_up(self) -> Server:
        poll(self._answers, timeout=START_TIMEOUT, what=f"{self.url}/healthz answered")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited {self.process.returncode}:\n{self.log()}")
        try:
            return self.http.get("/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def ready(self) -> dict[str, Any]:
        return self.http.get("/readyz").json()

    def last_tick_at(self) -> datetime | None:
        value = self.ready()["scheduler"]["last_tick_at"]
        return datetime.fromisoformat(value) if value else None

    def wait_for_ticks(self, count: int, tick_seconds: float = 0.2) -> None:
        """Let the scheduler tick `count` more times (as its own clock reports them)."""
        first = poll(self.last_tick_at, timeout=START_TIMEOUT, what="the scheduler ticked")
        poll(
            lambda: (
                (last := self.last_tick_at()) is not None
                and (last - first).total_seconds() >= count * tick_seconds * 0.99
            ),
            timeout=count * tick_seconds + 10,
            what=f"the scheduler ticked {count} more times",
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` and wait for the process to end; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server ignored {sig.name}:\n{self.log()}") from exc

    def close(self) -> None:
        """Teardown: never leave a process behind, whatever the test did."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.http.close()


@contextmanager
def servers() -> Iterator[list[Server]]:
    """Collects the servers a test starts and kills any still running at the end."""
    started: list[Server] = []
    try:
        yield started
    except BaseException:
        for server in started:  # pytest shows this output with the failure
            print(f"--- {server.log_path.name} ---\n{server.log()}")
        raise
    finally:
        for server in started:
            server.close()


def create_test_database(connection: sa.Connection, name: str) -> None:
    """A new, empty database whose commits do not wait for the disk (`synchronous_commit=off`:
    a crash of the database server could lose the last moments, which a test never needs; every
    other guarantee, locking and isolation included, is unchanged)."""
    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


@contextmanager
def fresh_postgres_database(postgres_url: str) -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards, so that processes
    under test can run `inspection-week migrate` on it and share nothing with other tests."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"iw_proc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            create_test_database(connection, name)
        yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
