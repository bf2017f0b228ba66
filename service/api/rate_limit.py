"""A per-key request limit: each API key at most `per_minute` requests in any moving 60 seconds.

Each key keeps the times of its last `per_minute` admitted requests, oldest first: a request is
admitted when the oldest of them is at least a minute old, so the check and the record are each
O(1). A key idle for a minute holds nothing worth keeping and is dropped, so memory follows the
keys in use in the last minute, each at most `per_minute` times.

The counts live in this process: with several replicas behind a load balancer each counts on its
own, and a key may make up to `per_minute` requests a minute at each."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class KeyRateLimit:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time):
        """`per_minute` 0 admits everything. `clock` is the wall clock (seconds), so tests move
        it with time-machine rather than sleeping."""
        self.per_minute = per_minute
        self._clock = clock
        self._admitted: OrderedDict[int, deque[float]] = OrderedDict()
        """Key id → times of its latest admitted requests; least recently seen key first."""
        self._lock = threading.Lock()  # sync routes' dependencies run on a thread pool

    def admit(self, key_id: int) -> int | None:
        """None when the request may go ahead (and it is counted); otherwise the whole seconds
        until this key may call again, for `Retry-After`."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            times = self._admitted.get(key_id)
            if times is None:
                times = self._admitted[key_id] = deque(maxlen=self.per_minute)
            else:
                self._admitted.move_to_end(key_id)
            if len(times) == self.per_minute:
                wait = times[0] + WINDOW_SECONDS - now
                if wait > 0:
                    # A clock set back could make the wait look longer than the window.
                    return max(1, min(math.ceil(wait), int(WINDOW_SECONDS)))
            times.append(now)  # a full deque drops its oldest time
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose latest request is a minute old; the least recently seen come first,
        so the loop stops at the first key still in use (amortised O(1))."""
        while self._admitted:
            key_id, times = next(iter(self._admitted.items()))
            if times and now - times[-1] < WINDOW_SECONDS:
                return
            del self._admitted[key_id]

    def keys_held(self) -> int:
        """How many keys' times are held (for tests of the memory bound)."""
        with self._lock:
            return len(self._admitted)
