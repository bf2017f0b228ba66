"""The delivery worker's HTTP clients: one blocking httpx client a chain, used by its thread
alone, kept for the next chain.

Blocking, because on a busy machine httpx's blocking transport sends several times as many
requests a second as its asyncio one. One a chain, not one shared by every thread: threads
sharing a client queue on its connection pool's lock, which on loopback held 76-82% of a
sending thread's time (py-spy, bench/webhooks.py)."""

from __future__ import annotations

import socket
import threading

import httpx

CLIENT_CONNECTIONS = 4
"""Kept-alive connections of one chain's client: a chain posts to one URL, and the next chain
to take the client may post to another subscription's."""

NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""Headers and body leave at once: with Nagle's algorithm a small body waits for the
receiver's delayed acknowledgement (tens of milliseconds a request)."""


class ChainClients:
    """At most one client per chain in flight (any thread); `len` is how many were made."""

    def __init__(self, *, timeout: float, transport: httpx.BaseTransport | None = None):
        self.timeout = timeout
        self._transport = transport
        self._idle: list[httpx.Client] = []
        self._made: list[httpx.Client] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._made)

    def take(self) -> httpx.Client:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        transport = self._transport or httpx.HTTPTransport(
            limits=httpx.Limits(
                max_connections=CLIENT_CONNECTIONS, max_keepalive_connections=CLIENT_CONNECTIONS
            ),
            socket_options=NO_DELAY,
        )
        client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            transport=transport,
            headers={"user-agent": "inspection-week-webhooks"},
        )
        with self._lock:
            self._made.append(client)
        return client

    def give_back(self, client: httpx.Client) -> None:
        with self._lock:
            if client in self._made:  # not closed by `close` while it was sending
                self._idle.append(client)

    def forget_all(self) -> list[httpx.Client]:
        """Every client made, for the caller to close; none is handed out again."""
        with self._lock:
            made, self._made, self._idle = self._made, [], []
        return made
