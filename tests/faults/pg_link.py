"""Faults on the way to PostgreSQL, for tests on loopback only: a relay between one process and
the server that a test can cut and mend, and the server-side view of who holds which lock.

Cutting the relay closes both ends of every connection through it and refuses new ones, so the
process behind it loses its database while it stays alive, and the server ends that process's
sessions (and frees their advisory locks) as soon as it sees the socket close."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


class Link:
    """A TCP relay on 127.0.0.1 in front of the PostgreSQL server at `target`; `hold` seconds
    each way make it a database on another machine (`bench/db_hop.py`)."""

    def __init__(self, target: tuple[str, int], *, hold: float = 0.0, port: int = 0):
        self.target = target
        self.hold = hold
        self._guard = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = port
        self.cuts = 0
        self.mend()

    def url(self, database_url: str, application_name: str) -> str:
        """`database_url` reached through this relay, its sessions named `application_name`."""
        url = sa.make_url(database_url).set(host="127.0.0.1", port=self.port)
        url = url.update_query_dict({"application_name": application_name})
        return url.render_as_string(hide_password=False)

    def mend(self) -> None:
        """Listen (again, on the same port) and relay every new connection."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._guard:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and close every open one, both ends."""
        with self._guard:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
            self.cuts += 1
        if listener is not None:
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._guard:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for sock in (client, server):  # a held chunk is not held again by Nagle's algorithm
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if self.hold:
                    time.sleep(self.hold)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def links(count: int, target: tuple[str, int]) -> Iterator[list[Link]]:
    made = [Link(target) for _ in range(count)]
    try:
        yield made
    finally:
        for link in made:
            link.close()


def server_address(database_url: str) -> tuple[str, int]:
    url = sa.make_url(database_url)
    return (url.host or "127.0.0.1", url.port or 5432)


ADVISORY_HOLDERS = sa.text(
    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
)


def lock_holders(engine: sa.Engine, key: int) -> list[tuple[int, str]]:
    """(pid, application_name) of the sessions holding advisory lock `key` in this database."""
    with engine.connect() as connection:
        return [
            (int(pid), str(name))
            for pid, name in connection.execute(ADVISORY_HOLDERS, {"key": key})
        ]


def terminate(engine: sa.Engine, *pids: int) -> int:
    """`pg_terminate_backend` each session; how many the server ended."""
    with engine.connect() as connection:
        ended = sum(
            bool(
                connection.execute(
                    sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
                ).scalar()
            )
            for pid in pids
        )
        connection.commit()
    return ended


def terminate_sessions_of(engine: sa.Engine, application_name: str) -> int:
    """End every session of one process (as named by its `application_name`) in this database."""
    with engine.connect() as connection:
        ended = connection.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = :name"
                " AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        ).scalar()
        connection.commit()
    return int(ended or 0)
