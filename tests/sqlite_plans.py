"""What SQLite's planner does with a statement the service really sends: the statement is caught
as it is executed, then asked for its plan with the same parameters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def caught(engine: Engine, starts: str) -> Iterator[list[tuple[str, Any]]]:
    """Every statement beginning with `starts` (case-insensitive) run on `engine` inside."""
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(starts.upper()):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The lines of EXPLAIN QUERY PLAN."""
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
