"""The fake's own clock: this machine's time plus an offset tests move, so that a test can put the
server 45 seconds out, cross midnight UTC (daily limits start again) or let 72 hours pass (messages
with no final status time out). Tokens are checked against it too, as Notify checks them against
its own: a test that moves it signs its tokens with `now()`."""

from __future__ import annotations

import threading
import time
from datetime import datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset = float(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += float(seconds)

    def set(self, moment: datetime | float) -> None:
        """From now on the clock reads `moment` (and runs on from it)."""
        target = moment.timestamp() if isinstance(moment, datetime) else float(moment)
        with self._lock:
            self._offset = target - time.time()
