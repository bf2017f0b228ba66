"""API keys for the council intranet: random, shown once, stored as a SHA-256 hash.

A key has 256 random bits, so a fast hash is safe here (unlike passwords) and keeps every
request cheap. Creating and revoking a key is recorded on the audit log with who did it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from service import audit_log
from service.db import UTCDateTime
from service.errors import Conflict, InvalidInput, NotFound

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
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "inspections:read": "Inspections, timetables, deadlines, the cascade's progress, "
    "judgements, the action statement, frameworks, working days, history",
    "inspections:write": "Announce an inspection or drill, override days, record milestones, "
    "judgements and the action statement",
    "contacts:read": "Contacts and the communication tree, and their export",
    "contacts:write": "Add, change, deactivate and import contacts",
    "templates:read": "Message templates and their previews",
    "templates:write": "Change and reset message templates",
    "plan:read": "Tasks, roles, the 18-case audit, agencies and action plans",
    "plan:write": "Change tasks, roles, the case audit, agencies and action plans",
    "admin": "Everything, and API keys, calendar feeds, closure days and the outbox",
}
ADMIN = "admin"
PREFIX = "iw_"
MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)
"""last_used_at is written at most this often: a request is not a write each time."""
LAST_ADMIN = (
    "this is the last active key with the admin scope; create another admin key first, "
    "or nobody could manage keys over the API"
)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=MAX_NAME, unique=True)
    key_prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def grants(scopes: list[str], wanted: str) -> bool:
    if ADMIN in scopes or wanted in scopes:
        return True
    resource, _, action = wanted.partition(":")
    return action == "read" and f"{resource}:write" in scopes


def create(
    session: Session, *, name: str, scopes: list[str], actor: str, now: datetime
) -> tuple[ApiKey, str]:
    """The new key and its raw value, which is shown once: only its hash is kept. A name
    already taken (revoked keys keep theirs) is a Conflict."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("name", f"must be 1 to {MAX_NAME} characters")
    if not name.isprintable():
        raise InvalidInput("name", "must not contain control characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            "scopes",
            f"unknown or missing scope {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(SCOPES)}",
        )
    if session.exec(select(ApiKey.id).where(ApiKey.name == name)).first() is not None:
        raise Conflict(f"an API key named {name!r} already exists; choose another name")
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
    audit_log.record(
        session,
        actor=actor,
        action="api_key_created",
        target=name,
        now=now,
        data={"id": key.id, "scopes": key.scopes},
    )
    return key, raw


def verify(session: Session, raw: str) -> ApiKey | None:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(raw))).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))).all())


def page(session: Session, *, after: int | None, limit: int | None) -> tuple[list[ApiKey], bool]:
    """Keys in the order they were made, after the key `after`; and whether more follow."""
    query = select(ApiKey).order_by(col(ApiKey.id))
    if after is not None:
        query = query.where(col(ApiKey.id) > after)
    if limit is None:
        return list(session.exec(query).all()), False
    rows = list(session.exec(query.limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def find(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


def revoke(session: Session, *, name: str, actor: str, now: datetime) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    return _revoke(session, key, actor=actor, now=now)


def revoke_by_id(session: Session, key_id: int, *, actor: str, now: datetime) -> ApiKey:
    return _revoke(session, find(session, key_id), actor=actor, now=now)


def _revoke(session: Session, key: ApiKey, *, actor: str, now: datetime) -> ApiKey:
    """Revoking twice is harmless (the first time stands, recorded once). The last active admin
    key is refused: the active admin keys are locked first (PostgreSQL; SQLite's writers queue
    anyway), so two admins revoking each other's key at once cannot both succeed."""
    if key.revoked_at is not None:
        return key
    if ADMIN in key.scopes:
        active = session.exec(
            select(ApiKey)
            .where(col(ApiKey.revoked_at).is_(None))
            .order_by(col(ApiKey.id))
            .with_for_update()
        ).all()
        others = [k for k in active if k.id != key.id and ADMIN in k.scopes]
        if not others:
            raise Conflict(LAST_ADMIN, id=key.id)
    key.revoked_at = now
    session.add(key)
    audit_log.record(
        session,
        actor=actor,
        action="api_key_revoked",
        target=key.name,
        now=now,
        data={"id": key.id},
    )
    return key


def touch_due(key: ApiKey, *, now: datetime) -> bool:
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


def touch(session: Session, key_id: int, *, now: datetime) -> None:
    """Record that the key was used; a no-op when another request (or replica) did so within
    the last minute, so a busy key writes once a minute at most."""
    session.execute(
        sa.update(ApiKey)
        .where(
            col(ApiKey.id) == key_id,
            sa.or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) <= now - TOUCH_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
