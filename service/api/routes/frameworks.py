"""The inspection frameworks this service knows (shipped and the council's own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.deps import InspectionsReader, RulesDep
from service.api.errors import error_responses
from service.errors import NotFound

router = APIRouter(prefix="/api/v1/frameworks", tags=["frameworks"])


@router.get(
    "",
    summary="Every framework, with phases, deadline rules and open assumptions",
    responses=error_responses(401, 403),
)
def list_frameworks(rules: RulesDep, _: InspectionsReader) -> dict[str, list[dict[str, Any]]]:
    return {"items": [framework.public() for framework in rules.frameworks.all()]}


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
