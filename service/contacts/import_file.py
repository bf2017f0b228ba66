"""Reading an uploaded tree file into rows, and the problems found on the way: CSV in the
encodings and separators councils' spreadsheets really save, or the first sheet of an .xlsx
checked before it is opened; every record, row count and workbook part bounded, so a hostile
file is refused in bounded time and memory before anything looks at its contents.
`service.contacts.importer` checks and writes what this reads."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

from service.contacts.service import COLUMNS
from service.contacts.workbook_check import WorkbookRefused, check_workbook
from service.contacts.workbook_limits import MAX_RECORD_CHARACTERS, MAX_ROWS

TEXT_EXTENSIONS = {"", ".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
FILE = "file"
"""The column named by problems with the file as a whole."""
MAX_ERRORS = 100
"""Problems listed in one reply; the rest are counted."""
_COLUMN_ORDER = {name: index for index, name in enumerate(("", FILE, *COLUMNS))}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


def _order(error: RowError) -> tuple[int, int, str]:
    return (error.line, _COLUMN_ORDER.get(error.column, 99), error.message)


class Problems:
    """The first MAX_ERRORS problems by line and column, and a count of the rest: a file with a
    problem on every row gets a reply (and holds memory) the size of a page, not of the file."""

    def __init__(self) -> None:
        self._kept: list[RowError] = []
        self.more = 0

    def append(self, error: RowError) -> None:
        self._kept.append(error)
        if len(self._kept) >= 2 * MAX_ERRORS:
            self._trim()

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def _trim(self) -> None:
        self._kept.sort(key=_order)
        self.more += max(0, len(self._kept) - MAX_ERRORS)
        del self._kept[MAX_ERRORS:]

    def __bool__(self) -> bool:
        return bool(self._kept)

    def rejected(self) -> ImportRejected:
        self._trim()
        return ImportRejected(self._kept, more=self.more)


class ImportRejected(Exception):
    """The file was not imported; `errors` lists the first MAX_ERRORS problems by line and
    column, and `more` counts the rest."""

    def __init__(self, errors: Sequence[RowError], *, more: int = 0):
        ordered = sorted(errors, key=_order)
        self.errors = ordered[:MAX_ERRORS]
        self.more = more + len(ordered) - len(self.errors)
        super().__init__(f"{len(self.errors) + self.more} problem(s) in the contacts file")


def file_error(message: str) -> ImportRejected:
    return ImportRejected([RowError(0, FILE, message)])


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees; whole numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise file_error("the file says it is UTF-16 but cannot be read as such") from exc
    if b"\x00" in data[:8192]:
        raise file_error("this is not a CSV or .xlsx file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise file_error(
            "the file's text encoding is not UTF-8 or Windows-1252: save it as 'CSV UTF-8'"
        ) from exc


class _RecordTooLong(Exception):
    pass


class _BoundedLines:
    """The text's lines for csv.reader, refusing a record (one row, line breaks in quoted cells
    included) longer than MAX_RECORD_CHARACTERS before the reader splits it into cells."""

    def __init__(self, text: str):
        self._lines = io.StringIO(text, newline="")
        self.record_characters = 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._lines.readline(MAX_RECORD_CHARACTERS + 1)
        if not line:
            raise StopIteration
        self.record_characters += len(line)
        if self.record_characters > MAX_RECORD_CHARACTERS:
            raise _RecordTooLong
        return line


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data)
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = ","
    if "," not in first_line:
        if "\t" in first_line:
            delimiter = "\t"
        elif ";" in first_line:
            delimiter = ";"
    lines = _BoundedLines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    line = 0
    try:
        for line, row in enumerate(reader, start=1):  # noqa: B007 - line is used after the loop
            lines.record_characters = 0
            yield line, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise ImportRejected([RowError(line + 1, "", f"cannot be read as CSV: {exc}")]) from exc
    except _RecordTooLong as exc:
        raise ImportRejected(
            [
                RowError(
                    line + 1,
                    "",
                    f"is longer than {MAX_RECORD_CHARACTERS:,} characters (a quote left open "
                    "makes the rest of the file one row)",
                )
            ]
        ) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        shape = check_workbook(data)
    except WorkbookRefused as exc:
        raise file_error(str(exc)) from exc
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise file_error(f"this is not a readable .xlsx file ({type(exc).__name__})") from exc
    try:
        if not workbook.worksheets:
            raise file_error("the workbook has no sheets")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong <dimension>; read every row
        try:
            # Only as far as the widest value: openpyxl would pad each row to its last cell,
            # however far right an empty one sits.
            rows = sheet.iter_rows(max_col=max(shape.widest, 1), values_only=True)
            for line, row in enumerate(rows, start=1):
                yield line, [_cell_text(value) for value in row]
        except ImportRejected:
            raise
        except Exception as exc:
            raise file_error(f"the sheet cannot be read ({type(exc).__name__})") from exc
    finally:
        workbook.close()


def _rows(data: bytes, filename: str | None) -> Iterator[tuple[int, list[str]]]:
    suffix = PurePath(filename or "").suffix.lower()
    if not data:
        raise file_error("the file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error("this is an Excel 97-2003 (.xls) file: save it as .xlsx or CSV")
    if data.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise file_error("this is not a readable .xlsx file")
        return _xlsx_rows(data)
    if suffix in XLSX_EXTENSIONS:
        raise file_error("this is not a readable .xlsx file")
    if suffix not in TEXT_EXTENSIONS:
        raise file_error(f"{suffix} files cannot be imported: use CSV or .xlsx")
    return _csv_rows(data)


def read_rows(data: bytes, filename: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (line, {column: text}), blank rows left out (but counted against
    MAX_ROWS); ImportRejected when the file or its header cannot be used, or a row has more
    cells than the header."""
    rows = _rows(data, filename)
    header: list[str] | None = None
    errors = Problems()
    result: list[tuple[int, dict[str, str]]] = []
    for line, cells in rows:
        if line > MAX_ROWS + 1:
            raise ImportRejected(
                [
                    RowError(
                        line,
                        "",
                        f"the file has more than {MAX_ROWS:,} rows after the header "
                        "(blank rows count too)",
                    )
                ]
            )
        if header is None:
            if not any(cells):
                raise _header_missing(line)
            header = [cell.strip().lstrip("\ufeff").lower() for cell in cells]
            while header and not header[-1]:
                header.pop()
            errors.extend(_header_errors(header))
            if errors:
                raise errors.rejected()
            continue
        if not any(cells):
            continue
        if any(cells[len(header) :]):
            errors.append(
                RowError(line, "", f"has more cells than the header's {len(header)} columns")
            )
        result.append(
            (line, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False)))
        )
    if header is None:
        raise _header_missing(1)
    if errors:
        raise errors.rejected()
    return result


def _header_missing(line: int) -> ImportRejected:
    return ImportRejected(
        [RowError(line, "", "the first row must be the header: " + ",".join(COLUMNS))]
    )


def _header_errors(header: list[str]) -> list[RowError]:
    errors = [
        RowError(1, name, f"missing column {name!r} (the header needs {','.join(COLUMNS)})")
        for name in COLUMNS
        if name not in header
    ]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, f"column {name!r} appears twice"))
        elif name not in COLUMNS:
            shown = name or "(blank)"
            errors.append(
                RowError(1, name, f"unknown column {shown!r}; the columns are {','.join(COLUMNS)}")
            )
        seen.add(name)
    return errors
