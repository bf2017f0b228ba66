"""Look inside an .xlsx before openpyxl opens it: a spreadsheet bomb is refused in the time it
takes to read what it really holds, not what it unpacks to.

A 3 KB workbook can declare a cell in column XFD on 20,000 rows (openpyxl then pads every row
to 16,384 cells), and a 50 KB one can unpack to a shared-strings table of millions of entries
(openpyxl loads it whole). So the zip's directory is checked against the limits in
workbook_limits first (number of parts, each part's unpacked size, their total; zipfile never
unpacks more than a part declares), then every worksheet is streamed once, keeping one row at a
time, to count its rows and cells and find its widest value, and the shared strings are counted
against the cells that use them. defusedxml refuses entity tricks in any part."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from service.contacts.workbook_limits import (
    MAX_COLUMNS,
    MAX_OTHER_PART_BYTES,
    MAX_PARTS,
    MAX_ROW_WIDTH,
    MAX_ROWS,
    MAX_SHARED_STRINGS_BYTES,
    MAX_SHEET_BYTES,
    MAX_TOTAL_BYTES,
    SHARED_STRINGS_SLACK,
)

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_WORKSHEET, _SHEET_DATA, _ROW, _CELL = (
    f"{_MAIN}{n}" for n in ("worksheet", "sheetData", "row", "c")
)
_SST, _STRING = f"{_MAIN}sst", f"{_MAIN}si"
_VALUES = {f"{_MAIN}v", f"{_MAIN}is", f"{_MAIN}f"}
_REFERENCE = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")
_MB = 1024 * 1024
MAX_NESTING = 100
"""Elements open at once in any part; a workbook nests about ten deep."""


class WorkbookRefused(ValueError):
    """The workbook breaks a limit; the message says which, fit to show the person importing."""


@dataclass
class WorkbookShape:
    widest: int = 0
    """The last column holding a value in any sheet (0: none)."""
    string_cells: int = 0


def column_name(index: int) -> str:
    name = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def _size(size: int) -> str:
    return f"{size / _MB:.1f} MB" if size >= _MB else f"{size:,} bytes"


def check_workbook(data: bytes) -> WorkbookShape:
    """The shape of a workbook within every limit; WorkbookRefused otherwise."""
    try:
        return _check(data)
    except WorkbookRefused:
        raise
    except Exception as exc:  # zipfile and zlib raise many kinds for a damaged file
        raise WorkbookRefused(f"this is not a readable .xlsx file ({type(exc).__name__})") from exc


def _check(data: bytes) -> WorkbookShape:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise WorkbookRefused("this is not a readable .xlsx file") from exc
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise WorkbookRefused(
                f"the workbook holds {len(parts)} parts; a contacts workbook needs far fewer "
                f"(at most {MAX_PARTS})"
            )
        total = 0
        for part in parts:
            if part.file_size > MAX_SHEET_BYTES:
                raise WorkbookRefused(
                    f"part {part.filename[:100]!r} unpacks to {_size(part.file_size)}, more than "
                    f"the {_size(MAX_SHEET_BYTES)} a contacts workbook may hold in one part"
                )
            total += part.file_size
        if total > MAX_TOTAL_BYTES:
            raise WorkbookRefused(
                f"the workbook unpacks to {_size(total)}, more than the {_size(MAX_TOTAL_BYTES)} "
                "a contacts workbook may hold"
            )
        shape = WorkbookShape()
        string_tables: list[zipfile.ZipInfo] = []
        for part in parts:
            if _scan_part(archive, part, shape):
                string_tables.append(part)
        for part in string_tables:
            _count_strings(archive, part, shape.string_cells + SHARED_STRINGS_SLACK)
    return shape


def _events(source: IO[bytes], name: str) -> Iterator[tuple[str, Element]]:
    """Start and end events with every finished element dropped from its parent, so memory holds
    only the open path (kept to MAX_NESTING deep), however long the part."""
    open_path: list[Element] = []
    try:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                open_path.append(element)
                if len(open_path) > MAX_NESTING:
                    raise WorkbookRefused(f"part {name[:100]!r} is nested too deeply")
                yield event, element
                continue
            open_path.pop()
            yield event, element
            element.clear()
            if open_path:
                open_path[-1].remove(element)
    except DefusedXmlException as exc:
        raise WorkbookRefused(
            f"part {name[:100]!r} uses XML entities, which no workbook needs"
        ) from exc


def _scan_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo, shape: WorkbookShape) -> bool:
    """Check one part by what its root element says it is; True for a shared-strings table
    (counted once every sheet has been, against the cells that use it)."""
    name = part.filename
    with archive.open(part) as source:
        events = _events(source, name)
        try:
            _, root = next(events)
        except (ParseError, StopIteration, zipfile.BadZipFile, EOFError, OSError):
            return False  # not XML (an image, say): openpyxl does not read it in read-only mode
        if root.tag == _WORKSHEET:
            # A damaged sheet is left to openpyxl, which says it cannot read it, and why.
            with contextlib.suppress(ParseError, zipfile.BadZipFile, EOFError, OSError):
                _scan_sheet(events, shape)
            return False
        if root.tag == _SST:
            if part.file_size > MAX_SHARED_STRINGS_BYTES:
                raise WorkbookRefused(
                    f"the shared strings unpack to {_size(part.file_size)}, more than the "
                    f"{_size(MAX_SHARED_STRINGS_BYTES)} a contacts workbook may hold"
                )
            return True
    if part.file_size > MAX_OTHER_PART_BYTES:
        raise WorkbookRefused(
            f"part {name[:100]!r} unpacks to {_size(part.file_size)}, more than the "
            f"{_size(MAX_OTHER_PART_BYTES)} a contacts workbook may hold in it"
        )
    return False


def _scan_sheet(events: Iterator[tuple[str, Element]], shape: WorkbookShape) -> None:
    """Rows (blank or not, and the gaps between them) against MAX_ROWS, cells per row, and any
    value past MAX_COLUMNS."""
    row_number = 0
    column = 0
    cells = 0
    has_value = False
    for event, element in events:
        tag = element.tag
        if event == "start":
            if tag == _ROW:
                row_number = _row_number(element.get("r"), row_number + 1)
                if row_number > MAX_ROWS + 1:
                    raise WorkbookRefused(
                        f"the sheet goes on to row {row_number:,}; a contacts file may have at "
                        f"most {MAX_ROWS:,} rows after the header, blank rows included"
                    )
                column = 0
                cells = 0
            elif tag == _CELL:
                has_value = False
            continue
        if tag in _VALUES:
            has_value = True
        elif tag == _CELL:
            cells += 1
            column = _cell_column(element.get("r"), column + 1)
            if cells > MAX_ROW_WIDTH or column > MAX_ROW_WIDTH:
                raise WorkbookRefused(
                    f"row {row_number:,} of the sheet has cells beyond column "
                    f"{column_name(MAX_ROW_WIDTH)}, even if empty: a contacts file uses the "
                    f"first {MAX_COLUMNS} columns at most"
                )
            if has_value:
                if column > MAX_COLUMNS:
                    raise WorkbookRefused(
                        f"cell {column_name(column)}{row_number} has a value, beyond column "
                        f"{column_name(MAX_COLUMNS)}: a contacts file uses the first "
                        f"{MAX_COLUMNS} columns at most"
                    )
                shape.widest = max(shape.widest, column)
                if element.get("t") == "s":
                    shape.string_cells += 1


def _row_number(reference: str | None, default: int) -> int:
    if reference and reference.isdigit() and len(reference) <= 9:
        return int(reference)
    return default


def _cell_column(reference: str | None, default: int) -> int:
    found = _REFERENCE.fullmatch(reference or "")
    return _column_index(found.group(1)) if found else default


def _count_strings(archive: zipfile.ZipFile, part: zipfile.ZipInfo, limit: int) -> None:
    """Stop at the first string past `limit`: a table bigger than the cells using it is a bomb."""
    count = 0
    with archive.open(part) as source:
        try:
            for event, element in _events(source, part.filename):
                if event == "end" and element.tag == _STRING:
                    count += 1
                    if count > limit:
                        raise WorkbookRefused(
                            f"the workbook's shared strings hold more than {limit:,} entries, "
                            "more than its cells use"
                        )
        except (ParseError, zipfile.BadZipFile, EOFError, OSError):
            return  # openpyxl says it cannot read the workbook, and why
