"""API keys for the council intranet: random, shown once, stored as a SHA-256 hash.

A key has 256 random bits, so a fast hash is safe here (unlike passwords) and keeps every
request cheap."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from service.db import UTCDateTime
from service.errors import InvalidInput, NotFound

SCOPES = (
    "inspections:read",
    "inspections:write",
    "contacts:read",
    "contacts:write",
    "templates:read",
    "templates:write",
    "plan:read",
    "plan:write",
    "admin",
)
"""`admin` includes every other scope; a `:write` scope includes its `:read`."""
PREFIX = "iw_"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def grants(scopes: list[str], wanted: str) -> bool:
    if "admin" in scopes or wanted in scopes:
        return True
    resource, _, action = wanted.partition(":")
    return action == "read" and f"{resource}:write" in scopes


def create(session: Session, *, name: str, scopes: list[str], now: datetime) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name", "must be 1 to 100 characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            "scope",
            f"unknown or missing scope {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(SCOPES)}",
        )
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first() is not None:
        raise InvalidInput("name", f"an API key named {name!r} already exists")
    raw = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        key_prefix=raw[:10],
        key_hash=_digest(raw),
        scopes=sorted(set(scopes)),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key, raw


def verify(session: Session, raw: str) -> ApiKey | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(raw))).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))).all())


def revoke(session: Session, *, name: str, now: datetime) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    key.revoked_at = key.revoked_at or now
    session.add(key)
    return key
