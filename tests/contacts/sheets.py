"""Contact spreadsheets built in the test: CSV bytes and real .xlsx files (openpyxl), and a
small tree of invented people."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import openpyxl

from service.contacts.service import COLUMNS
from service.contacts.validation import national_mobile
from tests.trees import DRAMA_MOBILES

HEADER = list(COLUMNS)

TREE: list[dict[str, Any]] = [
    # A child before its manager, on purpose: the import must not depend on row order.
    {
        "id": "S020",
        "name": "Olumide Fairbairn",
        "role": "Team manager",
        "reports_to": "S010",
        "deputy": "S011",
        "groups": "People;All staff",
        "mobile": "07700 900020",
    },
    {
        "id": "S001",
        "name": "Harriet Oyelaran",
        "role": "Director of Children's Services",
        "groups": "Steering group",
        "mobile": "07700 900001",
        "ack_window_minutes": "0",
    },
    {
        "id": "S002",
        "name": "Tomasz Wójcik",
        "role": "Inspection readiness lead",
        "deputy": "S001",
        "groups": "Steering group",
        "channels": "sms;email",
        "mobile": "+44 7700 900002",
    },
    {
        "id": "S010",
        "name": "Priya Raman",
        "role": "Head of service",
        "reports_to": "S001",
        "deputy": "S011",
        "groups": "People",
        "mobile": "07700-900-010",
        "ack_window_minutes": "30",
    },
    {
        "id": "S011",
        "name": "Eilidh Baptiste",
        "role": "Service manager",
        "reports_to": "S001",
        "groups": "People;Communities",
        "channels": "email",
    },
]
"""Levels: S001 and S002 at 1; S010 and S011 at 2; S020 at 3."""


def person(ident: str, name: str, **fields: Any) -> dict[str, Any]:
    """A row with an example.org email unless one is given."""
    row: dict[str, Any] = {"id": ident, "name": name}
    row.setdefault("email", f"{ident.lower()}@example.org")
    row.update(fields)
    return row


def big_tree(size: int, role: str = "Social worker") -> list[dict[str, Any]]:
    """Ten steering-group members, then each person reporting to someone ten rows up (four
    levels from 1,001 people on)."""
    rows = []
    for n in range(size):
        rows.append(
            person(
                f"E{n:05d}",
                f"Person {n:05d}",
                role=role,
                mobile=national_mobile(DRAMA_MOBILES[n % len(DRAMA_MOBILES)]),
                reports_to="" if n < 10 else f"E{n // 10:05d}",
                deputy="" if n < 10 else f"E{n - 1:05d}",
                groups="All staff;People" if n % 2 else "All staff",
            )
        )
    return rows


def tree_rows() -> list[dict[str, Any]]:
    return [{"email": f"{row['id'].lower()}@example.org", **row} for row in TREE]


def _cells(row: Mapping[str, Any] | Sequence[Any], header: Sequence[str]) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(name, "") for name in header]
    return list(row)


def csv_bytes(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    *,
    header: Sequence[str] = HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
    errors: str = "strict",
) -> bytes:
    """A CSV file; a row may be a mapping by column or a raw list of cells ([] = blank line)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_cells(row, header))
    return buffer.getvalue().encode(encoding, errors=errors)


def xlsx_bytes(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]], *, header: Sequence[str] = HEADER
) -> bytes:
    """A real .xlsx workbook, as Excel would save it; blank strings become empty cells."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet.append(list(header))
    for row in rows:
        sheet.append([None if value == "" else value for value in _cells(row, header)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
