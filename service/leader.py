"""Leadership among replicas on PostgreSQL: `pg_try_advisory_lock` held on a connection of its
own. When the leading process dies its connection closes, the lock is freed, and another process
leads from its next try. The scheduler's tick and the dispatcher each have a key of their own.

A leader that stops without dying (frozen, swapped out, cut off by a network that drops packets
rather than refusing them) keeps its socket open, so the server would keep its lock for hours.
The lock's session therefore carries `idle_session_timeout`: the leader touches it at every
check, and when it falls silent for longer the server ends the session and frees the lock."""

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


IDLE_FLOOR_SECONDS = 15.0
"""The least silence after which the server ends a leader's lock session (see `idle_timeout`)."""


def idle_timeout(check_seconds: float) -> float:
    """Three missed checks, and never under IDLE_FLOOR_SECONDS: a long job or a slow moment
    must not cost the lead (though losing it would double nothing: due rows and messages are
    claimed row by row), and a frozen leader must not keep it for long."""
    return max(IDLE_FLOOR_SECONDS, 3 * check_seconds)


class LeaderLock:
    """Leadership of one kind of work among replicas. SQLite has one writer at a time anyway,
    so there it always leads."""

    def __init__(
        self, engine: Engine, key: int, name: str = "scheduler", *, check_seconds: float = 2.0
    ):
        self._engine = engine
        self.key = key
        self.name = name
        self.idle_timeout = idle_timeout(check_seconds)
        """`check_seconds`: how often the holder calls `acquire` (2 s: the dispatcher's)."""
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
            if held and (connection.dialect.server_version_info or (0,)) >= (14,):
                # This session only (it never goes back to the pool): see the module docstring.
                connection.execute(
                    text("SELECT set_config('idle_session_timeout', :ms, false)"),
                    {"ms": str(round(self.idle_timeout * 1000))},
                )
            connection.commit()
        except Exception:
            # Never back to the pool: the session may hold the lock, and a pooled connection
            # holding it would keep every replica, this one included, from leading.
            connection.invalidate()
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
