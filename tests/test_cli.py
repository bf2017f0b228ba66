"""The `inspection-week` commands an operator runs, and the console script itself.

Each run gets DATABASE_URL and a working directory of its own (so no developer's `.env` or
environment leaks in); the database is then checked directly or through the API. Commands run in
this process (tests/commands.py); what only a real process shows runs the installed console
script: a fresh `migrate`, and `serve` refusing to start with its exit code and message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import api_keys, frameworks, migrate
from service.db import normalise_url
from tests.commands import SETTING_NAMES, run_command
from tests.processes import fresh_postgres_database

SCRIPT = Path(sys.executable).parent / "inspection-week"

Cli = Callable[..., subprocess.CompletedProcess[str]]


def run_cli(
    *args: str, database_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`inspection-week *args`, run in this process."""
    return run_command(*args, env={"DATABASE_URL": database_url, **(env or {})}, cwd=cwd)


def run_process(
    *args: str, database_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`inspection-week *args`, run as the installed console script in a process of its own."""
    clean = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    clean["DATABASE_URL"] = database_url
    clean.update(env or {})
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 2) -> None:
    """A refusal an operator can act on: the exit code, one message, no traceback."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("inspection-week: "), result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    """`inspection-week ...` on this test's database (SQLite or PostgreSQL)."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, database_url=database_url, cwd=tmp_path, env=env)

    return run


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database nobody has migrated, dropped afterwards."""
    with fresh_postgres_database(postgres_url) as url:
        yield url


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(normalise_url(url))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def created_key(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    *before, raw = result.stdout.splitlines()
    assert raw.startswith(api_keys.PREFIX) and raw == raw.strip()
    assert raw not in "\n".join(before) and raw not in result.stderr
    return raw


# working-days


def test_working_days_add_skips_christmas_and_the_substitute_boxing_day(cli: Cli) -> None:
    # From Wed 23 Dec 2026: Thu 24 (1), Fri 25 Christmas, Sat 26 Boxing Day moved to Mon 28,
    # Tue 29 (2), Wed 30 (3).
    result = cli("working-days", "add", "2026-12-23", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2026-12-30"


def test_working_days_add_with_a_negative_n_counts_back(cli: Cli) -> None:
    result = cli("working-days", "add", "2026-12-30", "-3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2026-12-23"


@pytest.mark.parametrize("bad_date", ["2026-02-30", "23/12/2026", "tomorrow"])
def test_working_days_add_names_a_malformed_date(tmp_path: Path, bad_date: str) -> None:
    url = f"sqlite:///{tmp_path}/iw.db"
    result = run_cli("working-days", "add", bad_date, "3", database_url=url, cwd=tmp_path)
    assert_clean_failure(result)
    assert repr(bad_date) in result.stderr and "YYYY-MM-DD" in result.stderr
    assert result.stdout == ""


# api-keys


def test_api_keys_create_prints_the_key_alone_last_and_it_works_on_the_api(
    cli: Cli, client: TestClient
) -> None:
    raw = created_key(
        cli("api-keys", "create", "--name", "intranet", "--scope", "inspections:read")
    )
    headers = {"Authorization": f"Bearer {raw}"}

    assert client.get("/api/v1/frameworks", headers=headers).status_code == 200
    announce = {"notified_at": "2026-11-17T10:30:00+00:00", "drill": True}
    # A read key must not announce: the scope given on the command line is the one stored.
    assert client.post("/api/v1/inspections", json=announce, headers=headers).status_code == 403


def test_api_keys_create_refuses_an_unknown_scope(cli: Cli, engine: Engine) -> None:
    result = cli("api-keys", "create", "--name", "intranet", "--scope", "inspections:delete")
    assert_clean_failure(result)
    assert "--scope" in result.stderr and result.stdout == ""
    assert "inspections:delete" in result.stderr and "inspections:read" in result.stderr
    with Session(engine) as session:
        assert api_keys.list_keys(session) == []


def test_api_keys_create_refuses_a_duplicate_name(cli: Cli, engine: Engine) -> None:
    first = created_key(cli("api-keys", "create", "--name", "intranet", "--scope", "admin"))
    result = cli("api-keys", "create", "--name", "intranet", "--scope", "inspections:read")
    assert_clean_failure(result)
    assert "'intranet'" in result.stderr and "already exists" in result.stderr
    with Session(engine) as session:
        [only] = api_keys.list_keys(session)
        assert only.scopes == ["admin"]
        assert api_keys.verify(session, first) is not None


def test_api_keys_list_shows_names_and_scopes_but_never_the_key(cli: Cli) -> None:
    raw = created_key(
        cli(
            "api-keys",
            "create",
            "--name",
            "intranet",
            "--scope",
            "inspections:read",
            "--scope",
            "inspections:write",
        )
    )
    result = cli("api-keys", "list")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("intranet\t")
    assert "inspections:read,inspections:write" in line and line.endswith("active")
    assert raw not in result.stdout and raw[len(api_keys.PREFIX) :] not in result.stdout


def test_api_keys_revoke_stops_the_key_at_once(cli: Cli, client: TestClient) -> None:
    raw = created_key(
        cli("api-keys", "create", "--name", "intranet", "--scope", "inspections:read")
    )
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/frameworks", headers=headers).status_code == 200

    result = cli("api-keys", "revoke", "intranet")
    assert result.returncode == 0, result.stderr
    assert "intranet" in result.stdout

    assert client.get("/api/v1/frameworks", headers=headers).status_code == 401
    listed = cli("api-keys", "list").stdout
    assert "revoked" in listed and "active" not in listed


def test_api_keys_revoke_refuses_the_last_admin_key_until_another_exists(
    cli: Cli, client: TestClient
) -> None:
    raw = created_key(cli("api-keys", "create", "--name", "intranet", "--scope", "admin"))

    refused = cli("api-keys", "revoke", "intranet")
    assert_clean_failure(refused)
    assert "last active key with the admin scope" in refused.stderr
    assert (
        client.get("/api/v1/frameworks", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 200
    )

    created_key(cli("api-keys", "create", "--name", "intranet-2", "--scope", "admin"))
    assert cli("api-keys", "revoke", "intranet").returncode == 0


def test_api_keys_revoke_names_an_unknown_key(cli: Cli) -> None:
    result = cli("api-keys", "revoke", "Tomasz Wójcik")
    assert_clean_failure(result)
    assert "'Tomasz Wójcik'" in result.stderr


# frameworks


def test_frameworks_list_shows_every_shipped_framework(tmp_path: Path) -> None:
    result = run_cli("frameworks", "list", database_url=f"sqlite:///{tmp_path}/iw.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    shipped = frameworks.load_all(None)
    assert [row[0] for row in rows] == sorted(shipped)
    for key, days, name in rows:
        assert days == f"{shipped[key].normal_on_site_days} on-site days"
        assert name == shipped[key].name
    assert ["sif-2013", "11 on-site days"] in [row[:2] for row in rows]


def test_frameworks_list_names_an_invalid_council_file(tmp_path: Path) -> None:
    folder = tmp_path / "frameworks"
    folder.mkdir()
    (folder / "council.yaml").write_text("key: council\n", encoding="utf-8")
    result = run_cli(
        "frameworks",
        "list",
        database_url=f"sqlite:///{tmp_path}/iw.db",
        cwd=tmp_path,
        env={"FRAMEWORKS_DIR": str(folder)},
    )
    assert_clean_failure(result)
    assert "council.yaml" in result.stderr


# migrate and serve


def test_migrate_creates_a_fresh_sqlite_file_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "iw.db"
    url = f"sqlite:///{path}"
    head = migrate.heads()[0]

    first = run_process("migrate", database_url=url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"database at {head} (was empty)"
    assert {"alembic_version", "inspection", "api_key", "due_job"} <= table_names(url)
    raw = created_key(
        run_cli(
            "api-keys",
            "create",
            "--name",
            "intranet",
            "--scope",
            "admin",
            database_url=url,
            cwd=tmp_path,
        )
    )

    again = run_cli("migrate", database_url=url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"database at {head}"
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            assert api_keys.verify(session, raw) is not None  # nothing was rebuilt
    finally:
        engine.dispose()


def test_migrate_on_a_fresh_postgresql_database_is_idempotent(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    head = migrate.heads()[0]
    first = run_cli("migrate", database_url=empty_postgres_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"database at {head} (was empty)"
    again = run_cli("migrate", database_url=empty_postgres_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"database at {head}"
    assert {"inspection", "api_key", "due_job"} <= table_names(empty_postgres_url)


def test_serve_on_postgresql_refuses_an_unmigrated_schema(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    # PostgreSQL is migrated once per release on purpose, never behind the replicas' backs.
    result = run_process(
        "serve",
        "--port",
        str(free_port()),
        database_url=empty_postgres_url,
        cwd=tmp_path,
        env={"SCHEDULER_ENABLED": "false"},
    )
    assert_clean_failure(result)
    assert "inspection-week migrate" in result.stderr
    assert table_names(empty_postgres_url) == set()


def test_an_unreachable_database_is_a_message_that_hides_the_password(tmp_path: Path) -> None:
    url = f"postgresql://iw:s3cret-pw@127.0.0.1:{free_port()}/iw"
    result = run_cli("api-keys", "list", database_url=url, cwd=tmp_path)
    assert_clean_failure(result, code=1)
    assert "cannot reach the database" in result.stderr and "127.0.0.1" in result.stderr
    assert "s3cret-pw" not in result.stderr
