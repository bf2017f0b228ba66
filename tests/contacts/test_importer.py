"""The contacts import on real databases: every problem in one reply and nothing written, or the
whole file written in bulk; merge and replace modes; dry runs; CSV and .xlsx alike."""

from __future__ import annotations

import io
import shutil
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlmodel import Session, col, func, select

from service import spreadsheet
from service.audit_log import AuditEvent
from service.contacts import importer, service
from service.contacts.importer import ImportRejected, import_contacts
from service.contacts.models import Contact
from service.db import make_engine
from tests.contacts.sheets import HEADER, big_tree, csv_bytes, person, tree_rows, xlsx_bytes

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ACTOR = "api-key:tests"

Builder = Callable[..., bytes]
FORMATS = {"csv": csv_bytes, "xlsx": xlsx_bytes}


@pytest.fixture(params=sorted(FORMATS))
def sheet(request: pytest.FixtureRequest) -> tuple[str, Builder]:
    """The file name and a builder, once for CSV and once for .xlsx."""
    return f"contacts.{request.param}", FORMATS[request.param]


def run(
    session: Session, data: bytes, filename: str = "contacts.csv", **options: Any
) -> dict[str, int]:
    counts = import_contacts(session, data, filename=filename, actor=ACTOR, now=NOW, **options)
    session.commit()
    return counts.as_dict()


def rejected(
    session: Session, data: bytes, filename: str = "contacts.csv", **options: Any
) -> list[dict[str, Any]]:
    with pytest.raises(ImportRejected) as caught:
        import_contacts(session, data, filename=filename, actor=ACTOR, now=NOW, **options)
    session.rollback()
    return [error.as_dict() for error in caught.value.errors]


def where(errors: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["line"], e["column"]) for e in errors]


def stored(session: Session) -> dict[str, Contact]:
    session.expire_all()
    return {c.id: c for c in session.exec(select(Contact)).all()}


def counts(
    created: int = 0, updated: int = 0, unchanged: int = 0, deactivated: int = 0
) -> dict[str, int]:
    return {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "deactivated": deactivated,
    }


def test_a_tree_imports_whatever_the_row_order(
    session: Session, sheet: tuple[str, Builder]
) -> None:
    """S020 comes before its manager and deputy: the self-referencing keys must still hold."""
    filename, build = sheet
    assert run(session, build(tree_rows()), filename) == counts(created=5)
    contacts = stored(session)
    olumide, tomasz, harriet = contacts["S020"], contacts["S002"], contacts["S001"]
    assert (olumide.reports_to, olumide.deputy) == ("S010", "S011")
    assert olumide.groups == ["People", "All staff"]
    assert olumide.channels == ["email", "sms"]
    assert tomasz.name == "Tomasz Wójcik"
    assert (tomasz.mobile, tomasz.channels, tomasz.deputy) == (
        "+447700900002",
        ["sms", "email"],
        "S001",
    )
    assert harriet.ack_window_minutes == 0 and contacts["S010"].ack_window_minutes == 30
    assert contacts["S011"].ack_window_minutes is None and contacts["S011"].mobile is None
    assert all(c.created_at == NOW and c.active for c in contacts.values())
    assert service.tree_levels(session) == {"S001": 1, "S002": 1, "S010": 2, "S011": 2, "S020": 3}


def every_error_kind() -> list[dict[str, Any] | list[str]]:
    return [
        person("S001", "Harriet Oyelaran"),  # line 2: fine
        person("S002", "Tomasz Wójcik", email="tomasz.example.org"),  # 3
        person("S003", "Priya Raman", mobile="020 7946 0000"),  # 4
        person("S004", "Eilidh Baptiste", reports_to="S999"),  # 5
        person("S005", "Olumide Fairbairn", deputy="S998"),  # 6
        person("S006", "Gareth Nwosu", reports_to="S007"),  # 7: cycle
        person("S007", "Zainab Kowalczyk", reports_to="S006"),  # 8: cycle
        person("S008", "Anwen Achterberg", deputy="S008"),  # 9
        person("S001", "Harriet Oyelaran again"),  # 10: duplicate id
        person("S009", "Kwame Lindqvist", channels="email;pager"),  # 11
        person("S010", "Mairead Okafor", ack_window_minutes="1441"),  # 12
        person("S011", "Dafydd Mensah", ack_window_minutes="1.5"),  # 13
        person("S012", ""),  # 14: empty name
        person("", "Nameless Person", email="nameless@example.org"),  # 15: empty id
        person("S013", "Ioana Pemberton", channels="sms"),  # 16: sms without a mobile
        person("S014", "Rhiannon Adeyemi", reports_to="S014"),  # 17
    ]


def test_every_problem_is_listed_in_one_reply_and_nothing_is_written(
    session: Session, sheet: tuple[str, Builder]
) -> None:
    filename, build = sheet
    run(session, csv_bytes([person("S100", "Bethan Osei")]))
    errors = rejected(session, build(every_error_kind()), filename)
    assert where(errors) == [
        (3, "email"),
        (4, "mobile"),
        (5, "reports_to"),
        (6, "deputy"),
        (7, "reports_to"),
        (9, "deputy"),
        (10, "id"),
        (11, "channels"),
        (12, "ack_window_minutes"),
        (13, "ack_window_minutes"),
        (14, "name"),
        (15, "id"),
        (16, "channels"),
        (17, "reports_to"),
    ]
    messages = {(e["line"], e["column"]): e["message"] for e in errors}
    assert "not a UK mobile" in messages[(4, "mobile")]
    assert "S999" in messages[(5, "reports_to")]
    assert "cycle of 2 in the tree: S006 → S007 → S006" in messages[(7, "reports_to")]
    assert "first on line 2" in messages[(10, "id")]
    assert "pager" in messages[(11, "channels")]
    assert list(stored(session)) == ["S100"]
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1


@pytest.mark.sqlite_only
def test_a_missing_or_unknown_column_is_reported_on_line_1(session: Session) -> None:
    header = [name for name in HEADER if name != "deputy"] + ["phone"]
    data = csv_bytes([person("S001", "Harriet Oyelaran")], header=[h.upper() for h in header])
    errors = rejected(session, data)
    assert where(errors) == [(1, "deputy"), (1, "phone")]
    assert "missing column 'deputy'" in errors[0]["message"]


@pytest.mark.sqlite_only
def test_a_file_without_a_header_is_refused(session: Session) -> None:
    assert where(rejected(session, b"\r\n\r\n")) == [(1, "")]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"", "contacts.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "tree.pdf", ".pdf files cannot be imported"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "tree.xls", ".xls"),
        (b"PK\x03\x04 definitely not a zip", "tree.xlsx", "not a readable .xlsx"),
        (b"id,name\n", "tree.xlsx", "not a readable .xlsx"),
    ],
)
def test_files_that_are_not_contacts_spreadsheets_are_refused_on_line_0(
    session: Session, data: bytes, filename: str, reason: str
) -> None:
    [error] = rejected(session, data, filename)
    assert (error["line"], error["column"]) == (0, "file")
    assert reason in error["message"]


@pytest.mark.sqlite_only
def test_a_zip_that_is_not_a_workbook_is_refused_on_line_0(session: Session) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "Tomasz's notes")
    [error] = rejected(session, buffer.getvalue(), "contacts.xlsx")
    assert (error["line"], error["column"]) == (0, "file")


@pytest.mark.sqlite_only
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_csv_in_any_encoding_excel_saves_reads_the_same(session: Session, encoding: str) -> None:
    data = csv_bytes([person("S002", "Tomasz Wójcik", role="Lead – readiness")], encoding=encoding)
    assert run(session, data) == counts(created=1)
    contact = stored(session)["S002"]
    assert (contact.name, contact.role) == ("Tomasz Wójcik", "Lead – readiness")


@pytest.mark.sqlite_only
def test_a_semicolon_separated_csv_from_a_european_excel_imports(session: Session) -> None:
    data = csv_bytes(
        [person("S001", "Harriet Oyelaran", groups="People;Communities")], delimiter=";"
    )
    assert run(session, data) == counts(created=1)
    assert stored(session)["S001"].groups == ["People", "Communities"]


@pytest.mark.sqlite_only
def test_line_numbers_are_spreadsheet_rows_blank_rows_included(
    session: Session, sheet: tuple[str, Builder]
) -> None:
    filename, build = sheet
    rows: list[Any] = [
        person("S001", "Harriet Oyelaran"),
        [],
        person("S002", "Tomasz Wójcik", mobile="12345"),
    ]
    assert where(rejected(session, build(rows), filename)) == [(4, "mobile")]


def test_notifys_smoke_test_numbers_and_pagers_are_refused_with_the_reason(
    session: Session,
) -> None:
    """A text to a smoke-test number is answered by Notify and never delivered, and Notify
    refuses pagers: either would leave someone waiting for a message that never comes."""
    rows = [
        person("S001", "Harriet Oyelaran", mobile="07700 900111"),
        person("S002", "Tomasz Wójcik", mobile="07600 123456"),
    ]
    said = {(e["line"], e["column"]): e["message"] for e in rejected(session, csv_bytes(rows))}
    assert set(said) == {(2, "mobile"), (3, "mobile")}
    assert "smoke-test" in said[(2, "mobile")] and "never delivers" in said[(2, "mobile")]
    assert "pager" in said[(3, "mobile")]


@pytest.mark.sqlite_only
def test_a_cell_with_a_line_break_counts_as_one_row(session: Session) -> None:
    rows = [
        person("S001", "Harriet Oyelaran", role="Director of\nChildren's Services"),
        person("S002", "Tomasz Wójcik", email="nope"),
    ]
    assert where(rejected(session, csv_bytes(rows))) == [(2, "role"), (3, "email")]


@pytest.mark.sqlite_only
def test_numbers_excel_stores_as_numbers_are_read_as_typed(session: Session) -> None:
    """Excel keeps 07700… as 7700900003, a window as 15 and a staff number as 123."""
    data = xlsx_bytes([[123, "Priya Raman", None, None, 7700900003, None, None, None, None, 15]])
    assert run(session, data, "contacts.xlsx") == counts(created=1)
    contact = stored(session)["123"]
    assert (contact.mobile, contact.ack_window_minutes, contact.channels) == (
        "+447700900003",
        15,
        ["sms"],
    )


def test_reimporting_the_same_file_changes_nothing(
    session: Session, sheet: tuple[str, Builder]
) -> None:
    filename, build = sheet
    run(session, build(tree_rows()), filename)
    assert run(session, build(tree_rows()), filename) == counts(unchanged=5)
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1


def test_a_changed_row_is_updated_and_the_rest_left_alone(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    rows = tree_rows()
    rows[0]["role"] = "Practice lead"
    later = NOW + timedelta(days=1)
    result = import_contacts(session, csv_bytes(rows), actor=ACTOR, now=later).as_dict()
    session.commit()
    assert result == counts(updated=1, unchanged=4)
    contacts = stored(session)
    assert contacts["S020"].role == "Practice lead" and contacts["S020"].updated_at == later
    assert contacts["S001"].updated_at == NOW


def test_merge_leaves_contacts_missing_from_the_file_alone(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    data = csv_bytes([person("S030", "Gareth Nwosu", reports_to="S010", deputy="S011")])
    assert run(session, data) == counts(created=1)
    contacts = stored(session)
    assert len(contacts) == 6 and all(c.active for c in contacts.values())
    assert contacts["S030"].reports_to == "S010"


def test_merge_refuses_a_link_to_a_deactivated_contact(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    session.commit()
    errors = rejected(session, csv_bytes([person("S030", "Gareth Nwosu", deputy="S020")]))
    assert where(errors) == [(2, "deputy")]
    assert "deactivated" in errors[0]["message"]


def test_merge_finds_a_cycle_through_stored_contacts(session: Session) -> None:
    """S010 already reports to S001; the file makes S001 report to S010."""
    run(session, csv_bytes(tree_rows()))
    errors = rejected(session, csv_bytes([person("S001", "Harriet Oyelaran", reports_to="S010")]))
    assert where(errors) == [(2, "reports_to")]
    assert "S001 → S010 → S001" in errors[0]["message"]


def ring(size: int, **fields: Any) -> list[dict[str, Any]]:
    """`size` people each reporting to the next, the last to the first: one cycle."""
    return [
        person(f"R{n:05d}", f"Person {n:05d}", reports_to=f"R{(n + 1) % size:05d}", **fields)
        for n in range(size)
    ]


def ladder(size: int) -> list[dict[str, Any]]:
    """`size` people each reporting to the one before: `size` levels deep."""
    return [
        person(f"L{n:05d}", f"Person {n:05d}", reports_to=f"L{n - 1:05d}" if n else "")
        for n in range(size)
    ]


@pytest.mark.sqlite_only
def test_a_cycle_is_reported_once_with_its_chain_cut_short(session: Session) -> None:
    """4,000 people in one ring: one problem on the first line of the ring, not 4,000 problems
    each naming all 4,000 people."""
    with pytest.raises(ImportRejected) as caught:
        import_contacts(session, csv_bytes(ring(4000)), actor=ACTOR, now=NOW, dry_run=True)
    [error] = caught.value.errors
    assert (error.line, error.column, caught.value.more) == (2, "reports_to", 0)
    assert error.message.startswith("makes a cycle of 4000 in the tree: R00000 → R00001 → ")
    assert error.message.endswith("R00009 → … (3990 more) → R00000")
    assert len(error.message) < 300


@pytest.mark.sqlite_only
def test_a_file_with_a_problem_on_every_row_lists_the_first_hundred_and_counts_the_rest(
    session: Session,
) -> None:
    rows = ring(4000, mobile="12345")
    with pytest.raises(ImportRejected) as caught:
        import_contacts(session, csv_bytes(rows), actor=ACTOR, now=NOW, dry_run=True)
    errors = caught.value.errors
    assert len(errors) == importer.MAX_ERRORS == 100
    assert caught.value.more == 4000 + 1 - 100
    assert where([e.as_dict() for e in errors[:3]]) == [
        (2, "mobile"), (2, "reports_to"), (3, "mobile"),
    ]  # fmt: skip
    assert [e.line for e in errors] == sorted(e.line for e in errors)


@pytest.mark.sqlite_only
def test_a_tree_deeper_than_fifty_levels_is_refused_on_the_row_that_goes_too_deep(
    session: Session,
) -> None:
    assert run(session, csv_bytes(ladder(importer.MAX_DEPTH))) == counts(created=50)
    errors = rejected(session, csv_bytes(ladder(300)))
    [error] = errors  # once, on the 51st level, not again for the 249 people below
    assert (error["line"], error["column"]) == (52, "reports_to")
    assert "51 levels down the tree, and it may be at most 50 deep" in error["message"]
    assert error["message"].endswith(
        "L00050 → L00049 → L00048 → L00047 → L00046 → L00045 → "
        "L00044 → L00043 → L00042 → L00041 → … (40 more) → L00000"
    )


def test_merge_counts_depth_through_stored_contacts(session: Session) -> None:
    run(session, csv_bytes(ladder(50)))
    below = person("L00050", "Person 00050", reports_to="L00049")
    errors = rejected(session, csv_bytes([below]))
    assert where(errors) == [(2, "reports_to")]
    assert "51 levels down" in errors[0]["message"]


def test_replace_deactivates_everyone_missing_from_the_file(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    keep = [row for row in tree_rows() if row["id"] in {"S001", "S002", "S011"}]
    assert run(session, csv_bytes(keep), replace=True) == counts(unchanged=3, deactivated=2)
    contacts = stored(session)
    assert {i for i, c in contacts.items() if not c.active} == {"S010", "S020"}
    assert set(service.tree_levels(session)) == {"S001", "S002", "S011"}
    latest = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)
    event = session.exec(latest).one()
    assert event.data["deactivated_ids"] == ["S010", "S020"] and event.data["mode"] == "replace"


def test_replace_needs_every_link_inside_the_file(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    data = csv_bytes(
        [person("S001", "Harriet Oyelaran"), person("S030", "Gareth Nwosu", reports_to="S010")]
    )
    errors = rejected(session, data, replace=True)
    assert where(errors) == [(3, "reports_to")]
    assert "not in this file" in errors[0]["message"]
    assert all(c.active for c in stored(session).values())


def test_replace_with_an_empty_file_is_refused_rather_than_emptying_the_tree(
    session: Session,
) -> None:
    run(session, csv_bytes(tree_rows()))
    [error] = rejected(session, csv_bytes([]), replace=True)
    assert (error["line"], error["column"]) == (0, "file")
    assert len(service.tree_levels(session)) == 5
    assert run(session, csv_bytes([])) == counts()


def test_replace_brings_back_a_listed_deactivated_contact(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    session.commit()
    assert run(session, csv_bytes(tree_rows()), replace=True) == counts(updated=1, unchanged=4)
    assert stored(session)["S020"].active is True


@pytest.mark.parametrize("replace", [False, True])
def test_a_dry_run_counts_as_the_real_import_would_and_writes_nothing(
    session: Session, replace: bool
) -> None:
    by_id = {row["id"]: row for row in tree_rows()}
    run(session, csv_bytes([by_id["S001"], by_id["S002"], by_id["S011"]]))
    rows = [
        {**by_id["S001"], "role": "Director"},
        by_id["S002"],
        {**by_id["S010"], "deputy": ""},
        {**by_id["S020"], "deputy": ""},
    ]
    before = {i: (c.role, c.active) for i, c in stored(session).items()}
    dry = run(session, csv_bytes(rows), dry_run=True, replace=replace)
    assert {i: (c.role, c.active) for i, c in stored(session).items()} == before
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1
    assert dry == counts(created=2, updated=1, unchanged=1, deactivated=1 if replace else 0)
    assert run(session, csv_bytes(rows), replace=replace) == dry


@pytest.mark.sqlite_only
def test_a_dry_run_of_a_bad_file_lists_the_same_errors(session: Session) -> None:
    data = csv_bytes(every_error_kind())
    assert rejected(session, data, dry_run=True) == rejected(session, data)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_reimports_as_unchanged(session: Session, kind: str) -> None:
    rows = [
        *tree_rows(),
        person("00123", "Anwen Achterberg", reports_to="S001", mobile="07700900123"),
    ]
    run(session, csv_bytes(rows))
    exported = service.export_rows(session)
    if kind == "csv":
        data = spreadsheet.write_csv(service.COLUMNS, exported, bom=True)
    else:
        data = spreadsheet.write_xlsx("contacts", service.COLUMNS, exported)
    assert run(session, data, f"export.{kind}") == counts(unchanged=6)
    assert run(session, data, f"export.{kind}", replace=True) == counts(unchanged=6)


def test_an_import_is_one_audit_event_naming_what_changed(session: Session) -> None:
    run(session, csv_bytes(tree_rows()))
    [event] = session.exec(select(AuditEvent)).all()
    assert (event.actor, event.action, event.at) == (ACTOR, "contacts_imported", NOW)
    assert event.data["created"] == 5 and sorted(event.data["created_ids"]) == [
        "S001",
        "S002",
        "S010",
        "S011",
        "S020",
    ]
    assert event.data["file"] == "contacts.csv"


def test_a_large_tree_is_created_updated_and_replaced_in_bulk(session: Session) -> None:
    """Thousands of rows, four levels deep, through every bulk write (the timing of 10,000 rows
    is bench/importer.py's)."""
    assert run(session, csv_bytes(big_tree(3_000))) == counts(created=3_000)
    assert run(session, csv_bytes(big_tree(3_000, role="Practitioner"))) == counts(updated=3_000)
    assert run(session, csv_bytes(big_tree(1_500, role="Practitioner")), replace=True) == counts(
        unchanged=1_500, deactivated=1_500
    )
    assert max(service.tree_levels(session).values()) == 4


CELLS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["S001", "S002", "07700 900123", "a@example.org", "sms;email", "15", ""]
)


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=12), max_size=6),
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]),
    noise=st.binary(max_size=40),
)
def test_any_file_is_imported_or_rejected_with_lines_never_a_crash(
    sqlite_template: Any,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    encoding: str,
    noise: bytes,
) -> None:
    """Whatever arrives, the answer is counts or ImportRejected with a line for each problem."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(sqlite_template, path)
    fuzz_engine = make_engine(f"sqlite:///{path}")
    try:
        storable = [[ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row] for row in rows]
        files = (csv_bytes(rows, encoding=encoding, errors="replace"), noise, xlsx_bytes(storable))
        for data in files:
            with Session(fuzz_engine) as fuzz_session, within_budget():
                try:
                    import_contacts(fuzz_session, data, actor=ACTOR, now=NOW, dry_run=True)
                except ImportRejected as exc:
                    assert_clear(exc)
    finally:
        fuzz_engine.dispose()


@pytest.mark.sqlite_only
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=12), max_size=4),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xff\xfe", b"id,name\n"]),
    noise=st.binary(max_size=200),
)
def test_any_bytes_or_damaged_workbook_is_read_or_refused_within_budget(
    rows: list[list[str]], flips: list[tuple[int, int]], prefix: bytes, noise: bytes
) -> None:
    """A real .xlsx with random bytes changed, and random bytes after a telling prefix: each
    read gives rows or a clear ImportRejected, never another exception, in bounded time and
    memory."""
    storable = [[ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row] for row in rows]
    damaged = bytearray(xlsx_bytes(storable))
    for position, value in flips:
        damaged[position % len(damaged)] = value
    for data, filename in ((bytes(damaged), "c.xlsx"), (prefix + noise, "c.csv")):
        with within_budget():
            try:
                importer.read_rows(data, filename)
            except ImportRejected as exc:
                assert_clear(exc)


def assert_clear(exc: ImportRejected) -> None:
    assert exc.errors
    assert len(exc.errors) <= importer.MAX_ERRORS
    assert all(e.line >= 0 and e.message for e in exc.errors)


FUZZ_SECONDS = 2.0
FUZZ_MEGABYTES = 30


@contextmanager
def within_budget() -> Iterator[None]:
    """Time and peak memory (tracemalloc) of one import, asserted."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert took < FUZZ_SECONDS, f"{took:.2f} s"
    assert peak < FUZZ_MEGABYTES, f"{peak:.1f} MB"
