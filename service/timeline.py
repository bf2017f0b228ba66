"""The inspection's timeline: who did what, when. `log` is the one way to record an event;
`page` reads it back, newest first for the pages and oldest first for the API.

A cascade of 10,000 people writes 10,000 acknowledgements and perhaps as many escalations: read
back, those are folded into one row a minute with a count (asking for their kind shows each
person), so the lead's own changes stay findable."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from service.db import UTCDateTime

FOLDED: dict[str, str] = {
    "cascade_escalated": "{n} people did not acknowledge in time and were escalated",
    "cascade_acknowledged": "{n} people acknowledged",
}
"""Kinds written once per person, with the summary of a minute's worth of them."""
ENTRIES_PER_QUERY = 1000


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=64)
    summary: str = Field(max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


def log(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    actor: str,
    kind: str,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        inspection_id=inspection_id,
        at=now,
        actor=actor,
        kind=kind,
        summary=summary,
        data=data or {},
    )
    session.add(entry)
    return entry


def entries(session: Session, inspection_id: uuid.UUID) -> list[TimelineEntry]:
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.inspection_id == inspection_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    return list(session.exec(query).all())


def kinds_of(session: Session, inspection_id: uuid.UUID) -> list[str]:
    """The kinds this inspection's timeline holds, for a filter's choices."""
    query = select(TimelineEntry.kind).where(TimelineEntry.inspection_id == inspection_id)
    return sorted(session.exec(query.distinct()).all())


@dataclass(frozen=True)
class TimelineRow:
    """One line of the timeline: an entry, or a minute's worth of one per-person kind."""

    at: datetime
    """The entry's moment; for a folded row, the newest in it."""
    kind: str
    newest_id: int
    count: int = 1
    entry: TimelineEntry | None = None
    """The entry itself; None for a folded row."""

    @property
    def summary(self) -> str:
        if self.entry is not None:
            return self.entry.summary
        return FOLDED[self.kind].format(n=self.count)

    @property
    def position(self) -> tuple[datetime, int]:
        """Pass as `before` for the rows older than this one, or as `after` for those newer (a
        keyset: rows written meanwhile neither shift the next page nor repeat on it)."""
        return self.at, self.newest_id


@dataclass(frozen=True)
class TimelinePage:
    rows: list[TimelineRow]
    total: int
    """Rows of the whole timeline (as filtered and folded), not only those after `before`."""
    more: bool
    """More rows follow the last one, in the order read."""


class _Key(NamedTuple):
    at: datetime
    newest_id: int
    kind: str
    count: int


def _folded_keys(
    session: Session,
    inspection_id: uuid.UUID,
    kinds: Collection[str],
    folding: set[str],
    *,
    oldest_first: bool,
) -> list[_Key]:
    """Every row's key, newest first (or oldest first). Reads only three small columns, so a
    tree of 10,000 costs milliseconds; the page then loads the entries it shows."""
    query = sa.select(TimelineEntry.id, TimelineEntry.at, TimelineEntry.kind).where(  # type: ignore[call-overload]
        TimelineEntry.inspection_id == inspection_id
    )
    if kinds:
        query = query.where(col(TimelineEntry.kind).in_(list(kinds)))
    keys: list[_Key] = []
    minutes: dict[tuple[str, datetime], _Key] = {}
    for entry_id, at, kind in session.execute(query).all():
        if kind not in folding:
            keys.append(_Key(at, entry_id, kind, 1))
            continue
        minute = (kind, at.replace(second=0, microsecond=0))
        seen = minutes.get(minute)
        if seen is None:
            minutes[minute] = _Key(at, entry_id, kind, 1)
        else:
            minutes[minute] = _Key(
                max(seen.at, at), max(seen.newest_id, entry_id), kind, seen.count + 1
            )
    keys += minutes.values()
    keys.sort(key=lambda key: (key.at, key.newest_id), reverse=not oldest_first)
    return keys


def _entries(session: Session, ids: list[int]) -> dict[int | None, TimelineEntry]:
    """The entries with these ids, a thousand at a time: a whole timeline read at once would
    pass more ids than a statement may carry (32,766 on SQLite)."""
    found: dict[int | None, TimelineEntry] = {}
    for start in range(0, len(ids), ENTRIES_PER_QUERY):
        chosen = ids[start : start + ENTRIES_PER_QUERY]
        query = select(TimelineEntry).where(col(TimelineEntry.id).in_(chosen))
        found.update((entry.id, entry) for entry in session.exec(query))
    return found


def page(
    session: Session,
    inspection_id: uuid.UUID,
    *,
    kinds: Collection[str] = (),
    before: tuple[datetime, int] | None = None,
    after: tuple[datetime, int] | None = None,
    offset: int = 0,
    limit: int | None = 50,
    fold: bool = True,
    oldest_first: bool = False,
) -> TimelinePage:
    """The timeline newest first (with `oldest_first`, oldest first): only `kinds` when given;
    with `fold`, the per-person kinds (FOLDED) one row a minute, except a kind asked for by
    name. Only rows older than `before` and newer than `after` (rows' `position`s); `offset`
    skips rows after that; `limit` None reads to the end."""
    folding = set(FOLDED) - set(kinds) if fold else set()
    keys = _folded_keys(session, inspection_id, kinds, folding, oldest_first=oldest_first)
    total = len(keys)
    if before is not None:
        keys = [key for key in keys if (key.at, key.newest_id) < before]
    if after is not None:
        keys = [key for key in keys if (key.at, key.newest_id) > after]
    end = None if limit is None else offset + limit
    shown = keys[offset:end]
    entries = _entries(session, [key.newest_id for key in shown if key.count == 1])
    rows = [
        TimelineRow(
            at=key.at,
            kind=key.kind,
            newest_id=key.newest_id,
            count=key.count,
            entry=entries.get(key.newest_id) if key.count == 1 else None,
        )
        for key in shown
    ]
    return TimelinePage(
        rows=[row for row in rows if row.entry is not None or row.count > 1],
        total=total,
        more=end is not None and len(keys) > end,
    )
