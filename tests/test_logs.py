"""Logged tracebacks carry no one's address or number: the engine hides SQL parameters, and the
log setup scrubs what the database itself repeats (PostgreSQL's DETAIL line, a value in an
error message) from any exception text, in structlog's lines and in uvicorn's."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service import logs
from service.contacts.models import Contact

ADDRESS = "harriet.oyelaran@example.org"
MOBILE = "+447700900123"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def contact() -> Contact:
    """A council that keys its contacts by e-mail address, as some do."""
    return Contact(
        id=ADDRESS, name="Harriet Oyelaran", email=ADDRESS, mobile=MOBILE,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def a_database_error(engine: Engine) -> IntegrityError:
    """The same person inserted twice: the statement's parameters hold the address and number,
    and PostgreSQL's own message repeats the key."""
    with Session(engine) as session:
        session.add(contact())
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError) as raised:
        session.add(contact())
        session.commit()
    return raised.value


def test_the_engine_keeps_statement_parameters_out_of_its_errors(engine: Engine) -> None:
    """Wherever a database error's text goes (a log, a reply, a message's last error), the
    values of the statement do not go with it."""
    text = str(a_database_error(engine))

    assert "INSERT INTO contact" in text
    assert "Harriet Oyelaran" not in text and MOBILE not in text


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    yield stream
    logs.configure("INFO")


def assert_nothing_personal(text: str) -> None:
    assert ADDRESS not in text
    assert "7700900123" not in text and "7700 900123" not in text


def test_a_logged_database_error_shows_neither_address_nor_number(
    engine: Engine, captured: io.StringIO
) -> None:
    error = a_database_error(engine)

    try:
        raise error
    except IntegrityError:
        structlog.get_logger("tests").exception("unhandled_error", path="/api/v1/contacts")
        structlog.get_logger("tests").error("tick_failed", error=repr(error))

    text = captured.getvalue()
    assert "IntegrityError" in text and "unhandled_error" in text and "tick_failed" in text
    assert "INSERT INTO contact" in text, "the statement stays: it says what failed"
    assert_nothing_personal(text)


def test_uvicorns_traceback_of_a_database_error_is_scrubbed_too(
    engine: Engine, captured: io.StringIO
) -> None:
    """Starlette re-raises an unhandled error after replying 500, and uvicorn logs it with the
    standard library, through its own handler."""
    error = a_database_error(engine)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    try:
        try:
            raise error
        except IntegrityError:
            uvicorn_log.exception("Exception in ASGI application")
    finally:
        uvicorn_log.removeHandler(handler)

    text = stream.getvalue()
    assert "Exception in ASGI application" in text and "IntegrityError" in text
    assert_nothing_personal(text)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("no such table: due_job", "no such table: due_job"),
        ("at 2025-03-04 09:00:00.000000, job 123456789012", "job 123456789012"),
        (f"Key (id)=({ADDRESS}) already exists", "already exists"),
        ("call 07700 900123 or 0117 496 0123", "call "),
        ("Not a UK mobile number: +33612345678", "Not a UK mobile number"),
    ],
)
def test_scrubbing_keeps_what_is_not_personal(text: str, kept: str) -> None:
    scrubbed = logs.scrub(text)

    assert kept in scrubbed
    for personal in (ADDRESS, "900123", "496 0123", "612345678"):
        assert personal not in scrubbed
