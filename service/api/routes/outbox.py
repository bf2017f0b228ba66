"""Every message the service produced, whatever the channel (the embedded outbox's record)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import Admin, ReadSessionDep
from service.api.errors import error_responses
from service.api.pagination import CursorPageDep, page_of
from service.notify import listing
from service.notify.schemas import MessagePublic, MessagesPublic

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


@router.get(
    "",
    response_model=MessagesPublic,
    summary="Messages, newest first (scope admin)",
    responses=error_responses(401, 403, 422),
)
def list_messages(
    session: ReadSessionDep,
    _: Admin,
    page: CursorPageDep,
    inspection_id: uuid.UUID | None = None,
    # No control characters: PostgreSQL cannot even compare text holding NUL.
    contact_id: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    status: Annotated[
        Literal["queued", "sending", "sent", "delivered", "failed", "cancelled"] | None, Query()
    ] = None,
    purpose: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
) -> MessagesPublic:
    found = listing.page(
        session,
        listing.MessageFilter(
            inspection_id=inspection_id, contact_id=contact_id, status=status, purpose=purpose
        ),
        limit=page.limit + 1,
        after=page.key(datetime, int, uuid.UUID),
    )
    items, next_cursor = page_of(
        found.items, limit=page.limit, key=lambda row: (row.created_at, row.priority, row.id)
    )
    return MessagesPublic(
        items=[MessagePublic.of(message) for message in items], next_cursor=next_cursor
    )
