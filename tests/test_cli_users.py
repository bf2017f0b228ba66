"""`inspection-week users ...` as an operator runs it, on SQLite and PostgreSQL: the one-time
password printed alone on the last line signs in; refusals name the option and write nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.db import utcnow
from service.users import passwords, sessions
from service.users.models import User
from tests.commands import run_command
from tests.test_cli import assert_clean_failure

UsersCli = Callable[..., subprocess.CompletedProcess[str]]
POLICY = sessions.SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=8))


@pytest.fixture
def users_cli(database_url: str, tmp_path: Path) -> UsersCli:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"DATABASE_URL": database_url}
        return run_command("users", *args, env=env, cwd=tmp_path, stdin=stdin)

    return run


def stored(engine: Engine) -> dict[str, User]:
    with Session(engine, expire_on_commit=False) as session:
        return {u.username: u for u in session.exec(select(User)).all()}


def test_create_prints_a_one_time_password_that_must_be_changed(
    users_cli: UsersCli, engine: Engine
) -> None:
    result = users_cli(
        "create", "--username", "HOyelaran", "--name", "Harriet Oyelaran", "--role", "lead"
    )
    assert result.returncode == 0, result.stderr
    *before, one_time = result.stdout.splitlines()
    assert "'hoyelaran'" in before[0] and "lead" in before[0]
    user = stored(engine)["hoyelaran"]
    assert user.must_change_password and user.display_name == "Harriet Oyelaran"
    assert passwords.verify(one_time, user.password_hash)[0]
    with Session(engine) as session:
        event = session.exec(select(AuditEvent)).one()
        assert (event.actor, event.action, event.target) == ("cli", "user_created", "hoyelaran")


def test_create_with_password_stdin_keeps_that_password(
    users_cli: UsersCli, engine: Engine
) -> None:
    result = users_cli(
        "create",
        "--username",
        "twojcik",
        "--name",
        "Tomasz Wójcik",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="violet teapot harbour\n",
    )
    assert result.returncode == 0, result.stderr
    assert "violet" not in result.stdout and "One-time" not in result.stdout
    user = stored(engine)["twojcik"]
    assert not user.must_change_password
    assert passwords.verify("violet teapot harbour", user.password_hash)[0]


def test_create_refuses_bad_input_naming_each_option(users_cli: UsersCli, engine: Engine) -> None:
    result = users_cli("create", "--username", "x", "--name", " ", "--role", "boss")
    assert_clean_failure(result)
    for option in ("--username", "--name", "--role"):
        assert option in result.stderr
    weak = users_cli(
        "create",
        "--username",
        "twojcik",
        "--name",
        "T W",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="short\n",
    )
    assert_clean_failure(weak)
    assert "--password" in weak.stderr and "12 characters" in weak.stderr
    empty = users_cli(
        "create",
        "--username",
        "twojcik",
        "--name",
        "T W",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="",
    )
    assert_clean_failure(empty)
    assert stored(engine) == {}


def test_list_deactivate_and_set_password(users_cli: UsersCli, engine: Engine) -> None:
    for name, role in (("admin", "admin"), ("hoyelaran", "lead")):
        assert (
            users_cli(
                "create", "--username", name, "--name", name.title(), "--role", role
            ).returncode
            == 0
        )
    listing = users_cli("list")
    assert listing.returncode == 0, listing.stderr
    lines = [line.split("\t") for line in listing.stdout.splitlines()]
    assert [(u, r, s, last) for u, r, s, last, _ in lines] == [
        ("admin", "admin", "active", "never"),
        ("hoyelaran", "lead", "active", "never"),
    ]
    # The last admin stays; a lead can go, and their sessions with them.
    assert_clean_failure(users_cli("deactivate", "admin"))
    with Session(engine) as session:
        token = sessions.start(session, stored(engine)["hoyelaran"], now=utcnow(), policy=POLICY)
        session.commit()
    assert users_cli("deactivate", "HOYELARAN").returncode == 0
    assert not stored(engine)["hoyelaran"].active
    with Session(engine) as session:
        assert sessions.resolve(session, token, now=utcnow(), policy=POLICY) is None
    assert "deactivated" in users_cli("list").stdout
    reset = users_cli("set-password", "admin")
    assert reset.returncode == 0, reset.stderr
    one_time = reset.stdout.splitlines()[-1]
    admin = stored(engine)["admin"]
    assert admin.must_change_password and passwords.verify(one_time, admin.password_hash)[0]
    chosen = users_cli("set-password", "admin", "--password-stdin", stdin="amber lantern orchard")
    assert chosen.returncode == 0, chosen.stderr
    admin = stored(engine)["admin"]
    assert not admin.must_change_password
    assert passwords.verify("amber lantern orchard", admin.password_hash)[0]
    missing = users_cli("set-password", "nobody")
    assert_clean_failure(missing)
    assert "nobody" in missing.stderr
