"""Test databases built by the migrations, on SQLite and PostgreSQL.

Tests that take `engine` (or anything built on it) run once per backend. SQLite: each test gets a
copy of a migrated file. PostgreSQL: the session creates its own database, migrates it once and
empties every table before each test; it is dropped at the end. Without a PostgreSQL server the
PostgreSQL runs skip, except under CI=true, where that is a failure."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import service.models  # noqa: F401
from service import api_keys
from service.config import Settings
from service.db import make_engine, reader, utcnow
from service.inspections.service import Rules
from service.main import build_rules, create_app
from service.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return repr(exc)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closing folds the WAL back into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_ADMIN_URL} does not answer: {problem}")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
    name = f"iw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "inspection-week.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """Reads begin deferred on SQLite (like the read-only routes), so a test that looks at the
    database between requests never holds the writer's lock; writes upgrade as usual."""
    with Session(reader(engine), expire_on_commit=False) as session:
        yield session


def make_settings(**values: object) -> Settings:
    """Settings for tests: never read a developer's .env file."""
    values.setdefault("scheduler_enabled", False)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def rules(settings: Settings) -> Rules:
    return build_rules(settings)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_key(engine: Engine) -> Callable[..., str]:
    """Create an API key with the given scopes; returns the raw key."""

    def make(*scopes: str, name: str | None = None) -> str:
        with Session(engine) as session:
            _, raw = api_keys.create(
                session,
                name=name or f"key-{uuid.uuid4().hex[:8]}",
                scopes=list(scopes),
                now=utcnow(),
            )
            session.commit()
        return raw

    return make


@pytest.fixture
def auth(make_key: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """Authorization headers for a fresh key with the given scopes (default: write)."""

    def headers(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_key(*(scopes or ('inspections:write',)))}"}

    return headers


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2, at the cheapest parameters: for tests that sign in many times (the service's
    own cost is about a tenth of a second a check on purpose, to slow down guessing)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from service.users import passwords

    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(passwords, "_hasher", cheap)
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()
