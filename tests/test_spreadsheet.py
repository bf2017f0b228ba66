"""The one writer of the spreadsheets the service hands out: a cell a spreadsheet would run as a
formula comes out as text, read back with the csv module as a spreadsheet would."""

from __future__ import annotations

import csv
import io

import pytest

from service import spreadsheet


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://example.org")', '\'=HYPERLINK("http://example.org")'),
        ("+447700900123", "'+447700900123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Good = fine", "Good = fine"),
        ("", ""),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(value: str | None, cell: str) -> None:
    assert spreadsheet.safe_cell(value) == cell


def test_every_csv_cell_that_starts_a_formula_is_neutralised_and_the_rest_kept() -> None:
    columns = ("id", "email", "note")
    rows = [
        {"id": "S001", "email": "=1+2@example.org", "note": "-3+4"},
        ("S002", "harriet@example.org", "@SUM(A1)"),
    ]
    content = spreadsheet.write_csv(columns, rows, bom=True)
    assert content.startswith("\ufeff".encode())
    read = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert read == [
        ["id", "email", "note"],
        ["S001", "'=1+2@example.org", "'-3+4"],
        ["S002", "harriet@example.org", "'@SUM(A1)"],
    ]


@pytest.mark.parametrize("text", ["=1+2@example.org", "+cmd", "-1", "@SUM(A1)"])
def test_a_typed_formula_start_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"must not start with = \+ - or @"):
        spreadsheet.refuse_formula_start(text)


def test_ordinary_text_passes_unchanged() -> None:
    assert spreadsheet.refuse_formula_start("Harriet O'Neill-Oyelaran") == (
        "Harriet O'Neill-Oyelaran"
    )
