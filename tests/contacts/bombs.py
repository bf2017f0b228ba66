"""Hostile contacts files, small on the wire and huge once read: built in the test from a real
openpyxl workbook with one part swapped or added, as an attacker would."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from tests.contacts.sheets import HEADER, person, xlsx_bytes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)


def _header_row() -> str:
    cells = "".join(
        f'<c r="{chr(65 + n)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for n, name in enumerate(HEADER)
    )
    return f'<row r="1">{cells}</row>'


def sheet_xml(rows: str, *, header: bool = True) -> bytes:
    body = (_header_row() if header else "") + rows
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
        f"<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def workbook(replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """A one-person workbook saved by openpyxl, with parts replaced or added (deflated)."""
    base = xlsx_bytes([person("S001", "Harriet Oyelaran")])
    replace = replace or {}
    add = add or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = replace.get(info.filename, source.read(info.filename))
            if info.filename == "[Content_Types].xml" and STRINGS in add:
                data = data.replace(b"</Types>", STRINGS_TYPE + b"</Types>")
            target.writestr(info.filename, data)
        for name, data in add.items():
            target.writestr(name, data)
    return out.getvalue()


def far_right_bomb(rows: int = 20_000) -> bytes:
    """A header, then `rows` rows each holding one empty cell in the last column Excel has
    (XFD): openpyxl pads each to 16,384 cells."""
    cells = "".join(f'<row r="{n}"><c r="XFD{n}" s="0"/></row>' for n in range(2, rows + 2))
    return workbook(replace={SHEET: sheet_xml(cells)})


def far_down_bomb(row: int = 1_000_000) -> bytes:
    """One value on row `row`: openpyxl yields every row before it."""
    cells = f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>S001</t></is></c></row>'
    return workbook(replace={SHEET: sheet_xml(cells)})


def shared_strings_bomb(count: int, item: bytes = b"<si><t>x</t></si>") -> bytes:
    """A one-person sheet with a shared-strings table of `count` entries no cell uses."""
    table = f'<?xml version="1.0"?><sst xmlns="{MAIN}">'.encode() + item * count + b"</sst>"
    return workbook(add={STRINGS: table})


def zip_bomb_part(size: int, name: str = "xl/styles.xml") -> bytes:
    """A styles part of `size` bytes, mostly spaces (it deflates about a thousand to one)."""
    start, end = f'<styleSheet xmlns="{MAIN}">'.encode(), b"</styleSheet>"
    return workbook(replace={name: start + b" " * (size - len(start) - len(end)) + end})


def many_parts(count: int) -> bytes:
    return workbook(add={f"customXml/item{n}.xml": b"<a/>" for n in range(count)})


def shared_strings_workbook(rows: list[dict[str, str]]) -> bytes:
    """A workbook as Excel saves one: every text cell a reference into the shared strings
    (openpyxl writes its own cells inline, so this path needs a hand-made sheet)."""
    strings: list[str] = list(HEADER)
    cells = ["".join(f'<c r="{chr(65 + n)}1" t="s"><v>{n}</v></c>' for n in range(len(HEADER)))]
    for number, row in enumerate(rows, start=2):
        line = []
        for n, name in enumerate(HEADER):
            if row.get(name):
                line.append(f'<c r="{chr(65 + n)}{number}" t="s"><v>{len(strings)}</v></c>')
                strings.append(row[name])
        cells.append(f'<row r="{number}">{"".join(line)}</row>')
    sheet = "".join(cells[1:])
    header = f'<row r="1">{cells[0]}</row>'
    table = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
        + "</sst>"
    )
    return workbook(
        replace={SHEET: sheet_xml(header + sheet, header=False)}, add={STRINGS: table.encode()}
    )
