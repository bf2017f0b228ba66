"""API keys as a resource: listed, made and revoked with an admin key. A new key is in the reply
that made it and nowhere else (only its hash is kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from service import api_keys
from service.api.deps import Admin, ReadSessionDep, SessionDep
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, encode_cursor
from service.db import utcnow
from service.paging import CursorList
from service.request_models import RequestBody

router = APIRouter(prefix="/api/v1/api-keys", tags=["API keys"])

DUPLICATE = "An API key with this name already exists"
NOT_FOUND = "No such API key"


class ApiKeyCreate(RequestBody):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"name": "intranet", "scopes": ["inspections:read"]}]},
    )

    name: str = PydanticField(
        min_length=1, max_length=api_keys.MAX_NAME, description="Who uses the key; unique"
    )
    scopes: list[str] = PydanticField(
        min_length=1,
        max_length=len(api_keys.SCOPES),
        description=f"Any of {', '.join(api_keys.SCOPES)}",
    )


class ApiKeyCreated(BaseModel):
    """`key` is shown here once and never again: keep it in the caller's secret store."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "name": "intranet",
                    "scopes": ["inspections:read"],
                    "key": "iw_Zq3...Xw",
                    "created_at": "2026-12-06T09:30:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    scopes: list[str]
    key: str
    created_at: datetime


class ApiKeyPublic(BaseModel):
    """A key as listed: its first characters (to recognise it), never the key."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = PydanticField(
        description="Updated at most once a minute; null when never used"
    )
    revoked_at: datetime | None


class ApiKeysPublic(CursorList[ApiKeyPublic]):
    """Oldest first, revoked keys too."""


def public(key: api_keys.ApiKey) -> ApiKeyPublic:
    assert key.id is not None
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.key_prefix,
        scopes=key.scopes,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.get(
    "",
    response_model=ApiKeysPublic,
    summary="The API keys, revoked ones too (never the keys themselves)",
    responses=error_responses(401, 403, 422, 429),
)
def list_keys(session: ReadSessionDep, _: Admin, page: CursorPageDep) -> ApiKeysPublic:
    after = page.after[1] if page.after else None
    keys, more = api_keys.page(session, after=after, limit=page.limit)
    last = keys[-1] if keys else None
    return ApiKeysPublic(
        items=[public(key) for key in keys],
        next_cursor=encode_cursor(last.created_at, last.id)
        if more and last is not None and last.id is not None
        else None,
    )


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Make an API key; the key is in this reply only",
    responses=error_responses(401, 403, 422, 429, described={409: DUPLICATE}),
)
def create_key(body: ApiKeyCreate, session: SessionDep, principal: Admin) -> ApiKeyCreated:
    key, raw = api_keys.create(
        session, name=body.name, scopes=body.scopes, actor=principal.actor, now=utcnow()
    )
    commit_or_conflict(session, f"an API key named {body.name!r} already exists")
    assert key.id is not None
    return ApiKeyCreated(
        id=key.id, name=key.name, scopes=key.scopes, key=raw, created_at=key.created_at
    )


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key: it is refused from the next request",
    responses=error_responses(
        401,
        403,
        422,
        429,
        described={
            404: NOT_FOUND,
            409: "The last active key with the admin scope cannot be revoked",
        },
    ),
)
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, principal: Admin
) -> Response:
    """Revoking a revoked key again changes nothing (204)."""
    api_keys.revoke_by_id(session, key_id, actor=principal.actor, now=utcnow())
    commit_or_conflict(session)
    return Response(status_code=204)
