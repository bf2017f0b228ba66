"""How every list route takes its page: `limit` (1 to 500, 100 unless asked) and an opaque
`cursor`, the previous page's `next_cursor`. A cursor names the last row read by its sort key
(keyset paging), so rows added or removed between pages never shift a page: none is skipped,
none read twice. Offset paging is refused with a 422 saying to use `cursor`."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request

from service.errors import InvalidInput
from service.paging import CursorList, Key, after_key, bad_cursor, decode_key, encode_key

__all__ = [
    "CursorList",
    "CursorPageDep",
    "decode_cursor",
    "decode_key",
    "encode_cursor",
    "encode_key",
]

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 1024
"""A key holds at most a name and an id or two: far below this."""


def encode_cursor(at: datetime, row_id: int) -> str:
    """Where the next page starts: after the row at (`at`, `row_id`), in that order."""
    return encode_key(at, row_id)


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (`at`, `row_id`) a cursor from `encode_cursor` stands for."""
    at, row_id = decode_key(cursor, datetime, int)
    if at is None or row_id is None or row_id < 0:
        raise bad_cursor()
    return at, row_id


def refuse_offset(request: Request) -> None:
    """Lists page by cursor only: an `offset` left over from older clients is refused, not ignored
    (ignoring it would hand back the first page again and again)."""
    if "offset" in request.query_params:
        raise InvalidInput(
            "offset",
            "offset paging is not offered; send `cursor` (the previous page's `next_cursor`)",
        )


@dataclass(frozen=True)
class CursorPage:
    limit: int
    cursor: str | None

    @property
    def after(self) -> tuple[datetime, int] | None:
        """The (time, id) of a timeline-style cursor (`encode_cursor`)."""
        return decode_cursor(self.cursor) if self.cursor else None

    def key(self, *kinds: type) -> Key | None:
        """The sort key of the last row of the previous page (`encode_key`), or None."""
        return decode_key(self.cursor, *kinds) if self.cursor else None


def cursor_page(
    _: Annotated[None, Depends(refuse_offset)],
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="At most this many items in the page")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="`next_cursor` of the previous page; leave out for the first page",
        ),
    ] = None,
) -> CursorPage:
    return CursorPage(limit=limit, cursor=cursor or None)


CursorPageDep = Annotated[CursorPage, Depends(cursor_page)]


def page_of(
    rows: Sequence[T], *, limit: int, key: Callable[[T], Iterable[Any]]
) -> tuple[list[T], str | None]:
    """The page of rows read with `limit + 1`, and the cursor after its last one (None when
    nothing follows)."""
    shown = list(rows[:limit])
    if len(rows) <= limit or not shown:
        return shown, None
    return shown, encode_key(*key(shown[-1]))


def keyset(
    items: Iterable[T], *, page: CursorPage, key: Callable[[T], Key], kinds: tuple[type, ...]
) -> tuple[list[T], str | None]:
    """Keyset paging over a list already in memory (short lists: roles, templates, agencies):
    ascending by `key`, which must be unique; rows after the cursor's key only."""
    shown, last = after_key(
        sorted(items, key=key), key=key, after=page.key(*kinds), limit=page.limit
    )
    return shown, encode_key(*last) if last is not None else None
