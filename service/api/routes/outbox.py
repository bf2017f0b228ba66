"""Every message the service produced, whatever the channel (the embedded outbox's record)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, func, select

from service.api.deps import Admin, ReadSessionDep
from service.notify.models import Message

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


class OutboxMessage(BaseModel):
    id: uuid.UUID
    inspection_id: uuid.UUID | None
    contact_id: str | None
    channel: str
    provider: str | None
    to: str
    purpose: str
    subject: str
    body: str
    status: str
    provider_status: str | None
    attempts: int
    last_error: str | None
    drill: bool
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


@router.get("", summary="Messages, newest first (scope admin)")
def list_messages(
    session: ReadSessionDep,
    _: Admin,
    inspection_id: uuid.UUID | None = None,
    # No control characters: PostgreSQL cannot even compare text holding NUL.
    contact_id: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    status: Annotated[
        Literal["queued", "sending", "sent", "delivered", "failed", "cancelled"] | None, Query()
    ] = None,
    purpose: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # inside every database's integers
) -> dict[str, object]:
    query = select(Message)
    filters = []
    if inspection_id is not None:
        filters.append(Message.inspection_id == inspection_id)
    if contact_id is not None:
        filters.append(Message.contact_id == contact_id)
    if status is not None:
        filters.append(Message.status == status)
    if purpose is not None:
        filters.append(Message.purpose == purpose)
    for condition in filters:
        query = query.where(condition)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Message.created_at).desc(), col(Message.priority), col(Message.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return {
        "items": [
            OutboxMessage(
                id=m.id,
                inspection_id=m.inspection_id,
                contact_id=m.contact_id,
                channel=m.medium,
                provider=m.provider,
                to=m.address,
                purpose=m.purpose,
                subject=m.subject,
                body=m.body,
                status=m.status,
                provider_status=m.provider_status,
                attempts=m.attempts,
                last_error=m.last_error,
                drill=m.drill,
                created_at=m.created_at,
                sent_at=m.sent_at,
                delivered_at=m.delivered_at,
            )
            for m in rows
        ],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
