"""Keyset paging's parts every layer shares: the page model `CursorList[T]` and opaque cursors
that hold a row's sort key (`encode_key`, `decode_key`)."""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import and_, or_

from service.errors import InvalidInput

T = TypeVar("T")
Key = tuple[Any, ...]

NEXT_CURSOR_EXAMPLE = "WyIyMDI2LTExLTE3VDEwOjMwOjAwKzAwOjAwIiwgNDJd"


class CursorList(BaseModel, Generic[T]):
    """One page of a list: `next_cursor` goes back as `cursor` for the page after; null on the
    last page."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Send as `cursor` for the next page; null on the last page",
        examples=[NEXT_CURSOR_EXAMPLE],
    )


def bad_cursor() -> InvalidInput:
    return InvalidInput("cursor", "is not a cursor this service gave out; start without one")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"a cursor cannot hold {type(value).__name__}")


def encode_key(*values: Any) -> str:
    """An opaque cursor for the row whose sort key is `values` (str, int, bool, None, datetime,
    date, UUID)."""
    text = json.dumps([_plain(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _typed(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed
    if kind is date:
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("not an int")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a str")
    if kind is bool and not isinstance(value, bool):
        raise ValueError("not a bool")
    return value


def decode_key(cursor: str, *kinds: type) -> Key:
    """The sort key a cursor stands for, each value of the kind given (None allowed);
    InvalidInput naming `cursor` for anything this service did not give out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        values = json.loads(text)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong length")
        key = tuple(_typed(value, kind) for value, kind in zip(values, kinds, strict=True))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
        raise bad_cursor() from None
    for value in key:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
            raise bad_cursor()
    return key


def microseconds(at: datetime) -> int:
    """A moment as a whole number, for sort keys compared in memory."""
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def after_key(
    ordered: Sequence[T],
    *,
    key: Callable[[T], tuple[Any, ...]],
    after: tuple[Any, ...] | None,
    limit: int,
) -> tuple[list[T], tuple[Any, ...] | None]:
    """Keyset paging over rows already in memory and sorted by `key` (unique): the rows after
    `after`, at most `limit`, and the key to continue from (None when nothing follows)."""
    if after is not None:
        try:
            ordered = [row for row in ordered if key(row) > after]
        except TypeError:
            raise bad_cursor() from None
    shown = list(ordered[:limit])
    return shown, key(shown[-1]) if len(ordered) > limit and shown else None


def newest_first_after(moment: Any, row_id: Any, after: tuple[Any, ...]) -> Any:
    """The keyset condition for a list ordered by `moment` descending, then `row_id` ascending:
    the rows after (`at`, `id`)."""
    at, last_id = after
    return or_(moment < at, and_(moment == at, row_id > last_id))
