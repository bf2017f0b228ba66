"""Leadership among replicas on PostgreSQL: `pg_try_advisory_lock` held on a connection of its
own. When the leading process dies its connection closes, the lock is freed, and another process
leads from its next try. The scheduler's tick and the dispatcher each have a key of their own."""

from __future__ import annotations

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = structlog.get_logger(__name__)

HELD_SQL = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND ((classid::bigint << 32) | objid::bigint) = :key)"
)
"""Whether this session holds the leader lock (a bigint key shows as classid, objid, objsubid 1)."""


class LeaderLock:
    """Leadership of one kind of work among replicas. SQLite has one writer at a time anyway,
    so there it always leads."""

    def __init__(self, engine: Engine, key: int, name: str = "scheduler"):
        self._engine = engine
        self.key = key
        self.name = name
        self._connection: Connection | None = None

    @property
    def needed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        if not self.needed:
            return True
        if self._connection is not None:
            if self._still_held(self._connection):
                return True
            self._drop()
        connection = self._engine.connect()
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if held:
            self._connection = connection
            log.info("leader_acquired", work=self.name)
            return True
        connection.close()
        return False

    def _still_held(self, connection: Connection) -> bool:
        """Ask the server, not the pool: a connection that SQLAlchemy quietly reconnected is a new
        session that does not hold the lock. Committing keeps the connection out of an open
        transaction (an idle transaction would hold back VACUUM for as long as we lead)."""
        try:
            held = bool(connection.execute(HELD_SQL, {"key": self.key}).scalar())
            connection.commit()
        except Exception as exc:  # the connection died: so did our lock
            log.warning("leader_connection_lost", work=self.name, error=repr(exc))
            return False
        if not held:
            log.warning("leader_lock_lost", work=self.name)
        return held

    @property
    def held(self) -> bool:
        return not self.needed or self._connection is not None

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except Exception:
                pass
            self._drop()
