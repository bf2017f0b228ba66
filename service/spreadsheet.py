"""The one writer of the spreadsheets the service hands out (CSV and .xlsx), and the one rule for
what a spreadsheet would run as a formula.

OWASP "CSV Injection": Excel and LibreOffice run a cell that starts with = + - @ (or a tab or
carriage return before one of them) as a formula, so an exported cell starting with any of those
gets a single quote in front, which both show as text. At input, fields that can never need such a
start (e-mail addresses, people's names) refuse it (`refuse_formula_start`), so the export guard is
the second line, not the only one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""OWASP's list of first characters a spreadsheet may run as a formula."""
TYPED_FORMULA_START = ("=", "+", "-", "@")
"""The printable ones: what a person could type at the start of a field."""


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a formula start gets a single quote in front."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def refuse_formula_start(text: str, *, what: str = "") -> str:
    """`text` unchanged, or ValueError when it starts as a formula would (names, addresses)."""
    if text.startswith(TYPED_FORMULA_START):
        raise ValueError(
            f"{what}must not start with = + - or @ (spreadsheets would run it as a formula)"
        )
    return text


def write_csv(
    columns: Sequence[str], rows: Iterable[Sequence[object] | Mapping[str, object]], *, bom: bool
) -> bytes:
    """A header and rows (sequences, or mappings by column name) as CSV with CRLF rows, every
    cell through `safe_cell`. With a byte-order mark Excel opens it as UTF-8."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in columns])
    for row in rows:
        values = [row.get(name) for name in columns] if isinstance(row, Mapping) else row
        writer.writerow([safe_cell(value) for value in values])
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def write_xlsx(
    sheet_name: str, columns: Sequence[str], rows: Iterable[Mapping[str, object]]
) -> bytes:
    """The same as .xlsx, every cell stored as text: a leading = is never a formula there, and a
    staff number keeps its leading zeros, so no quote is needed."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)

    def text_cells(values: Iterable[object]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            text = "" if value is None else str(value)
            cell = WriteOnlyCell(sheet, value=text or None)
            if text:
                cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(text_cells(columns))
    for row in rows:
        sheet.append(text_cells(row.get(name) for name in columns))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
