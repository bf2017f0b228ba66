"""A local GOV.UK Notify for tests and benchmarks: a real HTTP server that checks requests the way
Notify's REST API (v2) does and answers in its shapes.

What it checks, as Notify does:
- the bearer JWT: HS256 signature with the service's secret, `iss` = service id, `iat` within
  30 seconds of the server's clock (401/403 AuthError with Notify's messages otherwise);
- POST /v2/notifications/email and /sms: required fields, no unknown fields, UUID template ids of
  templates that exist and are of the right type, every placeholder personalised, UK mobile numbers
  (spaces, dashes and brackets removed, +44/0044/0 prefix dropped: 10 digits starting with 7),
  e-mail addresses, the 918-character SMS limit;
- GET /v2/notifications/{id} and GET /v2/notifications?reference=...

It records every request (with the token's claims) and every accepted notification, and can be
told to misbehave for the next N API requests: 429 RateLimitError (with Retry-After), 429
TooManyRequestsError, 5xx, slow answers (the notification is still accepted after the delay, as a
real one can be after the client gave up), a clock offset, and refusing a given recipient.

In a test: `FakeNotify().start()` runs it in a thread on a free loopback port (the `fake_notify`
fixture does this). For a benchmark, as a process:
    python tests/notify/fake_notify.py --port 8765
prints one JSON line (base_url, api_key, template ids) and serves until stopped; drive it with
`FakeNotifyControl(base_url)`. `python tests/notify/fake_notify.py --ceiling URL` measures how many
sends a second a running fake accepts."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import socket
import string
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

# Invented identifiers: a service, its secret and two templates that exist only here.
DEFAULT_SERVICE_ID = "5c1f0b9e-8a47-4d6e-b2c3-7e9d1a0f4b21"
DEFAULT_SECRET = "d3a9c1e7-2b4f-4f8a-9e6d-0c5b7a1e3f92"
DEFAULT_KEY_NAME = "inspection_week_live"
DEFAULT_EMAIL_TEMPLATE_ID = "0b6f7c3a-91d2-4e58-a7b4-3f2e1d0c9b8a"
DEFAULT_SMS_TEMPLATE_ID = "7e2d4a1b-5c3f-4b9e-8d6a-2a1f0e9c8b7d"

TOKEN_BOUND_SECONDS = 30
SMS_CHAR_COUNT_LIMIT = 918
PAGE_SIZE = 250
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

GENERAL_TOKEN_ERROR_MESSAGE = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
CLOCK_MESSAGE = "Error: Your system clock must be accurate to within 30 seconds"
KEY_NOT_FOUND_MESSAGE = "Invalid token: API key not found"

NOTIFY_STATUSES = (
    "created",
    "sending",
    "pending",
    "sent",
    "delivered",
    "permanent-failure",
    "temporary-failure",
    "technical-failure",
)
FINAL_STATUSES = frozenset(NOTIFY_STATUSES) - {"created", "sending", "pending"}

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_PLACEHOLDER_RE = re.compile(r"\(\(([^()]+)\)\)")
_GSM_EXTENDED = set("^{}\\[~]|€")


def _now_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime(DATETIME_FORMAT)


# --- recipient rules (after notifications-utils) --------------------------------------------------


class InvalidRecipient(ValueError):
    pass


def normalise_uk_mobile(number: str) -> str:
    """'07700 900123', '+44 (0)7700-900123', '0044 7700 900123' → '447700900123'; raises
    InvalidRecipient with Notify's wording otherwise."""
    for character in string.whitespace + "\u00a0\u200b()-+":
        number = number.replace(character, "")
    if not number or not all(c in string.digits for c in number):
        raise InvalidRecipient("Must not contain letters or symbols")
    number = number.lstrip("0")
    if number.startswith("44"):
        number = number[2:]
    number = number.lstrip("0")
    if not number.startswith("7"):
        raise InvalidRecipient("Not a UK mobile number")
    if len(number) > 10:
        raise InvalidRecipient("Too many digits")
    if len(number) < 10:
        raise InvalidRecipient("Not enough digits")
    return "44" + number


_EMAIL_RE = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-]+@([^.@][^@\s]+)$")
_HOSTNAME_PART = re.compile(r"^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$", re.I)
_TLD_PART = re.compile(r"^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$", re.I)


def normalise_email(address: str) -> str:
    address = address.strip()
    match = _EMAIL_RE.match(address)
    if not match or len(address) > 320 or ".." in address:
        raise InvalidRecipient("Not a valid email address")
    try:
        hostname = match.group(1).encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidRecipient("Not a valid email address") from None
    parts = hostname.split(".")
    if len(hostname) > 253 or len(parts) < 2:
        raise InvalidRecipient("Not a valid email address")
    for part in parts:
        if not part or len(part) > 63 or not _HOSTNAME_PART.match(part):
            raise InvalidRecipient("Not a valid email address")
    if not _TLD_PART.match(parts[-1]):
        raise InvalidRecipient("Not a valid email address")
    return address.lower()


def _normalise_any(recipient: str) -> str:
    try:
        return normalise_email(recipient) if "@" in recipient else normalise_uk_mobile(recipient)
    except InvalidRecipient:
        return recipient.strip().lower()


# --- state ----------------------------------------------------------------------------------------


@dataclass
class Template:
    id: str
    type: str  # "email" or "sms"
    content: str
    subject: str | None = None
    version: int = 1


@dataclass
class Fault:
    kind: str  # "rate_limit" | "daily_limit" | "server_error" | "slow"
    remaining: int
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    jwt_header: dict[str, Any] | None
    jwt_claims: dict[str, Any] | None
    received_at: float
    client: tuple[str, int] | None = None
    """The caller's address and port: one port across requests means a kept-alive connection."""
    status: int | None = None


@dataclass
class Notification:
    """One accepted notification: `api` is what GET returns; the rest is for tests."""

    api: dict[str, Any]
    personalisation: dict[str, Any]
    normalised_to: str
    request_body: dict[str, Any]
    jwt_claims: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.api["id"]

    @property
    def reference(self) -> str | None:
        return self.api["reference"]

    @property
    def type(self) -> str:
        return self.api["type"]

    @property
    def status(self) -> str:
        return self.api["status"]


class _NotifyError(Exception):
    def __init__(self, status: int, errors: list[tuple[str, str]], headers: dict | None = None):
        self.status = status
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "status_code": self.status,
                "errors": [{"error": e, "message": m} for e, m in self.errors],
            },
            status_code=self.status,
            headers=self.headers,
        )


class FakeNotify:
    """The fake's state, its Starlette app and (once started) its server thread."""

    def __init__(
        self,
        *,
        service_id: str = DEFAULT_SERVICE_ID,
        secret: str = DEFAULT_SECRET,
        key_name: str = DEFAULT_KEY_NAME,
        email_template_id: str = DEFAULT_EMAIL_TEMPLATE_ID,
        sms_template_id: str = DEFAULT_SMS_TEMPLATE_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        from_email: str = "inspection.week@notifications.service.gov.uk",
        from_number: str = "InspWeek",
        daily_limit: int = 250_000,
        rate_limit_per_minute: int = 3000,
        keep_requests: int = 10_000,
        latency: float = 0.0,
    ):
        self.service_id = service_id
        self.secret = secret
        self.key_name = key_name
        self.email_template_id = email_template_id
        self.sms_template_id = sms_template_id
        self.host = host
        self.port = port
        self.from_email = from_email
        self.from_number = from_number
        self.daily_limit_number = daily_limit
        self.rate_limit_per_minute = rate_limit_per_minute
        self._lock = threading.Lock()
        self._in_flight = 0
        self._keep_requests = keep_requests
        self.latency = latency
        """Seconds added to every API answer, as the real service's round trip over the internet."""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = self._build_app()
        self.reset()

    # -- identity --

    @property
    def api_key(self) -> str:
        return f"{self.key_name}-{self.service_id}-{self.secret}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- control (Python) --

    def reset(self) -> None:
        """Forget notifications, requests, faults, refusals and the clock offset; restore the two
        default templates."""
        with self._lock:
            self.templates: dict[str, Template] = {
                self.email_template_id: Template(
                    self.email_template_id, "email", "((body))", subject="((subject))"
                ),
                self.sms_template_id: Template(self.sms_template_id, "sms", "((body))"),
            }
            self._notifications: dict[str, Notification] = {}
            self._by_reference: dict[str, list[str]] = collections.defaultdict(list)
            self._requests: collections.deque[RecordedRequest] = collections.deque(
                maxlen=self._keep_requests
            )
            self._faults: collections.deque[Fault] = collections.deque()
            self._rejected: dict[str, tuple[str, str]] = {}
            self.clock_offset = 0.0

    def rate_limit(self, times: int = 1, retry_after: float | None = None) -> None:
        """The next `times` API requests get 429 RateLimitError (with `Retry-After` if given)."""
        self._add_fault(Fault("rate_limit", times, status=429, retry_after=retry_after))

    def daily_limit(self, times: int = 1) -> None:
        """The next `times` API requests get 429 TooManyRequestsError (daily limit spent)."""
        self._add_fault(Fault("daily_limit", times, status=429))

    def server_error(
        self, times: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        """The next `times` API requests get a 5xx: 500 in Notify's JSON shape, any other status
        as a gateway's plain-text page."""
        self._add_fault(Fault("server_error", times, status=status, retry_after=retry_after))

    def slow(self, times: int = 1, delay: float = 1.0) -> None:
        """The next `times` API requests are answered after `delay` seconds, and still processed:
        a send whose client timed out may well have been accepted."""
        self._add_fault(Fault("slow", times, delay=delay))

    def reject_recipient(
        self, recipient: str, message: str | None = None, error: str = "ValidationError"
    ) -> None:
        """Refuse sends to this number or address with a 400 (Notify's wording by default)."""
        if "@" in recipient:
            message = message or "email_address Not a valid email address"
        else:
            message = message or "phone_number Not a UK mobile number"
        with self._lock:
            self._rejected[_normalise_any(recipient)] = (error, message)

    reject_number = reject_recipient

    def set_clock_offset(self, seconds: float) -> None:
        """Make the server's clock run `seconds` ahead (negative: behind) of this machine's."""
        with self._lock:
            self.clock_offset = float(seconds)

    def add_template(self, template_type: str, content: str, subject: str | None = None) -> str:
        template_id = str(uuid.uuid4())
        with self._lock:
            self.templates[template_id] = Template(template_id, template_type, content, subject)
        return template_id

    def _add_fault(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.popleft()
            return fault

    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    # -- what happened --

    def notifications(self) -> list[Notification]:
        """Every accepted notification, oldest first."""
        with self._lock:
            return list(self._notifications.values())

    def notification(self, notification_id: str) -> Notification | None:
        with self._lock:
            return self._notifications.get(notification_id)

    def by_reference(self, reference: str) -> list[Notification]:
        with self._lock:
            return [self._notifications[i] for i in self._by_reference.get(reference, [])]

    def requests(self) -> list[RecordedRequest]:
        """Every request received (the latest `keep_requests`), oldest first."""
        with self._lock:
            return list(self._requests)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no API request is being handled (a slow one outlives its client)."""

        def idle(fake: FakeNotify) -> bool:
            with fake._lock:
                return fake._in_flight == 0

        return self.wait_for(idle, timeout)

    def wait_for(self, predicate: Callable[[FakeNotify], bool], timeout: float = 5.0) -> bool:
        """Poll until `predicate(self)` holds (for work that finishes after the client gave up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.01)
        return predicate(self)

    # -- callbacks Notify would make --

    def set_status(
        self, notification_id: str, status: str, at: float | None = None
    ) -> dict[str, Any]:
        """Move a notification on (delivered, permanent-failure, ...) and return the delivery-status
        callback body Notify would POST for it."""
        if status not in NOTIFY_STATUSES:
            raise ValueError(f"not a Notify status: {status}")
        moment = time.time() + self.clock_offset if at is None else at
        with self._lock:
            record = self._notifications[notification_id]
            api = record.api
            api["status"] = status
            if status != "created" and api["sent_at"] is None:
                api["sent_at"] = _now_text(moment)
            if status in FINAL_STATUSES:
                api["completed_at"] = _now_text(moment)
            return self._receipt_body(record)

    def receipt(self, notification_id: str) -> dict[str, Any]:
        """The delivery-status callback body for a notification as it stands."""
        with self._lock:
            return self._receipt_body(self._notifications[notification_id])

    @staticmethod
    def _receipt_body(record: Notification) -> dict[str, Any]:
        api = record.api
        return {
            "id": api["id"],
            "reference": api["reference"],
            "to": api["email_address"] or api["phone_number"],
            "status": api["status"],
            "created_at": api["created_at"],
            "completed_at": api["completed_at"],
            "sent_at": api["sent_at"],
            "notification_type": api["type"],
            "template_id": api["template"]["id"],
            "template_version": api["template"]["version"],
        }

    def inbound_sms(
        self, source_number: str, message: str, destination_number: str = "07700900000"
    ) -> dict[str, Any]:
        """The received-text-message callback body Notify would POST (sender as '447700900123')."""
        return {
            "id": str(uuid.uuid4()),
            "source_number": normalise_uk_mobile(source_number),
            "destination_number": destination_number,
            "message": message,
            "date_received": _now_text(time.time() + self.clock_offset),
        }

    @staticmethod
    def post_callback(
        url: str, bearer_token: str, body: dict[str, Any], timeout: float = 10.0
    ) -> httpx.Response:
        """POST a callback body to a URL the way Notify does (JSON, bearer token)."""
        return httpx.post(
            url,
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {bearer_token}"},
            timeout=timeout,
        )

    # -- server lifecycle --

    def start(self, timeout: float = 10.0) -> FakeNotify:
        """Serve in a background thread on `host:port` (port 0: a free one, then in `self.port`)."""
        if self._thread is not None:
            return self
        self._socket = self.bind()
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="fake-notify",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Notify server did not start")
            time.sleep(0.01)
        return self

    def bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        return sock

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> FakeNotify:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- HTTP --

    def _build_app(self) -> Starlette:
        routes = [
            Route("/v2/notifications/email", self._api(self._post_email), methods=["POST"]),
            Route("/v2/notifications/sms", self._api(self._post_sms), methods=["POST"]),
            Route("/v2/notifications/{notification_id}", self._api(self._get_one), methods=["GET"]),
            Route("/v2/notifications", self._api(self._get_many), methods=["GET"]),
            Route("/_fake/health", self._ctl_health, methods=["GET"]),
            Route("/_fake/notifications", self._ctl_notifications, methods=["GET"]),
            Route("/_fake/requests", self._ctl_requests, methods=["GET"]),
            Route("/_fake/reset", self._ctl_reset, methods=["POST"]),
            Route("/_fake/faults", self._ctl_faults, methods=["POST"]),
            Route("/_fake/reject", self._ctl_reject, methods=["POST"]),
            Route("/_fake/clock", self._ctl_clock, methods=["POST"]),
            Route("/_fake/status", self._ctl_status, methods=["POST"]),
            Route(
                "/{path:path}",
                self._api(self._not_found),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]
        return Starlette(routes=routes)

    def _api(
        self, handler: Callable[[Request, Any, dict[str, Any]], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Record, apply the next fault, authenticate, then handle."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()  # read before any delay: the client may leave meanwhile
            try:
                body = json.loads(raw) if raw else None
                body_ok = True
            except (json.JSONDecodeError, UnicodeDecodeError):
                body, body_ok = raw.decode("utf-8", "replace"), False
            recorded = self._record(request, body)
            with self._lock:
                self._in_flight += 1
            try:
                response = await self._respond(request, handler, body, body_ok)
            finally:
                with self._lock:
                    self._in_flight -= 1
            recorded.status = response.status_code
            return response

        return endpoint

    async def _respond(self, request: Request, handler: Any, body: Any, body_ok: bool) -> Response:
        fault = self._take_fault()
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "server_error":
            headers = (
                {"Retry-After": _fmt(fault.retry_after)} if fault.retry_after is not None else {}
            )
            if fault.status == 500:
                return _NotifyError(
                    500, [("Exception", "Internal server error")], headers
                ).response()
            return PlainTextResponse(
                f"{fault.status} upstream unavailable", status_code=fault.status, headers=headers
            )
        try:
            claims = self._authenticate(request.headers.get("Authorization"))
            if fault is not None and fault.kind == "rate_limit":
                headers = (
                    {"Retry-After": _fmt(fault.retry_after)}
                    if fault.retry_after is not None
                    else {}
                )
                raise _NotifyError(
                    429,
                    [
                        (
                            "RateLimitError",
                            f"Exceeded rate limit for key type LIVE of "
                            f"{self.rate_limit_per_minute} requests per 60 seconds",
                        )
                    ],
                    headers,
                )
            if fault is not None and fault.kind == "daily_limit":
                raise _NotifyError(
                    429,
                    [
                        (
                            "TooManyRequestsError",
                            f"Exceeded send limits ({self.daily_limit_number}) for today",
                        )
                    ],
                )
            if not body_ok:
                raise _NotifyError(400, [("BadRequestError", "Invalid JSON supplied in POST data")])
            return await handler(request, body, claims)
        except _NotifyError as exc:
            return exc.response()

    def _record(self, request: Request, body: Any) -> RecordedRequest:
        header = request.headers.get("Authorization", "")
        jwt_header = jwt_claims = None
        if header[:7].title() == "Bearer ":
            try:
                jwt_header = jwt.get_unverified_header(header[7:])
                jwt_claims = jwt.decode(header[7:], options={"verify_signature": False})
            except jwt.PyJWTError:
                pass
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            jwt_header=jwt_header,
            jwt_claims=jwt_claims,
            received_at=time.time(),
            client=(request.client.host, request.client.port) if request.client else None,
        )
        with self._lock:
            self._requests.append(recorded)
        return recorded

    def _authenticate(self, header: str | None) -> dict[str, Any]:
        """Notify's checks, in Notify's order, with its messages."""
        if not header:
            raise _NotifyError(
                401, [("AuthError", "Unauthorized: authentication token must be provided")]
            )
        if header[:7].title() != "Bearer ":
            raise _NotifyError(
                401, [("AuthError", "Unauthorized: authentication bearer scheme must be used")]
            )
        token = header[7:]
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            token_header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _NotifyError(403, [("AuthError", GENERAL_TOKEN_ERROR_MESSAGE)]) from None
        if "iss" not in unverified:
            raise _NotifyError(403, [("AuthError", "Invalid token: iss field not provided")])
        try:
            issuer = str(uuid.UUID(str(unverified["iss"])))
        except ValueError:
            raise _NotifyError(
                403, [("AuthError", "Invalid token: service id is not the right data type")]
            ) from None
        if issuer != self.service_id:
            raise _NotifyError(403, [("AuthError", "Invalid token: service not found")])
        if token_header.get("alg") != "HS256":
            raise _NotifyError(403, [("AuthError", "Invalid token: algorithm used is not HS256")])
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise _NotifyError(403, [("AuthError", KEY_NOT_FOUND_MESSAGE)]) from None
        if "iat" not in claims:
            raise _NotifyError(403, [("AuthError", KEY_NOT_FOUND_MESSAGE)])
        try:
            iat = int(claims["iat"])
        except (TypeError, ValueError):
            raise _NotifyError(403, [("AuthError", CLOCK_MESSAGE)]) from None
        now = int(time.time() + self.clock_offset)
        if now > iat + TOKEN_BOUND_SECONDS or iat > now + TOKEN_BOUND_SECONDS:
            raise _NotifyError(403, [("AuthError", CLOCK_MESSAGE)])
        return claims

    # -- API handlers --

    async def _post_email(self, request: Request, body: Any, claims: dict[str, Any]) -> Response:
        return self._post(
            "email",
            body,
            claims,
            recipient_field="email_address",
            allowed={
                "email_address",
                "template_id",
                "personalisation",
                "reference",
                "email_reply_to_id",
                "one_click_unsubscribe_url",
                "scheduled_for",
            },
        )

    async def _post_sms(self, request: Request, body: Any, claims: dict[str, Any]) -> Response:
        return self._post(
            "sms",
            body,
            claims,
            recipient_field="phone_number",
            allowed={
                "phone_number",
                "template_id",
                "personalisation",
                "reference",
                "sms_sender_id",
                "scheduled_for",
            },
        )

    def _post(
        self,
        notification_type: str,
        body: Any,
        claims: dict[str, Any],
        *,
        recipient_field: str,
        allowed: set[str],
    ) -> Response:
        if not isinstance(body, dict):
            raise _NotifyError(400, [("ValidationError", f"{_show(body)} is not of type object")])
        errors: list[tuple[str, str]] = []
        for required in (recipient_field, "template_id"):
            if required not in body:
                errors.append(("ValidationError", f"{required} is a required property"))
        unexpected = sorted(set(body) - allowed)
        if unexpected:
            errors.append(
                (
                    "ValidationError",
                    "Additional properties are not allowed ({} {} unexpected)".format(
                        ", ".join(repr(u) for u in unexpected),
                        "was" if len(unexpected) == 1 else "were",
                    ),
                )
            )
        for name in ("template_id", "email_reply_to_id", "sms_sender_id"):
            if name in body and not (isinstance(body[name], str) and _UUID_RE.match(body[name])):
                errors.append(("ValidationError", f"{name} is not a valid UUID"))
        if "reference" in body and not isinstance(body["reference"], str):
            errors.append(
                ("ValidationError", f"reference {_show(body['reference'])} is not of type string")
            )
        personalisation = body.get("personalisation") or {}
        if "personalisation" in body and not isinstance(body["personalisation"], dict):
            errors.append(
                (
                    "ValidationError",
                    f"personalisation {_show(body['personalisation'])} is not of type object",
                )
            )
            personalisation = {}
        recipient = body.get(recipient_field)
        normalised = None
        if recipient_field in body:
            if not isinstance(recipient, str):
                errors.append(
                    (
                        "ValidationError",
                        f"{recipient_field} {_show(recipient)} is not of type string",
                    )
                )
            else:
                try:
                    normalised = (
                        normalise_email(recipient)
                        if notification_type == "email"
                        else normalise_uk_mobile(recipient)
                    )
                except InvalidRecipient as exc:
                    errors.append(("ValidationError", f"{recipient_field} {exc}"))
        if errors:
            raise _NotifyError(400, errors)

        with self._lock:
            template = self.templates.get(body["template_id"].lower())
            rejected = self._rejected.get(normalised or "")
        if template is None:
            raise _NotifyError(400, [("BadRequestError", "Template not found")])
        if template.type != notification_type:
            raise _NotifyError(
                400,
                [
                    (
                        "BadRequestError",
                        f"{template.type} template is not suitable for "
                        f"{notification_type} notification",
                    )
                ],
            )
        rendered_body, missing = _render(template.content, personalisation)
        rendered_subject, missing_subject = (
            _render(template.subject, personalisation)
            if template.subject is not None
            else (None, [])
        )
        missing = sorted(set(missing) | set(missing_subject))
        if missing:
            raise _NotifyError(
                400, [("BadRequestError", f"Missing personalisation: {', '.join(missing)}")]
            )
        if not rendered_body.strip():
            raise _NotifyError(400, [("BadRequestError", "Your message is empty.")])
        if notification_type == "sms":
            count = len(rendered_body) + sum(1 for c in rendered_body if c in _GSM_EXTENDED)
            if count > SMS_CHAR_COUNT_LIMIT:
                raise _NotifyError(
                    400,
                    [
                        (
                            "BadRequestError",
                            f"Your message is too long. Text messages cannot be longer than "
                            f"{SMS_CHAR_COUNT_LIMIT} characters. "
                            f"Your message is {count} characters long.",
                        )
                    ],
                )
        if rejected is not None:
            raise _NotifyError(400, [rejected])

        notification_id = str(uuid.uuid4())
        created = _now_text(time.time() + self.clock_offset)
        template_uri = f"{self.base_url}/v2/template/{template.id}/version/{template.version}"
        api = {
            "id": notification_id,
            "reference": body.get("reference"),
            "email_address": recipient if notification_type == "email" else None,
            "phone_number": recipient if notification_type == "sms" else None,
            "line_1": None,
            "line_2": None,
            "line_3": None,
            "line_4": None,
            "line_5": None,
            "line_6": None,
            "postcode": None,
            "type": notification_type,
            "status": "created",
            "template": {"id": template.id, "version": template.version, "uri": template_uri},
            "body": rendered_body,
            "subject": " ".join(rendered_subject.split()) if rendered_subject is not None else None,
            "created_at": created,
            "created_by_name": None,
            "sent_at": None,
            "completed_at": None,
            "scheduled_for": None,
            "postage": None,
        }
        record = Notification(
            api=api,
            personalisation=dict(personalisation),
            normalised_to=normalised or "",
            request_body=dict(body),
            jwt_claims=dict(claims),
        )
        with self._lock:
            self._notifications[notification_id] = record
            if api["reference"] is not None:
                self._by_reference[api["reference"]].append(notification_id)
        content: dict[str, Any] = {"body": rendered_body}
        if notification_type == "email":
            content.update(
                subject=api["subject"], from_email=self.from_email, one_click_unsubscribe_url=None
            )
        else:
            content.update(from_number=self.from_number)
        return JSONResponse(
            {
                "id": notification_id,
                "reference": api["reference"],
                "content": content,
                "uri": f"{self.base_url}/v2/notifications/{notification_id}",
                "template": dict(api["template"]),
                "scheduled_for": None,
            },
            status_code=201,
        )

    async def _get_one(self, request: Request, body: Any, claims: dict[str, Any]) -> Response:
        notification_id = request.path_params["notification_id"]
        if not _UUID_RE.match(notification_id):
            raise _NotifyError(400, [("ValidationError", "notification_id is not a valid UUID")])
        record = self.notification(notification_id.lower())
        if record is None:
            raise _NotifyError(404, [("NoResultFound", "No result found")])
        return JSONResponse(dict(record.api))

    async def _get_many(self, request: Request, body: Any, claims: dict[str, Any]) -> Response:
        params = request.query_params
        allowed = {"reference", "status", "template_type", "older_than", "include_jobs"}
        unexpected = sorted(set(params) - allowed)
        if unexpected:
            raise _NotifyError(
                400,
                [
                    (
                        "ValidationError",
                        "Additional properties are not allowed "
                        f"({', '.join(map(repr, unexpected))} was unexpected)",
                    )
                ],
            )
        statuses = params.getlist("status")
        for status in statuses:
            if status not in NOTIFY_STATUSES and status != "failed":
                raise _NotifyError(
                    400,
                    [
                        (
                            "ValidationError",
                            f"status {status} is not one of [{', '.join(NOTIFY_STATUSES)}, failed]",
                        )
                    ],
                )
        types = params.getlist("template_type")
        for template_type in types:
            if template_type not in ("sms", "email", "letter"):
                raise _NotifyError(
                    400,
                    [
                        (
                            "ValidationError",
                            f"template_type {template_type} is not one of [sms, email, letter]",
                        )
                    ],
                )
        older_than = params.get("older_than")
        if older_than is not None and not _UUID_RE.match(older_than):
            raise _NotifyError(400, [("ValidationError", "older_than is not a valid UUID")])
        wanted_statuses = set(statuses)
        if "failed" in wanted_statuses:
            wanted_statuses |= {"permanent-failure", "temporary-failure", "technical-failure"}
        with self._lock:
            if "reference" in params:
                ids = list(self._by_reference.get(params["reference"], []))
                records = [self._notifications[i] for i in ids]
            else:
                records = list(self._notifications.values())
        records.reverse()  # newest first
        if older_than is not None:
            positions = [r.id for r in records]
            records = records[positions.index(older_than) + 1 :] if older_than in positions else []
        chosen = [
            r.api
            for r in records
            if (not wanted_statuses or r.status in wanted_statuses)
            and (not types or r.type in types)
        ][:PAGE_SIZE]
        links = {"current": str(request.url)}
        if len(chosen) == PAGE_SIZE:
            links["next"] = str(request.url.include_query_params(older_than=chosen[-1]["id"]))
        return JSONResponse({"notifications": [dict(n) for n in chosen], "links": links})

    async def _not_found(self, request: Request, body: Any, claims: dict[str, Any]) -> Response:
        return JSONResponse(
            {
                "message": "The requested URL was not found on the server. If you entered the URL "
                "manually please check your spelling and try again.",
                "result": "error",
            },
            status_code=404,
        )

    # -- control API (for a fake running as a process) --

    async def _ctl_health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "ok": True,
                "base_url": self.base_url,
                "api_key": self.api_key,
                "email_template_id": self.email_template_id,
                "sms_template_id": self.sms_template_id,
            }
        )

    async def _ctl_notifications(self, request: Request) -> Response:
        return JSONResponse({"notifications": [asdict(n) for n in self.notifications()]})

    async def _ctl_requests(self, request: Request) -> Response:
        return JSONResponse({"requests": [asdict(r) for r in self.requests()]})

    async def _ctl_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _ctl_faults(self, request: Request) -> Response:
        spec = await request.json()
        kind = spec.get("kind")
        times = int(spec.get("times", 1))
        if kind == "rate_limit":
            self.rate_limit(times, retry_after=spec.get("retry_after"))
        elif kind == "daily_limit":
            self.daily_limit(times)
        elif kind == "server_error":
            self.server_error(
                times, status=int(spec.get("status", 500)), retry_after=spec.get("retry_after")
            )
        elif kind == "slow":
            self.slow(times, delay=float(spec.get("delay", 1.0)))
        else:
            return JSONResponse({"error": f"unknown fault kind {kind!r}"}, status_code=400)
        return JSONResponse({"ok": True, "pending": self.pending_faults()})

    async def _ctl_reject(self, request: Request) -> Response:
        spec = await request.json()
        self.reject_recipient(
            spec["recipient"], spec.get("message"), spec.get("error", "ValidationError")
        )
        return JSONResponse({"ok": True})

    async def _ctl_clock(self, request: Request) -> Response:
        self.set_clock_offset(float((await request.json())["offset"]))
        return JSONResponse({"ok": True})

    async def _ctl_status(self, request: Request) -> Response:
        spec = await request.json()
        try:
            receipt = self.set_status(spec["id"], spec["status"])
        except KeyError:
            return JSONResponse({"error": "no such notification"}, status_code=404)
        return JSONResponse(receipt)


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _show(value: Any) -> str:
    return repr(value)  # as jsonschema words it: "phone_number 7700900001 is not of type string"


def _render(content: str, personalisation: dict[str, Any]) -> tuple[str, list[str]]:
    """Fill ((placeholders)) (names compared without case or spaces, as Notify does)."""
    values = {str(k).lower().replace(" ", ""): v for k, v in personalisation.items()}
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name.lower().replace(" ", "")
        if key not in values or values[key] is None:
            missing.append(name)
            return match.group(0)
        value = values[key]
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return _PLACEHOLDER_RE.sub(fill, content), missing


class FakeNotifyControl:
    """The control methods of `FakeNotify`, for a fake running as a separate process."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def health(self) -> dict[str, Any]:
        return self._ok(self._client.get("/_fake/health"))

    def reset(self) -> None:
        self._ok(self._client.post("/_fake/reset"))

    def rate_limit(self, times: int = 1, retry_after: float | None = None) -> None:
        self._fault(kind="rate_limit", times=times, retry_after=retry_after)

    def daily_limit(self, times: int = 1) -> None:
        self._fault(kind="daily_limit", times=times)

    def server_error(
        self, times: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        self._fault(kind="server_error", times=times, status=status, retry_after=retry_after)

    def slow(self, times: int = 1, delay: float = 1.0) -> None:
        self._fault(kind="slow", times=times, delay=delay)

    def reject_recipient(
        self, recipient: str, message: str | None = None, error: str = "ValidationError"
    ) -> None:
        self._ok(
            self._client.post(
                "/_fake/reject", json={"recipient": recipient, "message": message, "error": error}
            )
        )

    reject_number = reject_recipient

    def set_clock_offset(self, seconds: float) -> None:
        self._ok(self._client.post("/_fake/clock", json={"offset": seconds}))

    def set_status(self, notification_id: str, status: str) -> dict[str, Any]:
        return self._ok(
            self._client.post("/_fake/status", json={"id": notification_id, "status": status})
        )

    def notifications(self) -> list[dict[str, Any]]:
        """Every accepted notification: {'api': <what GET returns>, 'personalisation', ...}."""
        return self._ok(self._client.get("/_fake/notifications"))["notifications"]

    def requests(self) -> list[dict[str, Any]]:
        return self._ok(self._client.get("/_fake/requests"))["requests"]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FakeNotifyControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fault(self, **spec: Any) -> None:
        self._ok(
            self._client.post(
                "/_fake/faults", json={k: v for k, v in spec.items() if v is not None}
            )
        )

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()


# --- how fast can it go ---------------------------------------------------------------------------


@dataclass
class Ceiling:
    accepted: int
    refused: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


async def measure_ceiling(
    base_url: str,
    api_key: str = f"{DEFAULT_KEY_NAME}-{DEFAULT_SERVICE_ID}-{DEFAULT_SECRET}",
    sms_template_id: str = DEFAULT_SMS_TEMPLATE_ID,
    *,
    seconds: float = 2.0,
    concurrency: int = 16,
    max_requests: int = 50_000,
) -> Ceiling:
    """Send valid SMS requests as fast as `concurrency` connections allow, for at most `seconds`
    (capped at 60) and `max_requests`; count the 201s. Bare: one token a second, a fixed body, no
    channel code in the way."""
    seconds = min(max(seconds, 0.1), 60.0)
    service_id, secret = api_key[-73:-37], api_key[-36:]
    payload = json.dumps(
        {
            "phone_number": "07700 900123",
            "template_id": sms_template_id,
            "personalisation": {"body": "Ceiling measurement: Ofsted inspection notified."},
            "reference": "ceiling",
        }
    ).encode()
    tokens: dict[int, str] = {}

    def token() -> str:
        second = int(time.time())
        if second not in tokens:
            tokens.clear()
            tokens[second] = jwt.encode(
                {"iss": service_id, "iat": second}, secret, algorithm="HS256"
            )
        return tokens[second]

    counts = {"accepted": 0, "refused": 0, "started": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as client:
        start = time.monotonic()
        deadline = start + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and counts["started"] < max_requests:
                counts["started"] += 1
                response = await client.post(
                    "/v2/notifications/sms",
                    content=payload,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token()}",
                    },
                )
                counts["accepted" if response.status_code == 201 else "refused"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - start
    return Ceiling(counts["accepted"], counts["refused"], elapsed)


def ceiling(base_url: str, **kwargs: Any) -> float:
    """Accepted sends per second a running fake sustains (see `measure_ceiling`)."""
    return asyncio.run(measure_ceiling(base_url, **kwargs)).per_second


# --- as a process ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    parser.add_argument("--service-id", default=DEFAULT_SERVICE_ID)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument("--email-template-id", default=DEFAULT_EMAIL_TEMPLATE_ID)
    parser.add_argument("--sms-template-id", default=DEFAULT_SMS_TEMPLATE_ID)
    parser.add_argument(
        "--ceiling", metavar="BASE_URL", help="measure a running fake instead of serving"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="with --ceiling: how long")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="added to every API answer (network round trip)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="with --ceiling: connections")
    args = parser.parse_args(argv)

    if args.ceiling:
        result = asyncio.run(
            measure_ceiling(
                args.ceiling,
                f"{DEFAULT_KEY_NAME}-{args.service_id}-{args.secret}",
                args.sms_template_id,
                seconds=args.seconds,
                concurrency=args.concurrency,
            )
        )
        print(json.dumps(asdict(result) | {"per_second": round(result.per_second, 1)}), flush=True)
        return 0

    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the fake serves on loopback addresses only")
    fake = FakeNotify(
        service_id=args.service_id,
        secret=args.secret,
        email_template_id=args.email_template_id,
        sms_template_id=args.sms_template_id,
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000,
    )
    sock = fake.bind()
    print(
        json.dumps(
            {
                "base_url": fake.base_url,
                "api_key": fake.api_key,
                "email_template_id": fake.email_template_id,
                "sms_template_id": fake.sms_template_id,
            }
        ),
        flush=True,
    )
    config = uvicorn.Config(
        fake.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
