"""The published schema walked operation by operation: what the council intranet relies on when
it generates a client (a summary, a typed reply, examples, one error shape, cursor paging)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.api import openapi

SCHEMA: dict[str, Any] = json.loads(openapi.PUBLISHED.read_text(encoding="utf-8"))
COMPONENTS: dict[str, Any] = SCHEMA["components"]["schemas"]
METHODS = {"get", "post", "put", "patch", "delete"}
OWN_422 = {("post", "/api/v1/contacts/import")}
"""The contacts import answers a refused file by line and column (docs/contacts-import-limits.md)
rather than by field."""
NOT_JSON = {
    ("get", "/api/v1/contacts/export"),
    ("get", "/api/v1/inspections/{inspection_id}/audit.csv"),
    ("get", "/api/v1/inspections/{inspection_id}/committee-meetings/{meeting_id}/report.csv"),
}
"""Files, not JSON: typed by their media types."""


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in sorted(SCHEMA["paths"].items())
        for method, operation in sorted(item.items())
        if method in METHODS
    ]


def ids() -> list[str]:
    return [f"{method.upper()} {path}" for method, path, _ in operations()]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def has_example(schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """An example on the model, or on each of its required properties."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return False
        return has_example(COMPONENTS[name], seen | {name})
    if "examples" in schema or "example" in schema:
        return True
    if "anyOf" in schema:
        return any(has_example(part, seen) for part in schema["anyOf"] if part != {"type": "null"})
    if schema.get("type") == "array":
        return has_example(schema.get("items", {}), seen)
    properties = schema.get("properties", {})
    required = schema.get("required", list(properties))
    return bool(required) and all(has_example(properties[name], seen) for name in required)


def json_reply(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for code, response in sorted(operation["responses"].items()):
        if code.startswith("2") and "application/json" in response.get("content", {}):
            return code, response["content"]["application/json"]
    return None


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=ids())
def test_every_operation_has_a_summary_and_a_typed_reply(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    assert operation.get("summary"), "no summary"
    codes = [code for code in operation["responses"] if code.startswith("2")]
    assert codes, "no 2xx reply"
    if (method, path) in NOT_JSON or codes == ["204"]:
        return
    reply = json_reply(operation)
    assert reply is not None, "the 2xx reply is not JSON"
    _, content = reply
    schema = content.get("schema", {})
    assert schema and schema != {}, "the 2xx reply has no type"
    assert resolve(schema).get("type") in {"object", "array"} or "anyOf" in resolve(schema)


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=ids())
def test_every_body_and_reply_carries_an_example(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        assert "example" in body or "examples" in body or has_example(body["schema"]), (
            "request body without an example"
        )
    reply = json_reply(operation)
    if reply is not None and (method, path) not in NOT_JSON:
        _, content = reply
        assert "example" in content or "examples" in content or has_example(content["schema"]), (
            "reply without an example"
        )


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=ids())
def test_every_error_is_the_one_error_shape(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    if not path.startswith("/api/"):
        return  # /healthz and /readyz answer load balancers, not the intranet
    errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
    assert "500" in errors, "500 not documented"
    if operation.get("parameters") or operation.get("requestBody"):
        assert "422" in errors, "bad input not documented"
    for code, response in errors.items():
        if code == "422" and (method, path) in OWN_422:
            continue
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": openapi.ERROR_REF}, f"{code} is not the Error shape"


def test_the_error_shape_is_detail_in_words_or_by_field() -> None:
    error = COMPONENTS["Error"]
    assert error["required"] == ["detail"]
    kinds = error["properties"]["detail"]["anyOf"]
    assert {"type": "string"} in kinds
    assert {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}} in kinds
    assert "HTTPValidationError" not in COMPONENTS


def list_operations() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for method, path, operation in operations():
        reply = json_reply(operation)
        if reply is None:
            continue
        schema = resolve(reply[1].get("schema", {}))
        if "items" in schema.get("properties", {}) or schema.get("type") == "array":
            found.append((method, path, operation))
    return found


def test_the_lists_are_found() -> None:
    paths = {path for _, path, _ in list_operations()}
    assert {
        "/api/v1/inspections",
        "/api/v1/contacts",
        "/api/v1/inspections/{inspection_id}/timeline",
        "/api/v1/inspections/{inspection_id}/tasks",
        "/api/v1/roles",
        "/api/v1/templates",
        "/api/v1/outbox",
        "/api/v1/frameworks",
        "/api/v1/history",
        "/api/v1/agencies",
    } <= paths


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    list_operations(),
    ids=[f"{m.upper()} {p}" for m, p, _ in list_operations()],
)
def test_every_list_pages_by_cursor(method: str, path: str, operation: dict[str, Any]) -> None:
    reply = json_reply(operation)
    assert reply is not None
    schema = resolve(reply[1]["schema"])
    assert schema.get("type") == "object", "a bare array cannot carry next_cursor"
    assert {"items", "next_cursor"} <= set(schema["properties"])
    assert {"items", "next_cursor"} <= set(schema["required"])
    query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    assert "offset" not in query
    limit = query["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 500, 100)
    assert "cursor" in query


def test_every_stored_example_belongs_to_a_schema_or_operation() -> None:
    """Examples are the service's own replies (scripts/api_examples.py); one whose model or route
    has gone would show nowhere."""
    stored = json.loads(openapi.EXAMPLES.read_text(encoding="utf-8"))
    titles = {
        body["schema"].get("title")
        for _, _, operation in operations()
        for body in [operation.get("requestBody", {}).get("content", {}).get("application/json")]
        if body
    }
    keys = {f"{method.upper()} {path}" for method, path, _ in operations()}
    assert set(stored) - set(COMPONENTS) - titles - keys == set()


def test_examples_use_invented_people_only() -> None:
    text = openapi.EXAMPLES.read_text(encoding="utf-8")
    addresses = {word.strip('",') for word in text.split() if "@" in word}
    assert addresses and all(address.endswith("@example.org") for address in addresses)
