""" "Changes nothing", checked on every table: a refused request must leave every row of every
table (all of SQLModel.metadata) as it was, not just the few a test thought of."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import service.models  # noqa: F401  (every table registered on the metadata)

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every table's rows, in primary-key order (each row as a tuple of its column values)."""
    tables: Snapshot = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per changed table, the rows that went and the rows that came (a changed row is both)."""
    found = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, []), after.get(name, [])
        if old != new:
            found[name] = {
                "gone": [row for row in old if row not in new],
                "new": [row for row in new if row not in old],
            }
    return found


def assert_unchanged(engine: Engine, before: Snapshot) -> None:
    changed = changes(before, snapshot(engine))
    assert not changed, f"rows changed: {changed}"
