"""Spreadsheet bombs: small files that unpack or pad out to something huge are refused with a
clear problem on line 0 (or the row it concerns), quickly and in little memory, before openpyxl
opens them; a CSV row is bounded before it is split into cells; blank rows count towards the row
limit."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from service.contacts import importer
from service.contacts.importer import FILE, ImportRejected
from service.contacts.workbook_limits import (
    MAX_OTHER_PART_BYTES,
    MAX_PARTS,
    MAX_RECORD_CHARACTERS,
    MAX_ROWS,
    MAX_TOTAL_BYTES,
)
from tests.contacts import bombs
from tests.contacts.sheets import HEADER, csv_bytes, person, xlsx_bytes

SECONDS = 30.0
"""Not a speed figure (those are in bench/importer.py) but a guard against a hang: the files below
took 5 to 60 s, and far more memory, before the checks. Memory is the firm bound here: timing
under tracemalloc varies with the machine and the rest of the run."""
MEGABYTES = 30
"""Peak memory Python allocates while answering (tracemalloc)."""


@dataclass
class Cost:
    seconds: float = 0.0
    megabytes: float = 0.0


@contextmanager
def bounded() -> Iterator[Cost]:
    cost = Cost()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - started
        cost.megabytes = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()


def refused(data: bytes, filename: str = "contacts.xlsx") -> tuple[list[dict[str, object]], Cost]:
    with bounded() as cost, pytest.raises(ImportRejected) as caught:
        importer.read_rows(data, filename)
    assert cost.seconds < SECONDS, cost
    assert cost.megabytes < MEGABYTES, cost
    return [e.as_dict() for e in caught.value.errors], cost


def test_empty_cells_far_right_are_refused_fast() -> None:
    data = bombs.far_right_bomb(20_000)
    assert len(data) < 200_000
    [error], _ = refused(data)
    assert (error["line"], error["column"]) == (0, FILE)
    assert "row 2 of the sheet has cells beyond column AMJ, even if empty" in error["message"]


def test_a_sheet_reaching_past_the_row_limit_is_refused_fast_even_with_the_rows_blank() -> None:
    [error], _ = refused(bombs.far_down_bomb(1_000_000))
    assert (error["line"], error["column"]) == (0, FILE)
    assert "row 1,000,000" in error["message"] and "blank rows included" in error["message"]


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: bombs.shared_strings_bomb(1_500_000), "the shared strings unpack to 24.3 MB"),
        (lambda: bombs.shared_strings_bomb(200_000), "shared strings hold more than 1,000"),
        (lambda: bombs.shared_strings_bomb(500_000, b"<si/>"), "shared strings hold more"),
    ],
    ids=["too-large", "too-many", "too-many-empty"],
)
def test_a_shared_strings_table_bigger_than_its_cells_is_refused_before_openpyxl_loads_it(
    build: Callable[[], bytes], reason: str
) -> None:
    data = build()
    assert len(data) < 200_000
    [error], _ = refused(data)
    assert (error["line"], error["column"]) == (0, FILE)
    assert reason in error["message"], error


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: bombs.zip_bomb_part(MAX_OTHER_PART_BYTES + 1), "'xl/styles.xml' unpacks to 2.0"),
        (lambda: bombs.zip_bomb_part(40 * 2**20), "unpacks to 40.0 MB, more than the 32.0 MB"),
        (
            lambda: bombs.workbook(
                add={f"xl/media/image{n}.bin": b"\x00" * 30 * 2**20 for n in range(3)}
            ),
            f"unpacks to 90.0 MB, more than the {MAX_TOTAL_BYTES // 2**20}.0 MB",
        ),
        (lambda: bombs.many_parts(MAX_PARTS), f"(at most {MAX_PARTS})"),
    ],
    ids=["styles", "one-part", "total", "parts"],
)
def test_a_zip_that_unpacks_past_the_limits_is_refused_before_it_is_opened(
    build: Callable[[], bytes], reason: str
) -> None:
    [error], _ = refused(build())
    assert (error["line"], error["column"]) == (0, FILE)
    assert reason in error["message"], error


def test_the_limits_leave_room_for_a_real_workbook() -> None:
    """A thousand people with every string shared, as Excel saves them, and the same written by
    openpyxl (inline strings)."""
    rows = [
        person(f"S{n:04d}", f"Person {n:04d}", role="Social worker", groups="All staff")
        for n in range(1000)
    ]
    for data in (bombs.shared_strings_workbook(rows), xlsx_bytes(rows)):
        read = importer.read_rows(data, "contacts.xlsx")
        assert [values for _, values in read][:1] == [
            {name: str(rows[0].get(name, "")) for name in HEADER}
        ]
        assert len(read) == 1000


def test_blank_rows_count_towards_the_row_limit() -> None:
    blank = [[] for _ in range(MAX_ROWS)]
    data = csv_bytes([*blank, person("S001", "Harriet Oyelaran")])
    errors, _ = refused(data, "contacts.csv")
    assert [(e["line"], e["column"]) for e in errors] == [(MAX_ROWS + 2, "")]
    assert "blank rows count too" in str(errors[0]["message"])


def test_a_csv_row_longer_than_the_record_limit_is_refused_before_it_is_split() -> None:
    long_name = "Harriet " * (MAX_RECORD_CHARACTERS // 8 + 1)
    data = csv_bytes([person("S001", "Tomasz Wójcik"), person("S002", long_name)])
    [error], _ = refused(data, "contacts.csv")
    assert (error["line"], error["column"]) == (3, "")
    assert f"longer than {MAX_RECORD_CHARACTERS:,} characters" in str(error["message"])


def test_an_unclosed_quote_is_refused_at_the_record_limit_not_the_end_of_the_file() -> None:
    rows = "".join(f"S{n:05d},Person {n},,p{n}@example.org,,,,,,\r\n" for n in range(20_000))
    data = csv_bytes([]) + b'S0,"Harriet Oyelaran,,h@example.org,,,,,,\r\n' + rows.encode()
    [error], _ = refused(data, "contacts.csv")
    assert error["line"] == 2
    assert "a quote left open" in str(error["message"])
