"""How list routes take their page: `limit` and `offset` with the same bounds everywhere, and an
opaque cursor for lists that grow while they are read (the timeline)."""

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query

from service.errors import InvalidInput

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
"""Far beyond any council's data; keeps `offset` inside every database's integer range."""


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_query(max_limit: int = MAX_LIMIT) -> Callable[..., Page]:
    """A dependency reading `limit` (1 to `max_limit`) and `offset` from the query string.
    (No postponed annotations in this module: FastAPI must see `max_limit` when it reads them.)"""

    def page(
        limit: Annotated[int, Query(ge=1, le=max_limit)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page:
        return Page(limit=limit, offset=offset)

    return page


PageDep = Annotated[Page, Depends(page_query())]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ROW_ID = 2**63 - 1


def encode_cursor(at: datetime, row_id: int) -> str:
    """Where the next page starts: after the row at (`at`, `row_id`), in that order."""
    microseconds = (at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{microseconds}.{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (`at`, `row_id`) a cursor stands for; InvalidInput naming `cursor` for anything this
    service did not give out."""
    problem = InvalidInput("cursor", "is not a cursor this service gave out; start without one")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        microseconds, row_id = (int(part) for part in text.split("."))
        at = _EPOCH + timedelta(microseconds=microseconds)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise problem from None
    if not 0 <= row_id <= _MAX_ROW_ID:
        raise problem
    return at, row_id


@dataclass(frozen=True)
class CursorPage:
    """`limit` None means every row after the cursor (what a client that never pages gets)."""

    limit: int | None
    after: tuple[datetime, int] | None


def cursor_page(
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_LIMIT, description="At most this many; leave out for every one"),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=64, description="`next_cursor` of the previous page"),
    ] = None,
) -> CursorPage:
    return CursorPage(limit=limit, after=decode_cursor(cursor) if cursor else None)


CursorPageDep = Annotated[CursorPage, Depends(cursor_page)]
