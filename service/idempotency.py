"""Idempotency-Key: a double press or a retried request returns the first result and starts
nothing twice. Keys are kept for good: announcing twice is worse than a small table."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from service.db import UTCDateTime

MAX_KEY_LENGTH = 255


class IdempotentRequest(SQLModel, table=True):
    __tablename__ = "idempotent_request"
    __table_args__ = (sa.UniqueConstraint("principal", "operation", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=200)
    operation: str = Field(max_length=64)
    key: str = Field(max_length=MAX_KEY_LENGTH)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)


def fingerprint(body: dict[str, Any]) -> str:
    """Same meaning, same fingerprint: key order and white space do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def find(session: Session, *, principal: str, operation: str, key: str) -> IdempotentRequest | None:
    return session.exec(
        select(IdempotentRequest).where(
            IdempotentRequest.principal == principal,
            IdempotentRequest.operation == operation,
            IdempotentRequest.key == key,
        )
    ).first()


def remember(
    session: Session,
    *,
    principal: str,
    operation: str,
    key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        IdempotentRequest(
            principal=principal,
            operation=operation,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
            created_at=now,
        )
    )
