"""Two `serve` processes on one SQLite file are refused: the second exits at start with a message
that says why and what to do, and the first serves on, untouched. A SIGKILLed server leaves no
stale lock: the next start on the same file serves. One-off commands still run beside a server."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.processes import Server, create_api_key, poll, server_env, servers

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only, pytest.mark.timeout(180)]

EXIT_TIMEOUT = 90.0
"""Generous, as for a start (tests/processes.py START_TIMEOUT); a refused start takes a second."""


def exited(server: Server) -> int | None:
    assert server.process is not None
    return server.process.poll()


def test_a_second_serve_on_one_sqlite_file_is_refused_and_the_first_serves_on(
    tmp_path: Path,
) -> None:
    database = tmp_path / "one.db"
    env = server_env(f"sqlite:///{database}")
    with servers() as started:
        first = Server(env, tmp_path, name="first")
        started.append(first.start())
        key = create_api_key(env, tmp_path, "inspections:write")  # a one-off command: allowed

        second = Server(env, tmp_path, name="second")
        started.append(second.launch())
        code = poll(
            lambda: (c := exited(second)) is not None and c != 0 and c,
            timeout=EXIT_TIMEOUT,
            what="the second serve on the same SQLite file exited with an error",
        )
        assert code == 2
        refusal = second.log()
        assert "another `inspection-week serve`" in refusal, refusal
        assert f"(pid {first.pid})" in refusal
        assert str(database.resolve()) in refusal
        assert "set DATABASE_URL to PostgreSQL to run several replicas" in refusal

        # The first serves on, its database intact: the key made beside it works.
        response = first.http.get("/api/v1/inspections", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert first.ready()["status"] == "ready"

        # A SIGKILL leaves no stale lock: a new server on the same file starts and serves.
        first.stop(signal.SIGKILL)
        third = Server(env, tmp_path, name="third")
        started.append(third.start())
        response = third.http.get("/api/v1/inspections", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        third.stop(signal.SIGTERM)


def test_serves_on_two_sqlite_files_both_run(tmp_path: Path) -> None:
    """The lock is the file's, not the machine's: two services with a file each both serve."""
    with servers() as started:
        one = Server(server_env(f"sqlite:///{tmp_path / 'a.db'}"), tmp_path, name="a")
        two = Server(server_env(f"sqlite:///{tmp_path / 'b.db'}"), tmp_path, name="b")
        started += [one.launch(), two.launch()]
        for server in (one, two):
            server.wait_until_up()
            assert server.ready()["status"] == "ready"
