"""Bad input gets a 4xx naming the field in `detail[].loc`, never a 500: a table of bad requests
for every route, oversized and malformed bodies, and generated requests from the OpenAPI schema."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlmodel import Session, func, select

from service.inspections.models import Inspection
from tests.api.payloads import announce_body

URL = "/api/v1/inspections"
JSON = {"Content-Type": "application/json"}
NUL = "Harriet\x00Oyelaran"


@pytest.fixture
def inspection_id(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post(URL, json=announce_body(), headers=writer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def only_error(response: Any) -> dict[str, Any]:
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, response.text
    return detail[0]


# (what is wrong, method, path, request kwargs, expected loc); {id} is a real inspection.
BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], list[Any]]] = [
    # announce
    ("no body", "POST", URL, {}, ["body"]),
    ("body is a list", "POST", URL, {"json": [announce_body()]}, ["body"]),
    ("body is a string", "POST", URL, {"json": "announce"}, ["body"]),
    (
        "notified_at missing",
        "POST",
        URL,
        {"json": {"framework": "sif-2013"}},
        ["body", "notified_at"],
    ),
    (
        "notified_at null",
        "POST",
        URL,
        {"json": announce_body(notified_at=None)},
        ["body", "notified_at"],
    ),
    (
        "notified_at without offset",
        "POST",
        URL,
        {"json": announce_body(notified_at="2025-06-10T10:00:00")},
        ["body", "notified_at"],
    ),
    (
        "notified_at a date only",
        "POST",
        URL,
        {"json": announce_body(notified_at="2025-06-10")},
        ["body", "notified_at"],
    ),
    (
        "notified_at in British format",
        "POST",
        URL,
        {"json": announce_body(notified_at="10/06/2025 10:00")},
        ["body", "notified_at"],
    ),
    (
        "notified_at 30 February",
        "POST",
        URL,
        {"json": announce_body(notified_at="2025-02-30T10:00:00+00:00")},
        ["body", "notified_at"],
    ),
    (
        "notified_at a Unix time",
        "POST",
        URL,
        {"json": announce_body(notified_at=1749546000)},
        ["body", "notified_at"],
    ),
    (
        "notified_at a Unix time in a string",
        "POST",
        URL,
        {"json": announce_body(notified_at="1749546000")},
        ["body", "notified_at"],
    ),
    (
        "notified_at in year 1",
        "POST",
        URL,
        {"json": announce_body(notified_at="0001-01-01T00:00:00+14:00")},
        ["body", "notified_at"],
    ),
    (
        "notified_at last century",
        "POST",
        URL,
        {"json": announce_body(notified_at="1999-12-31T23:59:59+00:00")},
        ["body", "notified_at"],
    ),
    (
        "notified_at in year 9999",
        "POST",
        URL,
        {"json": announce_body(notified_at="9999-12-31T23:59:59-14:00")},
        ["body", "notified_at"],
    ),
    ("framework empty", "POST", URL, {"json": announce_body(framework="")}, ["body", "framework"]),
    (
        "framework a number",
        "POST",
        URL,
        {"json": announce_body(framework=2013)},
        ["body", "framework"],
    ),
    (
        "framework too long",
        "POST",
        URL,
        {"json": announce_body(framework="s" * 65)},
        ["body", "framework"],
    ),
    (
        "framework unknown",
        "POST",
        URL,
        {"json": announce_body(framework="sif-2009")},
        ["body", "framework"],
    ),
    (
        "drill not a boolean",
        "POST",
        URL,
        {"json": announce_body(drill="perhaps")},
        ["body", "drill"],
    ),
    ("drill a list", "POST", URL, {"json": announce_body(drill=[True])}, ["body", "drill"]),
    (
        "lead_inspector a number",
        "POST",
        URL,
        {"json": announce_body(lead_inspector=7)},
        ["body", "lead_inspector"],
    ),
    (
        "lead_inspector too long",
        "POST",
        URL,
        {"json": announce_body(lead_inspector="H" * 201)},
        ["body", "lead_inspector"],
    ),
    (
        "lead_inspector with NUL",
        "POST",
        URL,
        {"json": announce_body(lead_inspector=NUL)},
        ["body", "lead_inspector"],
    ),
    ("notes too long", "POST", URL, {"json": announce_body(notes="n" * 10_001)}, ["body", "notes"]),
    ("notes with NUL", "POST", URL, {"json": announce_body(notes=NUL)}, ["body", "notes"]),
    (
        "unknown key",
        "POST",
        URL,
        {"json": announce_body(inspector_phone="07700 900123")},
        ["body", "inspector_phone"],
    ),
    (
        "Idempotency-Key empty",
        "POST",
        URL,
        {"json": announce_body(drill=True), "headers": {"Idempotency-Key": ""}},
        ["header", "Idempotency-Key"],
    ),
    (
        "Idempotency-Key too long",
        "POST",
        URL,
        {"json": announce_body(drill=True), "headers": {"Idempotency-Key": "k" * 256}},
        ["header", "Idempotency-Key"],
    ),
    # list
    (
        "drill filter not a boolean",
        "GET",
        URL,
        {"params": {"drill": "perhaps"}},
        ["query", "drill"],
    ),
    ("limit zero", "GET", URL, {"params": {"limit": 0}}, ["query", "limit"]),
    ("limit too high", "GET", URL, {"params": {"limit": 501}}, ["query", "limit"]),
    ("limit a word", "GET", URL, {"params": {"limit": "ten"}}, ["query", "limit"]),
    ("offset negative", "GET", URL, {"params": {"offset": -1}}, ["query", "offset"]),
    ("offset of any size", "GET", URL, {"params": {"offset": 0}}, ["query", "offset"]),
    ("cursor not ours", "GET", URL, {"params": {"cursor": "bm90LWEta2V5"}}, ["query", "cursor"]),
    (
        "offset past any integer column",
        "GET",
        URL,
        {"params": {"offset": 10**30}},
        ["query", "offset"],
    ),
    # read and timeline
    ("id not a UUID", "GET", f"{URL}/not-a-uuid", {}, ["path", "inspection_id"]),
    ("id a number", "GET", f"{URL}/12345", {}, ["path", "inspection_id"]),
    ("timeline id not a UUID", "GET", f"{URL}/not-a-uuid/timeline", {}, ["path", "inspection_id"]),
    # overrides
    (
        "override id not a UUID",
        "POST",
        f"{URL}/1/timetable/overrides",
        {"json": {"date": "2025-07-03", "on_site": True}},
        ["path", "inspection_id"],
    ),
    ("override no body", "POST", f"{URL}/{{id}}/timetable/overrides", {}, ["body"]),
    (
        "override date missing",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"on_site": True}},
        ["body", "date"],
    ),
    (
        "override date month 13",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-13-03", "on_site": True}},
        ["body", "date"],
    ),
    (
        "override date in British format",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "03/07/2025", "on_site": True}},
        ["body", "date"],
    ),
    (
        "override date with a time",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-07-03T10:30:00", "on_site": True}},
        ["body", "date"],
    ),
    (
        "override on_site missing",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-07-03"}},
        ["body", "on_site"],
    ),
    (
        "override on_site not a boolean",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-07-03", "on_site": "perhaps"}},
        ["body", "on_site"],
    ),
    (
        "override unknown key",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-07-03", "on_site": True, "reason": "snow"}},
        ["body", "reason"],
    ),
    (
        "override before the call",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-06-09", "on_site": True}},
        ["body", "date"],
    ),
    (
        "override on site on a Saturday",
        "POST",
        f"{URL}/{{id}}/timetable/overrides",
        {"json": {"date": "2025-06-14", "on_site": True}},
        ["body", "date"],
    ),
    # milestones
    (
        "milestone id not a UUID",
        "POST",
        f"{URL}/abc/milestones",
        {"json": {"key": "closed", "date": "2025-12-01"}},
        ["path", "inspection_id"],
    ),
    (
        "milestone key unknown",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"key": "report_drafted", "date": "2025-08-01"}},
        ["body", "key"],
    ),
    (
        "milestone key missing",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"date": "2025-08-01"}},
        ["body", "key"],
    ),
    (
        "milestone date missing",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"key": "closed"}},
        ["body", "date"],
    ),
    (
        "milestone date a word",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"key": "closed", "date": "yesterday"}},
        ["body", "date"],
    ),
    (
        "milestone in the far future",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"key": "closed", "date": "9999-12-31"}},
        ["body", "date"],
    ),
    (
        "closed before the call",
        "POST",
        f"{URL}/{{id}}/milestones",
        {"json": {"key": "closed", "date": "2025-06-09"}},
        ["body", "date"],
    ),
    # working days
    (
        "add without from",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"days": 1}},
        ["query", "from"],
    ),
    (
        "add from 30 February",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-02-30", "days": 1}},
        ["query", "from"],
    ),
    (
        "add without days",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-07-02"}},
        ["query", "days"],
    ),
    (
        "add days a word",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-07-02", "days": "thirty"}},
        ["query", "days"],
    ),
    (
        "add days a fraction",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-07-02", "days": "1.5"}},
        ["query", "days"],
    ),
    (
        "add days too many",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-07-02", "days": 5001}},
        ["query", "days"],
    ),
    (
        "add days too many backwards",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "2025-07-02", "days": -5001}},
        ["query", "days"],
    ),
    (
        "add past year 9999",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "9999-12-31", "days": 1}},
        ["query", "days"],
    ),
    (
        "add before year 1",
        "GET",
        "/api/v1/working-days/add",
        {"params": {"from": "0001-01-01", "days": -1}},
        ["query", "days"],
    ),
    (
        "between without to",
        "GET",
        "/api/v1/working-days/between",
        {"params": {"from": "2025-07-02"}},
        ["query", "to"],
    ),
    (
        "between from a word",
        "GET",
        "/api/v1/working-days/between",
        {"params": {"from": "today", "to": "2025-07-02"}},
        ["query", "from"],
    ),
    (
        "between too far apart",
        "GET",
        "/api/v1/working-days/between",
        {"params": {"from": "2000-01-01", "to": "2099-01-01"}},
        ["query", "to"],
    ),
    (
        "between at the end of the calendar",
        "GET",
        "/api/v1/working-days/between",
        {"params": {"from": "9999-12-31", "to": "9999-12-31"}},
        ["query", "to"],
    ),
    ("check without date", "GET", "/api/v1/working-days/check", {}, ["query", "date"]),
    (
        "check date a word",
        "GET",
        "/api/v1/working-days/check",
        {"params": {"date": "tomorrow"}},
        ["query", "date"],
    ),
    # closure days
    (
        "closure date missing",
        "POST",
        "/api/v1/closure-days",
        {"json": {"reason": "Council closure"}},
        ["body", "date"],
    ),
    (
        "closure date malformed",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-32", "reason": "Council closure"}},
        ["body", "date"],
    ),
    (
        "closure reason missing",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-29"}},
        ["body", "reason"],
    ),
    (
        "closure reason blank",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-29", "reason": "   "}},
        ["body", "reason"],
    ),
    (
        "closure reason too long",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-29", "reason": "r" * 201}},
        ["body", "reason"],
    ),
    (
        "closure reason with NUL",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-29", "reason": "Council\x00closure"}},
        ["body", "reason"],
    ),
    (
        "closure unknown key",
        "POST",
        "/api/v1/closure-days",
        {"json": {"date": "2025-12-29", "reason": "Council closure", "site": "all"}},
        ["body", "site"],
    ),
    ("closure delete not a date", "DELETE", "/api/v1/closure-days/boxing-day", {}, ["path", "day"]),
]


def _route(method: str, path: str) -> str:
    parts = path.split("/")
    if len(parts) > 4 and parts[3] in ("inspections", "closure-days"):
        parts[4] = "{day}" if parts[3] == "closure-days" else "{id}"
    return f"{method} {'/'.join(parts)}"


ROUTES: dict[str, list[tuple[str, str, str, dict[str, Any], list[Any]]]] = {}
for _case in BAD_REQUESTS:
    ROUTES.setdefault(_route(_case[1], _case[2]), []).append(_case)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_bad_requests_are_422_naming_the_field(
    client: TestClient, admin: dict[str, str], inspection_id: str, route: str
) -> None:
    """One test per route (the app and database are built once for all of its cases); a
    failure lists every case that went wrong."""
    wrong = []
    for what, method, path, kwargs, loc in ROUTES[route]:
        sent = {**kwargs, "headers": {**admin, **kwargs.get("headers", {})}}
        response = client.request(method, path.format(id=inspection_id), **sent)
        if response.status_code != 422:
            wrong.append(f"{what}: {response.status_code} {response.text[:300]}")
            continue
        error = only_error(response)
        if error["loc"] != loc or not error["msg"]:
            wrong.append(f"{what}: loc {error['loc']}, wanted {loc}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.sqlite_only
def test_bad_input_is_not_echoed_back(client: TestClient, admin: dict[str, str]) -> None:
    """Replies name the field and the rule, never repeat the (possibly personal) input."""
    secret = "07700 900123"

    response = client.post(URL, json=announce_body(lead_inspector=[secret]), headers=admin)

    assert response.status_code == 422
    assert secret not in response.text


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "content",
    [b'{"notified_at": ', b"{'notified_at': 'x'}", b"\xff\xfe\x00", b"null"],
    ids=["truncated", "single quotes", "not UTF-8", "null"],
)
def test_malformed_json_is_422_on_the_body(
    client: TestClient, writer: dict[str, str], content: bytes
) -> None:
    response = client.post(URL, content=content, headers={**writer, **JSON})

    assert response.status_code == 422, response.text
    assert only_error(response)["loc"][0] == "body"


@pytest.mark.sqlite_only
def test_json_sent_as_text_is_422_on_the_body(client: TestClient, writer: dict[str, str]) -> None:
    response = client.post(
        URL,
        content=json.dumps(announce_body()),
        headers={**writer, "Content-Type": "text/plain"},
    )

    assert response.status_code == 422
    assert only_error(response)["loc"] == ["body"]


# --- body size -----------------------------------------------------------------------------


def _count(session: Session) -> int:
    try:
        return session.exec(select(func.count()).select_from(Inspection)).one()
    finally:
        session.rollback()  # on SQLite every transaction holds the write lock


def _padded(size: int) -> bytes:
    """A valid announce body, padded with JSON white space to exactly `size` bytes."""
    body = json.dumps(announce_body(drill=True)).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_of_exactly_the_limit_is_read(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    limit = client.app.state.settings.max_body_bytes

    response = client.post(URL, content=_padded(limit), headers={**writer, **JSON})

    assert response.status_code == 201, response.text
    assert _count(session) == 1


def test_a_body_over_the_limit_is_422_on_the_body(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    limit = client.app.state.settings.max_body_bytes

    response = client.post(URL, content=_padded(limit + 1), headers={**writer, **JSON})

    assert response.status_code == 422
    error = only_error(response)
    assert (error["loc"], error["type"]) == (["body"], "too_large")
    assert str(limit) in error["msg"]
    assert _count(session) == 0


def test_a_chunked_body_over_the_limit_is_422_on_the_body(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    """Without a Content-Length the limit is enforced while reading."""
    limit = client.app.state.settings.max_body_bytes
    body = _padded(limit + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    response = client.post(URL, content=chunks(), headers={**writer, **JSON})

    assert response.status_code == 422
    assert only_error(response)["loc"] == ["body"]
    assert _count(session) == 0


def test_a_streamed_body_stops_being_read_soon_after_the_limit(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    """Driven at the ASGI level, so that the body arrives as many messages, the way a server
    delivers a chunked upload: the app answers without reading the rest."""
    limit = client.app.state.settings.max_body_bytes
    chunk = b" " * 65_536
    total_chunks = 4 * limit // len(chunk)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > total_chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": pulled < total_chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", writer["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    asyncio.run(client.app(scope, receive, send))

    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 422
    assert json.loads(body)["detail"][0]["loc"] == ["body"]
    assert pulled * len(chunk) <= limit + len(chunk)
    assert _count(session) == 0


# --- generated requests --------------------------------------------------------------------

SWEEP = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
NO_PARAMETERS = {"/healthz", "/readyz"}


def schema_of(client: TestClient) -> Any:
    """The app's own OpenAPI schema, called in process through the running `client`."""
    app = client.app

    async def lifespan_already_running(scope: Any, receive: Any, send: Any) -> None:
        # The `client` fixture runs the app's lifespan; a second one would start its background
        # work twice, on another event loop. Answer schemathesis' lifespan here instead.
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return schemathesis.openapi.from_asgi("/openapi.json", lifespan_already_running)


@pytest.mark.sqlite_only
def test_requests_generated_from_the_openapi_schema_never_get_a_server_error(
    client: TestClient, admin: dict[str, str], inspection_id: str
) -> None:
    """Schemathesis reads the app's own schema and sends valid and invalid requests to every
    operation (with a random id, and with the id of a real inspection, so that override and
    milestone bodies reach the rules). Only a 5xx fails."""
    schema = schema_of(client)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/api/v1/inspections",
        "/api/v1/inspections/{inspection_id}/milestones",
        "/api/v1/working-days/add",
        "/api/v1/closure-days/{day}",
    }
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.path not in NO_PARAMETERS:
            modes.append(GenerationMode.NEGATIVE)
        fixed: list[dict[str, Any] | None] = [None]
        if "{inspection_id}" in operation.path:
            fixed.append({"inspection_id": inspection_id})
        for mode in modes:
            for path_parameters in fixed:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )

                @SWEEP
                @given(case=strategy)
                def no_server_error(case: Any) -> None:
                    case.call_and_validate(headers=admin, checks=[not_a_server_error])

                no_server_error()


def valid_producer_body(case: Any, number: int) -> dict[str, Any] | None:
    """A body the two producers accept, over what was generated: generated bodies are almost
    never a valid announcement or contact, and without a 201 no chain reaches a real record."""
    route = (case.method, case.operation.path)
    generated = case.body if isinstance(case.body, dict) else {}
    if route == ("POST", URL):
        return {**generated, **announce_body(drill=True)}
    if route == ("POST", "/api/v1/contacts"):
        valid = {"id": f"S{number:03}", "name": "Tomasz Wójcik", "email": "tomasz@example.org"}
        return {**generated, **valid, "reports_to": None, "deputy": None, "mobile": None}
    return None


@pytest.mark.sqlite_only
def test_sequences_of_calls_linked_through_their_replies_never_get_a_server_error(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Stateful: Schemathesis links operations by what one reply gives and another takes (an
    announced inspection's id into its timetable, milestones, tasks and audit; a contact's id
    into its routes) and runs chains of calls, so the later calls reach real records. Only a
    5xx fails; at least one chain must have reached a record another call created."""
    schema = schema_of(client)
    workflow = schema.as_state_machine()
    assert "POST /api/v1/inspections -> 201" in workflow.bundles, "no links to follow"
    reached: list[str] = []
    numbers = itertools.count(1)

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            case.headers = {**(case.headers or {}), **admin}  # not a generated credential
            body = valid_producer_body(case, next(numbers))
            if body is not None:
                # A new record every time, never a replay: the database outlives each example,
                # and a chain that got a 201 must get it again when Hypothesis replays it.
                case.body = body
                case.headers = {
                    name: value
                    for name, value in case.headers.items()
                    if name.lower() != "idempotency-key"
                }

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            if "{" in case.operation.path and response.status_code < 400:
                reached.append(case.operation.path)
            case.validate_response(response, checks=[not_a_server_error])

    Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert reached, "no call reached a record made earlier in its chain"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fields(names: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with some of the real field names, each holding a plausible or any JSON value."""
    return st.fixed_dictionaries(
        {}, optional={name: plausible | JSON_VALUES for name, plausible in names.items()}
    )


DATES = st.dates().map(lambda d: d.isoformat()) | st.text(max_size=12)
ANNOUNCE_BODIES = _fields(
    {
        "framework": st.sampled_from(["sif-2013", "ilacs-standard", "ilacs-short"]),
        "notified_at": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        "lead_inspector": st.text(max_size=210),
        "drill": st.booleans(),
        "notes": st.text(),
    }
)
OVERRIDE_BODIES = _fields({"date": DATES, "on_site": st.booleans()})
MILESTONE_BODIES = _fields(
    {
        "key": st.sampled_from(["report_published", "action_statement_published", "closed"]),
        "date": DATES,
    }
)


@pytest.mark.parametrize(
    ("path", "bodies"),
    [
        (URL, ANNOUNCE_BODIES | JSON_VALUES),
        (f"{URL}/{{id}}/timetable/overrides", OVERRIDE_BODIES | JSON_VALUES),
        (f"{URL}/{{id}}/milestones", MILESTONE_BODIES | JSON_VALUES),
    ],
    ids=["announce", "override", "milestone"],
)
def test_generated_bodies_get_a_4xx_naming_the_body_or_succeed(
    client: TestClient,
    writer: dict[str, str],
    inspection_id: str,
    path: str,
    bodies: st.SearchStrategy[Any],
) -> None:
    """Any JSON at all, and bodies close to valid, straight at the three write routes."""

    @settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(body=bodies)
    def answered(body: Any) -> None:
        response = client.post(path.format(id=inspection_id), json=body, headers=writer)
        assert response.status_code < 500, (body, response.text)
        if response.status_code == 422:
            for error in response.json()["detail"]:
                assert error["loc"][0] in ("body", "header"), error

    answered()


@pytest.mark.sqlite_only
def test_the_schema_documents_the_error_replies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    announce = schema["paths"][URL]["post"]

    assert {"201", "200", "401", "403", "409", "422"} <= set(announce["responses"])
    assert announce["requestBody"]["content"]["application/json"]
