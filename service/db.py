"""Engine, sessions and the UTC datetime column type, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out: SQLite keeps no offset, so we restore it."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Accept the usual postgres spellings and always use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Statement parameters (people's addresses and numbers) are left out of every error's
    text, so no traceback or reply can carry them."""
    kwargs.setdefault("hide_parameters", True)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:  # one connection for the whole in-memory database: no pool to size
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _serialise_sqlite_writers(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


class SQLiteInUse(RuntimeError):
    """Another `serve` already runs on this SQLite file."""


def hold_sqlite_file(url: str) -> IO[str] | None:
    """Refuse a second `serve` on one SQLite file: keep an exclusive lock on `<file>.lock` for
    the life of this process (the kernel frees it when the process ends, even by SIGKILL, so no
    stale lock is ever left). Two serving processes on one file are not safe: each would run the
    dispatcher, whose start takes every message still `sending` for a dead process's (the other
    one's, here), and each would keep Notify's rate limit for itself. One-off commands (`migrate`,
    `api-keys create`) take no lock: SQLite's own locking orders their short writes. Returns the
    open lock file (keep it), or None for PostgreSQL and in-memory databases."""
    parsed = make_url(normalise_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if sys.platform == "win32":  # no flock; the container and servers are Linux
        return None
    import fcntl

    path = Path(database).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(f"{path}.lock", "a+", encoding="utf-8")  # noqa: SIM115 -- held until exit
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise SQLiteInUse(
            f"another `inspection-week serve` (pid {holder}) is already serving the SQLite "
            f"database {path}: SQLite serves one process. Stop that one first, or set "
            "DATABASE_URL to PostgreSQL to run several replicas."
        ) from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


READ_ONLY_OPTION = "inspection_week_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite a plain (deferred) BEGIN, so that a page
    or a report being read never holds the writer's lock; WAL readers do not block writers."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


URGENT_WRITER_OPTION = "inspection_week_urgent_writer"


def urgent_writer(engine: Engine) -> Engine:
    """The same engine for short writes that others wait on (the dispatcher's claims and
    outcomes): on SQLite, other writers let it begin first (`_WriterQueue`)."""
    return engine.execution_options(**{URGENT_WRITER_OPTION: True})


class _WriterQueue:
    """SQLite's busy handler is not a queue: a writer waiting on the lock sleeps and looks again,
    and one that writes transaction after transaction (a cascade's due jobs) takes the lock back
    the moment it lets go, so a waiting writer could wait for the whole cascade. Here an ordinary
    writer does not begin while an urgent one is waiting (at most `MAX_WAIT` seconds)."""

    MAX_WAIT = 1.0

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._urgent = 0

    def urgent_begins(self) -> None:
        with self._changed:
            self._urgent += 1

    def urgent_began(self) -> None:
        with self._changed:
            self._urgent -= 1
            self._changed.notify_all()

    @property
    def urgent_waiting(self) -> bool:
        return self._urgent > 0

    def ordinary_begins(self) -> None:
        if not self._urgent:  # the common case: nobody urgent waits, no lock taken
            return
        with self._changed:
            self._changed.wait_for(lambda: self._urgent == 0, timeout=self.MAX_WAIT)


_WRITERS_INFO = "inspection_week_writers"


def urgent_writer_waiting(session: Session | sa.Connection) -> bool:
    """Whether an urgent writer (a send's claim or outcome) waits for the SQLite lock that this
    session's (or connection's) transaction holds: a long run of work in one transaction (a
    cascade's releases) commits early for it. Never on PostgreSQL, whose writers lock rows, not
    the database."""
    connection = session if isinstance(session, sa.Connection) else session.connection()
    writers = connection.info.get(_WRITERS_INFO)
    return writers is not None and writers.urgent_waiting


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLAlchemy's documented pysqlite recipe: WAL, and BEGIN IMMEDIATE so that two writers
    queue on the busy timeout instead of failing when a read transaction upgrades to a write."""
    writers = _WriterQueue()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        record.info[_WRITERS_INFO] = writers
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        elif options.get(URGENT_WRITER_OPTION):
            writers.urgent_begins()
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                writers.urgent_began()
        else:
            writers.ordinary_begins()
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def utcnow() -> datetime:
    """The clock, for the edges only (requests, ticks); everything else takes `now`."""
    return datetime.now(UTC)


def refresh_statistics(session: Session, table: sa.Table, *, adding: int) -> None:
    """Refresh PostgreSQL's statistics of a table about to grow by `adding` rows or more, when
    that is more than it knows of. Its planner plans from them, and autovacuum refreshes them
    up to a minute after a large change: on a first cascade the tree's thousands of new rows,
    planned as the none there had been, made every release's update of them about ten times
    slower (6 ms a group where 0.5 ms will do), and the dispatcher's claims three times slower.
    ANALYZE in the writing transaction counts the rows it wrote, and its figures commit with
    them; a table the planner already knows large enough is left to autovacuum. A role that
    does not own the table gets PostgreSQL's warning and no refresh, never an error. SQLite's
    planner needs none."""
    if session.get_bind().dialect.name != "postgresql":
        return
    known = session.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
        {"name": table.name},
    ).scalar()
    if known is None or known < adding:
        session.execute(sa.text(f'ANALYZE "{table.name}"'))


def insert_many(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], *, skip_conflicts: bool = False
) -> None:
    """Insert many rows with one driver-level executemany, in the session's transaction.

    SQLAlchemy's bulk insert builds its parameters row by row through the compiler, which is
    most of the time an announce spends writing a 10,000-person tree; here each column's bind
    processor (UUIDs, JSON, UTC times) is looked up once and applied in a plain loop. Every row
    must have the same keys. `skip_conflicts` leaves out rows that break a unique constraint
    (ON CONFLICT DO NOTHING, on both databases): the one insert-or-ignore of the service, which
    makes a repeated message or due row a no-op."""
    if not rows:
        return
    session.flush()  # rows below may refer to objects still pending in the session
    connection = session.connection()
    dialect = connection.dialect
    names = tuple(rows[0])
    sql, order, processors = _insert_sql(table, names, dialect, skip_conflicts)
    columns: dict[str, list[Any]] = {}
    for name in names:
        process = processors[name]
        if process is None:
            columns[name] = [row[name] for row in rows]
        else:
            columns[name] = [None if row[name] is None else process(row[name]) for row in rows]
    if order is not None:
        params: list[Any] = list(zip(*(columns[name] for name in order), strict=True))
    else:
        rows_of_values = zip(*columns.values(), strict=True)
        params = [dict(zip(names, values, strict=True)) for values in rows_of_values]
    connection.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=256)
def _insert_sql(
    table: sa.Table, names: tuple[str, ...], dialect: sa.Dialect, skip_conflicts: bool
) -> tuple[str, list[str] | None, dict[str, Any]]:
    """The statement, its positional order (None when named) and each column's bind processor,
    for one table and set of columns: compiling them took about 240 µs each time, and a cascade's
    release makes two small inserts per group of people."""
    compiled = (
        table.insert()
        .inline()  # no RETURNING of generated keys: executemany cannot carry one
        .values({name: sa.bindparam(name) for name in names})
        .compile(dialect=dialect)
    )
    processors = {
        name: table.c[name].type._cached_bind_processor(dialect)  # noqa: SLF001
        for name in names
    }
    order = list(compiled.positiontup or []) if compiled.positional else None
    sql = str(compiled) + (" ON CONFLICT DO NOTHING" if skip_conflicts else "")
    return sql, order, processors
