"""At most `REQUEST_CONCURRENCY` requests that may use the database are handled at once; the rest
wait their turn in arrival order (a queue, never a refusal).

Why: a request takes a connection in one worker thread (its API key or session check) and its
next in another. With more requests in flight than the pool has connections, every worker
thread can end up waiting for a connection held by a request that is itself waiting for a
thread, and nothing moves until the pool's 30-second timeout fails them all: 100 intranet
clients at once did exactly that. Letting in only as many requests as the pool can serve (two
sessions each, with room for the background work; Settings checks the sum) keeps every one
moving. Health checks, static files and the dashboard's long-lived event streams (which take a
connection only for a moment each poll) do not wait in the queue."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

NOT_QUEUED_PREFIXES = ("/static/", "/assets/", "/docs/assets/")
NOT_QUEUED_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})
EVENT_STREAM_SUFFIX = "/events"


def queued(path: str) -> bool:
    return not (
        path in NOT_QUEUED_PATHS
        or path.startswith(NOT_QUEUED_PREFIXES)
        or path.endswith(EVENT_STREAM_SUFFIX)
    )


class RequestConcurrency:
    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        """One per event loop: an app can be started more than once (tests do)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not queued(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        async with self._semaphore():
            await self.app(scope, receive, send)
