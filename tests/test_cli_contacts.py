"""`inspection-week contacts import|export` on both databases, run as the console script runs
them: counts on success, every problem as FILE:LINE with exit code 1 and nothing written."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from service.contacts.models import Contact
from tests.commands import run_command
from tests.contacts.sheets import csv_bytes, person, tree_rows

Cli = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def contacts_cli(database_url: str, tmp_path: Path) -> Cli:
    """`inspection-week contacts ...` in a clean environment and working directory."""

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        env = {"DATABASE_URL": database_url}
        return run_command("contacts", *args, env=env, cwd=tmp_path, text=False)

    return run


def active_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Contact.id).where(col(Contact.active).is_(True))).all())


def test_import_prints_the_counts_and_writes_the_tree(
    contacts_cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "tree.csv"
    path.write_bytes(csv_bytes(tree_rows()))
    done = contacts_cli("import", str(path))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "created 5, updated 0, unchanged 0, deactivated 0"
    assert active_ids(engine) == ["S001", "S002", "S010", "S011", "S020"]


def test_a_bad_file_lists_every_problem_as_file_line_and_writes_nothing(
    contacts_cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "tree.csv"
    rows = [
        person("S001", "Harriet Oyelaran"),
        person("S002", "Tomasz Wójcik", mobile="020 7946 0000"),
        person("S003", "Priya Raman", deputy="S404", ack_window_minutes="soon"),
    ]
    path.write_bytes(csv_bytes(rows))
    done = contacts_cli("import", str(path))
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{path}:3", "mobile"],
        [f"{path}:4", "deputy"],
        [f"{path}:4", "ack_window_minutes"],
    ]
    assert "Traceback" not in done.stderr.decode()
    assert done.stdout == b""
    assert active_ids(engine) == []


@pytest.mark.sqlite_only
def test_an_email_starting_a_formula_is_refused_with_file_and_line(
    contacts_cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "tree.csv"
    rows = [
        person("S001", "Harriet Oyelaran"),
        person("S002", "Tomasz Wójcik", email="=1+2@example.org"),
    ]
    path.write_bytes(csv_bytes(rows))
    done = contacts_cli("import", str(path))
    assert done.returncode == 1
    [line] = done.stderr.decode().splitlines()
    assert line.startswith(f"{path}:3: email: must not start with = + - or @")
    assert active_ids(engine) == []


def test_dry_run_and_replace(contacts_cli: Cli, engine: Engine, tmp_path: Path) -> None:
    full, part = tmp_path / "full.csv", tmp_path / "part.csv"
    full.write_bytes(csv_bytes(tree_rows()))
    part.write_bytes(csv_bytes([row for row in tree_rows() if row["id"] in {"S001", "S002"}]))
    assert contacts_cli("import", str(full)).returncode == 0
    dry = contacts_cli("import", str(part), "--replace", "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    assert dry.stdout.decode().strip() == (
        "created 0, updated 0, unchanged 2, deactivated 3 (dry run: nothing written)"
    )
    assert len(active_ids(engine)) == 5
    assert contacts_cli("import", str(part), "--replace").returncode == 0
    assert active_ids(engine) == ["S001", "S002"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_file_reimports_as_unchanged(
    contacts_cli: Cli, engine: Engine, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "tree.csv"
    source.write_bytes(csv_bytes(tree_rows()))
    assert contacts_cli("import", str(source)).returncode == 0
    exported = tmp_path / f"export.{kind}"
    done = contacts_cli("export", "--format", kind, "--output", str(exported))
    assert done.returncode == 0, done.stderr.decode()
    again = contacts_cli("import", str(exported))
    assert again.stdout.decode().strip() == "created 0, updated 0, unchanged 5, deactivated 0"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Contact)).one() == 5


def test_export_to_stdout_is_csv_in_the_import_columns(contacts_cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "tree.csv"
    source.write_bytes(csv_bytes(tree_rows()))
    contacts_cli("import", str(source))
    done = contacts_cli("export")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode("utf-8").splitlines()
    assert (
        lines[0] == "id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes"
    )
    assert lines[1].startswith("S001,Harriet Oyelaran,")
    assert "S002,Tomasz Wójcik,Inspection readiness lead,s002@example.org,07700 900002" in lines[2]
    assert len(lines) == 6


def test_an_unknown_export_format_is_a_usage_error(contacts_cli: Cli) -> None:
    done = contacts_cli("export", "--format", "pdf")
    assert done.returncode == 2
    assert b"pdf" in done.stderr
