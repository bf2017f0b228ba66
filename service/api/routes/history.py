"""Past inspections side by side: the steering group's and scrutiny's view across years."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter

from service import history
from service.api.deps import InspectionsReader, ReadSessionDep, RulesDep
from service.api.errors import error_responses
from service.api.pagination import CursorPageDep, encode_key
from service.db import utcnow
from service.history.schemas import HistoryPublic, public

router = APIRouter(prefix="/api/v1/history", tags=["history"])


@router.get(
    "",
    response_model=HistoryPublic,
    summary="Past inspections side by side: judgements, cascade timings, deadlines met or missed",
    responses=error_responses(401, 403, 422),
)
def read_history(
    session: ReadSessionDep, rules: RulesDep, _: InspectionsReader, page: CursorPageDep
) -> HistoryPublic:
    """Real inspections only (rehearsals are compared elsewhere), newest call first. Each line
    reads a whole communication tree's timings: ask for small pages when speed matters."""
    found, more = history.page(
        session,
        rules=rules,
        today=rules.local_date(utcnow()),
        limit=page.limit,
        after=page.key(datetime, uuid.UUID),
    )
    last = found[-1].inspection if found and more else None
    return HistoryPublic(
        items=[public(past) for past in found],
        next_cursor=encode_key(last.notified_at, last.id) if last is not None else None,
    )
