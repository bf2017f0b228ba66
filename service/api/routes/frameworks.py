"""The inspection frameworks this service knows (shipped and the council's own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.deps import InspectionsReader, RulesDep
from service.api.errors import error_responses
from service.api.pagination import CursorList, CursorPageDep, keyset
from service.errors import NotFound

router = APIRouter(prefix="/api/v1/frameworks", tags=["frameworks"])


class FrameworksPublic(CursorList[dict[str, Any]]):
    """Each framework as its file describes it: phases, deadline rules, open assumptions."""


@router.get(
    "",
    summary="Every framework, with phases, deadline rules and open assumptions",
    response_model=FrameworksPublic,
    responses=error_responses(401, 403, 422),
)
def list_frameworks(rules: RulesDep, _: InspectionsReader, page: CursorPageDep) -> FrameworksPublic:
    """By key."""
    found, next_cursor = keyset(
        rules.frameworks.all(), page=page, key=lambda row: (row.key,), kinds=(str,)
    )
    return FrameworksPublic(
        items=[framework.public() for framework in found], next_cursor=next_cursor
    )


@router.get(
    "/{key}",
    summary="One framework",
    responses=error_responses(401, 403, 422, described={404: "No such framework"}),
)
def read_framework(key: str, rules: RulesDep, _: InspectionsReader) -> dict[str, Any]:
    framework = rules.frameworks.get(key)
    if framework is None:
        raise NotFound(f"no framework {key!r}; known: {', '.join(rules.frameworks.keys())}")
    return framework.public()
