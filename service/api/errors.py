"""Domain errors and bad input mapped to HTTP in one place: a clear 4xx naming the field,
never a 500 with a trace."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Conflict, InvalidInput, NotFound

log = structlog.get_logger(__name__)

CHANGED_AT_ONCE = "changed at the same moment by another request; reload and try again"


def commit_or_conflict(session: Session, message: str = CHANGED_AT_ONCE) -> None:
    """Commit the request's work; a unique or foreign key that a concurrent request took first is
    a 409 the caller can retry, never a 500."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message) from exc


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field (and a position)",
        examples=[["query", "cursor"]],
    )
    msg: str = Field(examples=["is not a cursor this service gave out; start without one"])
    type: str = Field(examples=["value_error"])


class Error(BaseModel):
    """Every 4xx and 5xx the API answers (bar the contacts import's own 422, by line and column):
    `detail` says what went wrong, in words, or for a 422 as a list naming each field. A 409 may
    add the ids it concerns beside `detail`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"detail": "no inspection 0b6f2c1e-8d5a-4f7e-9c3b-2a1d4e5f6a7b"},
                {
                    "detail": [
                        {
                            "loc": ["query", "limit"],
                            "msg": "Input should be less than or equal to 500",
                            "type": "less_than_equal",
                        }
                    ]
                },
            ]
        },
    )

    detail: str | list[FieldError]


ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "No or unknown API key",
    403: "The API key lacks the scope",
    404: "No such thing; `detail` says which",
    409: "Refused in the current state; `detail` says why",
    422: "Bad input; `detail[].loc` names the field",
    429: "Too many requests by this API key; wait `Retry-After` seconds",
    500: "A fault of ours; it has been logged",
}
"""What each error status means, for every route's OpenAPI entry."""

ERROR_EXAMPLES: dict[int, Any] = {
    401: {"detail": "unknown or revoked API key"},
    403: {"detail": "this API key lacks the 'inspections:write' scope"},
    404: {"detail": "no inspection 0b6f2c1e-8d5a-4f7e-9c3b-2a1d4e5f6a7b"},
    409: {"detail": "a real inspection is already live"},
    422: {
        "detail": [
            {
                "loc": ["query", "cursor"],
                "msg": "is not a cursor this service gave out; start without one",
                "type": "value_error",
            }
        ]
    },
    429: {"detail": "too many requests; try again in 30 seconds"},
    500: {"detail": "internal error; it has been logged"},
}


def error_responses(
    *codes: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route answers, for its OpenAPI `responses`, each the one `Error`
    shape: the shared wording, or the route's own where `described` says it better (its codes
    are answered too). Every route may answer 500."""
    described = described or {}
    return {
        code: {
            "description": described.get(code) or ERROR_DESCRIPTIONS[code],
            "model": Error,
            "content": {"application/json": {"example": ERROR_EXAMPLES[code]}},
        }
        for code in sorted({*codes, *described, 500})
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Echoing the input back could repeat a huge body or personal data; say where and why.
        detail = [
            {
                "loc": list(error.get("loc", ())),
                "msg": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        return JSONResponse(status_code=422, content=jsonable_encoder({"detail": detail}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 when it cannot decode the body at all (e.g. bytes that are not
        # UTF-8); no route raises 400, so this is bad input in the body like any other.
        if exc.status_code == status.HTTP_400_BAD_REQUEST:
            return JSONResponse(
                status_code=422,
                content={
                    "detail": [{"loc": ["body"], "msg": str(exc.detail), "type": "body_unreadable"}]
                },
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        where = "query" if exc.field in request.query_params else "body"
        return JSONResponse(
            status_code=422,
            content={
                "detail": [{"loc": [where, exc.field], "msg": exc.message, "type": "value_error"}]
            },
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": exc.message})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": exc.message, **exc.context})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only what escapes UnexpectedErrors (an outer middleware) gets here; Starlette then
        # re-raises, and uvicorn closes the connection.
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(status_code=500, content={"detail": INTERNAL_ERROR})


INTERNAL_ERROR = "internal error; it has been logged"
API_PREFIX = "/api/"


class UnexpectedErrors:
    """Any exception no handler took becomes a proper 500 here (JSON under /api/, the error page
    elsewhere) and goes no further. Starlette's own last-resort handler sends its 500 and then
    re-raises, and uvicorn answers a re-raise by closing the connection, so every client holding
    a keep-alive connection would reconnect after one bad request. Added first, so it sits inside
    the other middlewares (the page still gets the security headers)."""

    def __init__(self, app: ASGIApp, page: Callable[[Request], Response]):
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except StarletteHTTPException:
            raise  # the handlers' own business (the body limit raises one from `receive`)
        except Exception:
            if started:  # half a response is out: closing the connection is all that is left
                raise
            request = Request(scope)
            log.exception("unhandled_error", path=request.url.path)
            await self._response(request)(scope, receive, send)

    def _response(self, request: Request) -> Response:
        if request.url.path.startswith(API_PREFIX) or request.url.path == API_PREFIX.rstrip("/"):
            return JSONResponse(status_code=500, content={"detail": INTERNAL_ERROR})
        try:
            return self.page(request)
        except Exception:
            log.exception("error_page_failed", path=request.url.path)
            return Response(
                "Sorry, there is a problem with the service.",
                status_code=500,
                media_type="text/plain; charset=utf-8",
            )


IMPORT_PATH_SUFFIX = "/api/v1/contacts/import"


class BodySizeLimit:
    """Refuses bodies over the limit before they are read into memory: 422 naming the body."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, scope: Scope) -> JSONResponse:
        message = f"request body is larger than {self.max_bytes} bytes"
        if str(scope.get("path", "")).endswith(IMPORT_PATH_SUFFIX):
            # The contacts import answers in its own contract shape, whatever refused the file.
            return JSONResponse(
                status_code=422,
                content={"errors": [{"line": 0, "column": "file", "message": message}]},
            )
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": message,
                        "type": "too_large",
                    }
                ]
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(scope)(scope, receive, send)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through unchanged."""

    def __init__(self, max_bytes: int):
        super().__init__(
            status_code=422,
            detail=[
                {
                    "loc": ["body"],
                    "msg": f"request body is larger than {max_bytes} bytes",
                    "type": "too_large",
                }
            ],
        )
