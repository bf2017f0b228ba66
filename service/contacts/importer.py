"""Import the communication tree from a spreadsheet: all or nothing.

The file is CSV (UTF-8 with or without a byte-order mark, Excel's Windows-1252 "CSV" export, or
UTF-16 "Unicode text"; comma-separated, or semicolon/tab when the header has no comma) or .xlsx
(the first sheet). Its first row names the columns, in any order:

    id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes

`reports_to` and `deputy` are ids in the same file or already stored; `groups` and `channels` are
`;`-separated, channels from `email` and `sms` in order of preference (blank = every channel the
person has an address for); a blank `ack_window_minutes` is the default window, 0 cascades at
once. Rows are matched to stored contacts by `id` (upsert); a listed contact who had been
deactivated is active again. Blank rows are skipped.

Every row is checked before anything is written, and every problem is reported as
`{"line": n, "column": "mobile", "message": "..."}` with line numbers as a spreadsheet shows
them (the header is line 1; line 0 is the file as a whole, with column `file`; column "" is
the whole row). One problem anywhere and nothing is written. A reply lists the first
MAX_ERRORS problems by line and counts the rest; a `reports_to` cycle is one problem, on its
first line, and no one may sit more than MAX_DEPTH levels down the tree.

Modes, and what `deactivated` counts:
- merge (the default): the file adds and updates contacts; stored contacts missing from the file
  are left as they are, so `deactivated` is always 0. References may point at stored, active
  contacts outside the file.
- replace (`replace=True`): the file is the whole tree. Stored active contacts missing from the
  file are deactivated (counted in `deactivated`; never deleted), so every `reports_to` and
  `deputy` must name someone in the file. A file with no contacts is refused in this mode
  (it would deactivate everyone).
`dry_run=True` checks and counts exactly as a real import would, and writes nothing.

Writing is bulk: new contacts are inserted without their tree links, then links and changes are
set with executemany updates, which satisfies the self-referencing foreign keys on SQLite and
PostgreSQL whatever order the rows come in. One audit event records the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service import audit_log
from service.contacts.import_file import (
    FILE,
    MAX_ERRORS,
    ImportRejected,
    Problems,
    RowError,
    file_error,
    read_rows,
)
from service.contacts.models import Contact
from service.contacts.service import COLUMNS
from service.contacts.validation import clean_fields

__all__ = ["FILE", "MAX_ERRORS", "ImportCounts", "ImportRejected", "RowError", "read_rows"]

MAX_DEPTH = 50
"""Levels below the top a file may put anyone: far beyond any council's chart, and a bound on
every walk up the tree."""
CHAIN_SHOWN = 10
"""Ids named in a cycle or a too-deep chain; the rest are counted."""
_CHUNK = 1000


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
        }


@dataclass
class _Plan:
    counts: ImportCounts = field(default_factory=ImportCounts)
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)


# Checking ------------------------------------------------------------------------------------


def _stored(session: Session) -> dict[str, dict[str, Any]]:
    table = Contact.__table__  # type: ignore[attr-defined]
    return {row["id"]: dict(row) for row in session.execute(sa.select(table)).mappings()}


def _reference_error(
    target: str, *, in_file: set[str], stored: dict[str, dict[str, Any]], replace: bool
) -> str | None:
    if target in in_file:
        return None
    other = stored.get(target)
    if other is None:
        return f"no contact with id {target!r} in this file or stored"
    if replace:
        return (
            f"{target!r} ({other['name']}) is not in this file, and replace deactivates "
            "everyone who is not"
        )
    if not other["active"]:
        return (
            f"{target!r} ({other['name']}) is deactivated; add them to the file to bring them back"
        )
    return None


def _cycles(parent: dict[str, str | None]) -> list[list[str]]:
    """Every cycle in the `reports_to` graph, each as the ids along it."""
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = finished
    found: list[list[str]] = []
    for start in parent:
        if start in state:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        current: str | None = start
        while current is not None and current not in state:
            state[current] = 1
            position[current] = len(path)
            path.append(current)
            current = parent.get(current)
        if current is not None and state.get(current) == 1:
            found.append(path[position[current] :])
        for ident in path:
            state[ident] = 2
    return found


def _chain(ids: list[str]) -> str:
    """A → B → C, with at most CHAIN_SHOWN ids before "and N more" and the last one."""
    if len(ids) <= CHAIN_SHOWN + 1:
        return " → ".join(ids)
    hidden = len(ids) - CHAIN_SHOWN - 1
    return " → ".join([*ids[:CHAIN_SHOWN], f"… ({hidden} more)", ids[-1]])


def _too_deep(parent: dict[str, str | None], line_of: dict[str, int]) -> list[RowError]:
    """The rows that would sit one level below MAX_DEPTH (once per branch, not again for
    everyone under them), with the chain up to the top. Cycles are left out: they are reported
    on their own."""
    depth: dict[str, int | None] = {}  # None: on or above a cycle
    for start in parent:
        path: list[str] = []
        current: str | None = start
        on_path: set[str] = set()
        while current is not None and current not in depth and current not in on_path:
            on_path.add(current)
            path.append(current)
            current = parent.get(current)
        if current is None:
            base: int | None = 0
        elif current in on_path:
            base = None
        else:
            base = depth[current]
        for ident in reversed(path):
            base = None if base is None else base + 1
            depth[ident] = base
    errors = []
    for ident, line in line_of.items():
        if depth.get(ident) == MAX_DEPTH + 1:
            chain: list[str] = [ident]
            above = parent.get(ident)
            while above is not None:
                chain.append(above)
                above = parent.get(above)
            errors.append(
                RowError(
                    line,
                    "reports_to",
                    f"puts them {MAX_DEPTH + 1} levels down the tree, and it may be at most "
                    f"{MAX_DEPTH} deep: {_chain(chain)}",
                )
            )
    return errors


def plan_changes(
    session: Session, rows: list[tuple[int, dict[str, str]]], *, replace: bool
) -> _Plan:
    """What importing `rows` would change, without writing anything; ImportRejected lists
    every problem."""
    errors = Problems()
    cleaned: list[tuple[int, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    for line, raw in rows:
        values, problems = clean_fields(raw)
        errors.extend(RowError(line, column, message) for column, message in problems)
        ident = values.get("id") or raw.get("id", "").strip()
        if ident:
            if ident in first_line:
                errors.append(
                    RowError(
                        line, "id", f"duplicate id {ident!r} (first on line {first_line[ident]})"
                    )
                )
            else:
                first_line[ident] = line
        cleaned.append((line, values))

    in_file = set(first_line)
    stored = _stored(session)
    for line, values in cleaned:
        for column in ("reports_to", "deputy"):
            target = values.get(column)
            if target is None or target == values.get("id"):
                continue
            problem = _reference_error(target, in_file=in_file, stored=stored, replace=replace)
            if problem:
                errors.append(RowError(line, column, problem))

    parent: dict[str, str | None] = {}
    if not replace:
        for ident, row in stored.items():
            if row["active"] and ident not in in_file:
                parent[ident] = row["reports_to"]
    line_of: dict[str, int] = {}
    for line, values in cleaned:
        ident = values.get("id")
        if ident is None or ident in line_of:
            continue
        line_of[ident] = line
        above = values.get("reports_to")
        parent[ident] = above if above != ident else None
    parent = {ident: (above if above in parent else None) for ident, above in parent.items()}
    for cycle in _cycles(parent):
        lines = [line_of[ident] for ident in cycle if ident in line_of]
        if lines:
            first = min(lines)
            start = next(i for i, ident in enumerate(cycle) if line_of.get(ident) == first)
            around = cycle[start:] + cycle[:start]
            errors.append(
                RowError(
                    first,
                    "reports_to",
                    f"makes a cycle of {len(cycle)} in the tree: {_chain([*around, around[0]])}",
                )
            )
    errors.extend(_too_deep(parent, line_of))

    if errors:
        raise errors.rejected()

    plan = _Plan()
    for _, values in cleaned:
        before = stored.get(values["id"])
        if before is None:
            plan.create.append(values)
            plan.counts.created += 1
        elif before["active"] and all(before[name] == values[name] for name in COLUMNS):
            plan.counts.unchanged += 1
        else:
            plan.update.append(values)
            plan.counts.updated += 1
    if replace:
        plan.deactivate = sorted(
            ident for ident, row in stored.items() if row["active"] and ident not in in_file
        )
        plan.counts.deactivated = len(plan.deactivate)
    return plan


# Writing -------------------------------------------------------------------------------------


def _write(session: Session, plan: _Plan, *, now: datetime) -> None:
    table = Contact.__table__  # type: ignore[attr-defined]
    if plan.create:
        session.execute(
            sa.insert(table),
            [
                {
                    **values,
                    "reports_to": None,
                    "deputy": None,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for values in plan.create
            ],
        )
    changed = [{f"b_{name}": value for name, value in values.items()} for values in plan.update]
    linked = [
        {"b_id": v["id"], "b_reports_to": v["reports_to"], "b_deputy": v["deputy"]}
        for v in plan.create
        if v["reports_to"] is not None or v["deputy"] is not None
    ]
    if changed:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(
                {name: sa.bindparam(f"b_{name}") for name in COLUMNS if name != "id"}
                | {"active": True, "updated_at": now}
            ),
            changed,
        )
    if linked:
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(reports_to=sa.bindparam("b_reports_to"), deputy=sa.bindparam("b_deputy")),
            linked,
        )
    for start in range(0, len(plan.deactivate), _CHUNK):
        chunk = plan.deactivate[start : start + _CHUNK]
        session.execute(
            sa.update(table).where(table.c.id.in_(chunk)).values(active=False, updated_at=now)
        )


def plan_import(session: Session, data: bytes, *, filename: str | None, replace: bool) -> _Plan:
    """Read and check the file once: what importing it would change; ImportRejected lists the
    problems. Nothing is written."""
    rows = read_rows(data, filename)
    if replace and not rows:
        raise file_error("the file has no contacts: replacing with it would deactivate everyone")
    return plan_changes(session, rows, replace=replace)


def import_contacts(
    session: Session,
    data: bytes,
    *,
    filename: str | None = None,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    replace: bool = False,
) -> ImportCounts:
    """Check the whole file, then write all of it (unless `dry_run`) and return the counts;
    ImportRejected listing every problem otherwise. The caller commits."""
    plan = plan_import(session, data, filename=filename, replace=replace)
    if dry_run:
        return plan.counts
    _write(session, plan, now=now)
    if plan.create or plan.update or plan.deactivate:
        audit_log.record(
            session,
            actor=actor,
            action="contacts_imported",
            target="contacts",
            now=now,
            data={
                **plan.counts.as_dict(),
                "mode": "replace" if replace else "merge",
                "file": (filename or "")[:200] or None,
                "created_ids": [v["id"] for v in plan.create],
                "updated_ids": [v["id"] for v in plan.update],
                "deactivated_ids": plan.deactivate,
            },
        )
        session.flush()
    session.expire_all()  # contacts loaded earlier in this session are stale now
    return plan.counts
