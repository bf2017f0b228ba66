"""Test databases built by the migrations, on SQLite and PostgreSQL.

Tests that take `engine` (or anything built on it: `session`, `settings`, `rules`, `client`) run
once per backend. SQLite: each test gets a copy of a migrated file. PostgreSQL: the session
creates its own database (commits not waiting for the disk: `synchronous_commit=off`) and
migrates it once; before each test the tables that hold rows are emptied and the used id
sequences restarted (as `TRUNCATE ... RESTART IDENTITY` would, at a fraction of its cost); the
database is dropped at the end. Without a PostgreSQL server the
PostgreSQL runs skip, except under CI=true, where that is a failure.

Which tests run on PostgreSQL too: mark a module (`pytestmark = pytest.mark.sqlite_only`) or a
test `@pytest.mark.sqlite_only` when a second run on PostgreSQL would prove nothing more, because
what it checks happens before or apart from the database: template rendering and validation,
timetable and working-day arithmetic, request validation and 422 shapes, page rendering and
access checks, CSV and message formatting. Leave it unmarked (both backends) when the database's
own behaviour is part of what is tested: claiming and locking (`FOR UPDATE SKIP LOCKED`),
`ON CONFLICT`, concurrency and races, migrations, the dispatcher, the cascade's writes, imports
(large inserts), idempotency, dialect-specific SQL, and JSON, UUID and time values going in and
out of the database.

The shipped framework and plan files are parsed once per run (their YAML is most of what
`create_app` costs); every test still validates them into its own `Rules`."""

from __future__ import annotations

import copy
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
from service import api_keys, frameworks
from service.config import Settings
from service.db import make_engine, reader, utcnow
from service.main import build_rules, create_app
from service.migrate import upgrade
from service.plan import definitions as plan_definitions
from service.rules import Rules
from tests.processes import create_test_database

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


@pytest.fixture(scope="session", autouse=True)
def shipped_files_parsed_once() -> Iterator[None]:
    """Each shipped framework and plan file is read and parsed once per run, then handed out as
    a fresh copy: the files never change during a run, and their YAML is most of what building
    `Rules` (so every `create_app`) costs. Validation still runs every time; files of a test's
    own FRAMEWORKS_DIR or PLANS_DIR are read as usual."""
    real = frameworks.read_mapping
    shipped = {frameworks.SHIPPED_DIR, plan_definitions.SHIPPED_DIR}
    parsed: dict[Path, dict[str, object]] = {}

    def read_mapping(path: Path, what: str, error: type[ValueError]) -> dict[str, object]:
        if path.parent not in shipped:
            return real(path, what, error)
        if path not in parsed:
            parsed[path] = real(path, what, error)
        return copy.deepcopy(parsed[path])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frameworks, "read_mapping", read_mapping)
        patch.setattr(plan_definitions, "read_mapping", read_mapping)
        yield


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
        create_test_database(connection, name)
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


# Emptying a table by DELETE costs next to nothing when it holds a few rows, where TRUNCATE
# replaces the table's files every time; past this many rows TRUNCATE is the cheaper of the two.
TRUNCATE_FROM_ROWS = 2_000


def empty_postgres(engine: Engine) -> None:
    """Empty every table that holds rows and restart every id sequence that was used, in one
    transaction: the state `TRUNCATE <every table> RESTART IDENTITY` leaves, for the price of one
    query when the last test wrote nothing."""
    tables = SQLModel.metadata.sorted_tables  # parents before children
    probe = " UNION ALL ".join(
        f"SELECT '{t.name}', (SELECT count(*) FROM (SELECT 1 FROM \"{t.name}\" "
        f"LIMIT {TRUNCATE_FROM_ROWS}) AS some_rows) AS n"
        for t in tables
    )
    with engine.begin() as connection:
        rows = dict(connection.exec_driver_sql(probe).all())
        large = [t.name for t in tables if rows[t.name] >= TRUNCATE_FROM_ROWS]
        if large:
            names = ", ".join(f'"{name}"' for name in large)
            connection.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        for table in reversed(tables):  # children first, for the foreign keys
            if 0 < rows[table.name] < TRUNCATE_FROM_ROWS:
                connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
        used = connection.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
            "FROM pg_sequences WHERE last_value IS NOT NULL"
        )
        for (sequence,) in used.all():
            connection.exec_driver_sql(f"ALTER SEQUENCE {sequence} RESTART")


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_url: str) -> Iterator[Engine]:
    """One connection pool for emptying the test database between tests."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes `database_url` runs on each backend, or on SQLite alone when it is
    marked `sqlite_only` (see the module docstring for when that is right)."""
    if "database_url" in metafunc.fixturenames:
        sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize(
            "database_url", BACKENDS[:1] if sqlite_only else BACKENDS, indirect=True
        )


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "inspection-week.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    empty_postgres(request.getfixturevalue("postgres_cleaner"))
    return request.getfixturevalue("postgres_url")


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
    values.setdefault("webhooks_enabled", False)  # tests of webhooks turn their worker on
    values.setdefault("webhook_allow_http", True)  # receivers in tests listen on 127.0.0.1
    values.setdefault("webhook_allow_private", True)
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
                actor="test",
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
