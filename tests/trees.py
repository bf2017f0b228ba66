"""Generated communication trees for process tests and benchmarks: invented people, example.org
addresses and mobiles from Ofcom's drama range (07700 900000-900999, reused beyond 1,000 people,
leaving out the numbers GOV.UK Notify treats specially)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.contacts.models import Contact

NOTIFY_RESERVED = frozenset({0, 1, 2, 3, 111, 222})
"""Drama numbers GOV.UK Notify treats specially: 07700 900000, 900111 and 900222 are its smoke-test
numbers (answered, never stored, no receipt) and 900001-900003 end with set outcomes when sent with
a test key (tests/notify/fake_notify/recipients.py)."""
DRAMA_MOBILES = tuple(f"+447700900{n:03d}" for n in range(1000) if n not in NOTIFY_RESERVED)

FIRST = ["Harriet", "Tomasz", "Priya", "Owen", "Zoë", "Femi", "Aled", "Morag", "Kwame", "Ines"]
LAST = ["Oyelaran", "Wójcik", "Natarajan", "Pritchard", "Ní Bhriain", "Adeyemi", "Rhys", "Baird"]


def tree_rows(
    people: int,
    *,
    now: datetime,
    steering: int = 12,
    depth: int = 4,
    window: int | None = 0,
    channels: tuple[str, ...] = ("email", "sms"),
) -> list[dict[str, Any]]:
    """`people` contacts: `steering` at level 1, then levels filled breadth first down to `depth`,
    each person reporting to one of the level above (round robin), deputised by a peer."""
    branching = 1
    while steering * sum(branching**k for k in range(depth)) < people:
        branching += 1
    levels: list[list[str]] = []
    rows: list[dict[str, Any]] = []
    for level in range(depth):
        size = steering * branching**level if level < depth - 1 else people - len(rows)
        size = min(size, people - len(rows))
        ids = [f"p{len(rows) + i:05d}" for i in range(size)]
        for i, person in enumerate(ids):
            n = len(rows)
            rows.append(
                {
                    "id": person,
                    "name": f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]}",
                    "role": "Steering group" if level == 0 else f"Level {level + 1}",
                    "email": f"{person}@example.org",
                    "mobile": DRAMA_MOBILES[n % len(DRAMA_MOBILES)],
                    "reports_to": levels[-1][i % len(levels[-1])] if levels else None,
                    "deputy": ids[(i + 1) % len(ids)] if len(ids) > 1 else None,
                    "groups": ["steering-group"] if level == 0 else ["all-staff"],
                    "channels": list(channels),
                    "ack_window_minutes": window,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        levels.append(ids)
        if len(rows) >= people:
            break
    return rows


def insert_tree(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """References point at earlier rows or peers; insert without them, then set them."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Contact), [{**row, "reports_to": None, "deputy": None} for row in rows]
        )
        connection.execute(
            sa.update(Contact)
            .where(Contact.id == sa.bindparam("key"))
            .values(reports_to=sa.bindparam("rt"), deputy=sa.bindparam("dep")),
            [{"key": r["id"], "rt": r["reports_to"], "dep": r["deputy"]} for r in rows],
        )
