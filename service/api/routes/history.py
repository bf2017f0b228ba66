"""Past inspections side by side: the steering group's and scrutiny's view across years."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from service import history
from service.api.deps import InspectionsReader, ReadSessionDep, RulesDep
from service.api.errors import error_responses
from service.api.pagination import decode_cursor, encode_cursor
from service.db import utcnow
from service.history.schemas import HistoryPublic, public

router = APIRouter(prefix="/api/v1/history", tags=["history"])

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 50
"""Each line reads a whole communication tree's timings; pages stay small."""


@router.get(
    "",
    response_model=HistoryPublic,
    summary="Past inspections side by side: judgements, cascade timings, deadlines met or missed",
    responses=error_responses(401, 403, 422),
)
def read_history(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page")
    ] = None,
) -> HistoryPublic:
    """Real inspections only (rehearsals are compared elsewhere), newest call first."""
    offset = decode_cursor(cursor)[1] if cursor else 0
    found, more = history.page(
        session, rules=rules, today=rules.local_date(utcnow()), offset=offset, limit=limit
    )
    return HistoryPublic(
        items=[public(past) for past in found],
        next_cursor=encode_cursor(EPOCH, offset + limit) if more else None,
    )
