"""A provider that is down as a whole (refused, no answer, 5xx, its per-minute 429): the
dispatcher holds it rather than failing messages one by one.

A hold grows with each one in a row (exponential backoff with jitter, at most
MOST_HOLD_SECONDS), once per hold however many sends met the outage. Every row claimed meanwhile
goes back unsent, its attempt given back and due at the hold's end: one moment for all, so the
claim's priority order decides what goes first. The first send that succeeds ends the outage, and
every row held for it comes due at once (`release_held`), not when its hold would have ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from service.notify.channels.base import Medium
from service.notify.models import Message, MessageStatus

log = structlog.get_logger(__name__)

MOST_HOLD_SECONDS = 60.0
"""A provider that is down is tried again at least once a minute, however long it has been."""


class Holds:
    """This process's view of which providers are down (in memory: only the leader sends)."""

    def __init__(self, clock: Callable[[], datetime], backoff: Callable[[int], float]):
        self.clock = clock
        self.backoff = backoff
        self._outages: dict[str, tuple[int, datetime]] = {}
        """Provider → (holds in a row, held until)."""
        self._held: dict[str, set[datetime]] = {}
        """The moments rows were held until, per provider."""
        self._recovered: dict[str, frozenset[Medium]] = {}

    def held_until(self, provider: str) -> datetime | None:
        outage = self._outages.get(provider)
        if outage is not None and outage[1] > self.clock():
            return outage[1]
        return None

    def hold(self, provider: str) -> datetime:
        """`provider` failed as a whole: until when it is held (a new, longer hold if the last
        one had ended)."""
        now = self.clock()
        holds, until = self._outages.get(provider, (0, now))
        if until <= now:
            holds += 1
            until = now + timedelta(seconds=min(MOST_HOLD_SECONDS, self.backoff(holds)))
            self._outages[provider] = (holds, until)
            self._held.setdefault(provider, set()).add(until)
            log.warning(
                "provider_unavailable", provider=provider, holds=holds, until=until.isoformat()
            )
        return until

    def succeeded(self, provider: str, media: frozenset[Medium]) -> None:
        if self._outages.pop(provider, None) is not None:
            log.info("provider_available", provider=provider)
            self._recovered[provider] = media

    def take_recovered(self) -> list[tuple[frozenset[Medium], set[datetime]]]:
        """Providers back since the last call: their media and the moments rows wait for."""
        recovered = [(media, self._held.pop(p, set())) for p, media in self._recovered.items()]
        self._recovered.clear()
        return [(media, moments) for media, moments in recovered if moments]


def release_held(
    engine: Engine, *, media: frozenset[Medium], moments: set[datetime], now: datetime
) -> int:
    """A provider is back: the rows held for its outage come due now, not at the hold's end."""
    with Session(engine) as session:
        result = session.execute(
            sa.update(Message)
            .where(col(Message.status) == MessageStatus.queued)
            .where(col(Message.medium).in_(list(media)))
            .where(col(Message.next_attempt_at).in_(list(moments)))
            .values(next_attempt_at=now)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
