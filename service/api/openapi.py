"""The OpenAPI schema the council intranet codes against, built the same way every time: served at
/openapi.json and published as docs/openapi.json, which CI compares with the app's (see
docs/openapi.md). One error component (`Error`) for every 4xx and 5xx."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = Path(__file__).with_name("examples.json")
"""Real replies (and the requests that got them) by schema name, from scripts/api_examples.py;
shown on every schema that has no example of its own."""
REGENERATE = ".venv/bin/inspection-week openapi --write docs/openapi.json"
ERROR_REF = "#/components/schemas/Error"
FASTAPI_DEFAULTS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 schema, added to any route that does not declare its 422: replaced by ours."""


def _replace_refs(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in FASTAPI_DEFAULTS:
            return {"$ref": ERROR_REF}
        return {key: _replace_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_refs(value) for value in node]
    return node


def build(app: FastAPI) -> dict[str, Any]:
    """The app's schema: FastAPI's, with its default 422 model swapped for the `Error` shape."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schema = _replace_refs(schema)
    components = schema.get("components", {}).get("schemas", {})
    for name in FASTAPI_DEFAULTS:
        components.pop(name, None)
    examples = json.loads(EXAMPLES.read_text(encoding="utf-8")) if EXAMPLES.is_file() else {}
    for name, component in components.items():
        if name in examples and "examples" not in component:
            component["examples"] = [examples[name]]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                key = f"{method.upper()} {path}"
                if code.startswith("2") and content is not None and key in examples:
                    content.setdefault("example", examples[key])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            title = (body or {}).get("schema", {}).get("title")
            if title in examples and "examples" not in body["schema"]:
                body["schema"]["examples"] = [examples[title]]
    return dict(schema)


def install(app: FastAPI) -> None:
    """Serve `build(app)` at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def text(schema: dict[str, Any]) -> str:
    """The file's text: keys sorted, two-space indent, one newline at the end, so the same schema
    is always the same bytes and a change is a readable diff."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def differences(published: str, current: str, *, limit: int = 40) -> list[str]:
    """What changed, as the first `limit` lines of a unified diff plus per-operation counts."""
    lines = list(
        difflib.unified_diff(
            published.splitlines(),
            current.splitlines(),
            fromfile="docs/openapi.json (published)",
            tofile="the app's schema",
            lineterm="",
            n=1,
        )
    )
    summary = _operations_summary(published, current)
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... {len(lines) - limit} more diff lines")
    return summary + shown


def _operations(raw: str) -> set[str]:
    try:
        paths = json.loads(raw).get("paths", {})
    except (ValueError, AttributeError):
        return set()
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item}


def _operations_summary(published: str, current: str) -> list[str]:
    before, after = _operations(published), _operations(current)
    return [f"+ operation {op}" for op in sorted(after - before)] + [
        f"- operation {op}" for op in sorted(before - after)
    ]
