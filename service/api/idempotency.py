"""Idempotency-Key: a double press or a retried request returns the first result and starts
nothing twice. Keys are kept for good: announcing twice is worse than a small table."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from service.api.errors import commit_or_conflict
from service.db import UTCDateTime
from service.errors import Conflict

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


@dataclass(frozen=True)
class Once:
    """What `run_once` answered: this request's own result, or the first one's (`replayed`)."""

    status_code: int
    response: dict[str, Any]
    replayed: bool = False
    same_request: bool = True
    """False when a replayed key was first used with a different body (the API refuses it)."""


def _replay(earlier: IdempotentRequest, request_hash: str) -> Once:
    return Once(
        status_code=earlier.status_code,
        response=earlier.response,
        replayed=True,
        same_request=earlier.request_hash == request_hash,
    )


def run_once(
    session: Session,
    *,
    principal: str,
    operation: str,
    key: str | None,
    body: dict[str, Any],
    action: Callable[[], tuple[int, dict[str, Any]]],
    now: datetime,
) -> Once:
    """Run `action` and commit it with the key, or answer as the first request with this key
    did: before running, or after losing a race to a request with the same key that committed
    first (its insert of the key, or of the live inspection, made ours conflict). Without a key
    it simply runs and commits. A `Conflict` with no earlier request behind it is raised, as are
    the action's own errors (the caller rolls back)."""
    scope = {"principal": principal, "operation": operation}
    request_hash = fingerprint(body)
    if key is not None:
        earlier = find(session, key=key, **scope)
        if earlier is not None:
            return _replay(earlier, request_hash)
    try:
        status_code, response = action()
        if key is not None:
            remember(
                session,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
                now=now,
                **scope,
            )
        commit_or_conflict(session)
    except Conflict:
        session.rollback()
        earlier = find(session, key=key, **scope) if key is not None else None
        if earlier is None:
            raise
        return _replay(earlier, request_hash)
    return Once(status_code=status_code, response=response)
