"""`FakeNotify`: the fake's state, its Starlette app and (once started) its server thread.

A send goes through the steps of alphagov/notifications-api
app/v2/notifications/post_notifications.py `post_notification`, in its order: the token
(auth.py), the JSON body (app/v2/utils.py `get_valid_json`), the request schema
(app/v2/notifications/notification_schemas.py through app/schema_validation/__init__.py), the
service's permission to send that type, the rate limit then the daily limit (limits.py), the
template (app/notifications/validators.py `validate_template`), the reply-to or sender id, the
recipient (`validate_and_format_recipient`: team key and trial mode first, then the number against
the service's permissions), the smoke-test recipients (answered, never stored), and only then the
notification is stored and counted."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import heapq
import json
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.notify.fake_notify import auth, callbacks, limits, recipients, schema
from tests.notify.fake_notify.clock import Clock
from tests.notify.fake_notify.control import control_routes
from tests.notify.fake_notify.errors import NotifyError, bad_request

# Invented identifiers: a service, its secret and two templates that exist only here.
DEFAULT_SERVICE_ID = "5c1f0b9e-8a47-4d6e-b2c3-7e9d1a0f4b21"
DEFAULT_SECRET = "d3a9c1e7-2b4f-4f8a-9e6d-0c5b7a1e3f92"
DEFAULT_KEY_NAME = "inspection_week_live"
DEFAULT_EMAIL_TEMPLATE_ID = "0b6f7c3a-91d2-4e58-a7b4-3f2e1d0c9b8a"
DEFAULT_SMS_TEMPLATE_ID = "7e2d4a1b-5c3f-4b9e-8d6a-2a1f0e9c8b7d"

PAGE_SIZE = 250

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
IN_FLIGHT = frozenset({"created", "sending", "pending"})

_PUBLIC_TYPE_TEXT = {"sms": "text messages", "email": "emails"}
"""app/utils.py `get_public_notify_type_text(..., plural=True)`."""


@dataclass
class Fault:
    kind: str  # "rate_limit" | "daily_limit" | "server_error" | "slow"
    remaining: int
    status: int = 500
    delay: float = 0.0


Handler = Callable[[Request, Any, dict[str, Any], auth.ApiKey], Awaitable[Response]]
"""An API endpoint: the request, its parsed body, the token's claims and the key that signed it."""

LIMIT_FAULTS = frozenset({"rate_limit", "daily_limit"})
"""Faults that only a send can meet: Notify checks its limits in the POST handlers alone."""


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
    """One stored notification: `api` is what GET returns; the rest is for tests."""

    api: dict[str, Any]
    personalisation: dict[str, Any]
    normalised_to: str
    request_body: dict[str, Any]
    jwt_claims: dict[str, Any] = field(default_factory=dict)
    key_type: str = "normal"
    created: float = 0.0

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


@dataclass(frozen=True)
class Settings:
    """What a test may change for a while; `reset()` puts the constructor's values back."""

    rate_limit_per_minute: int = limits.DEFAULT_RATE_LIMIT
    daily_limits: Mapping[str, int] = field(
        default_factory=lambda: dict(limits.DEFAULT_LIVE_LIMITS)
    )
    trial_mode: bool = False
    team: tuple[str, ...] = ()
    guest_list: tuple[str, ...] = ()
    permissions: frozenset[str] = frozenset({"email", "sms"})
    """app/constants.py service permissions: "international_sms", "sms_to_uk_landlines"..."""


class FakeNotify:
    """A local GOV.UK Notify: see the package's docstring for what it does and where each rule
    comes from."""

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
        rate_limit_per_minute: int = limits.DEFAULT_RATE_LIMIT,
        daily_limits: Mapping[str, int] | None = None,
        trial_mode: bool = False,
        keep_requests: int = 10_000,
        latency: float = 0.0,
        on_accept: Callable[[int], None] | None = None,
        callback_retry_delay: float = callbacks.CALLBACK_RETRY_DELAY_SECONDS,
        callback_max_retries: int = callbacks.CALLBACK_MAX_RETRIES,
        test_key_receipt_delay: float = 0.05,
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
        self.latency = latency
        """Seconds added to every API answer, as the real service's round trip over the internet."""
        self.on_accept = on_accept
        """Called with the number accepted so far after each notification is accepted, before the
        answer goes back: a test can kill the sender with an acceptance it never hears of."""
        self.test_key_receipt_delay = test_key_receipt_delay
        """Real seconds between a test-key send and its receipt (Notify's are a queue away)."""
        base = _trial_limits() if trial_mode else dict(limits.DEFAULT_LIVE_LIMITS)
        self._defaults = Settings(
            rate_limit_per_minute=rate_limit_per_minute,
            daily_limits={**base, **(daily_limits or {})},
            trial_mode=trial_mode,
        )
        self.clock = Clock()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._keep_requests = keep_requests
        self._scheduler = callbacks.Scheduler()
        self._callbacks = callbacks.CallbackSender(
            self._scheduler, retry_delay=callback_retry_delay, max_retries=callback_max_retries
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = self._build_app()
        self.reset()

    # -- identity --

    @property
    def api_key(self) -> str:
        """The live key the fake starts with."""
        return f"{self.key_name}-{self.service_id}-{self.secret}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def now(self) -> float:
        """The fake's clock (real time unless a test moved it); sign tokens with it."""
        return self.clock.now()

    # -- control (Python) --

    def reset(self) -> None:
        """Forget notifications, requests, faults, refusals, extra keys, callbacks, counts and the
        clock offset; restore the two default templates and the constructor's settings."""
        self._scheduler.clear()
        self._callbacks.forget()
        with self._lock:
            self.templates: dict[str, schema.Template] = {
                self.email_template_id: schema.Template(
                    self.email_template_id, "email", "((body))", subject="((subject))"
                ),
                self.sms_template_id: schema.Template(self.sms_template_id, "sms", "((body))"),
            }
            self._keys = [auth.ApiKey(self.key_name, self.secret, "normal")]
            self.settings = self._defaults
            self._rate_limits = limits.RateLimits(self.settings.rate_limit_per_minute)
            self._daily = limits.DailyCounts()
            self._notifications: dict[str, Notification] = {}
            self._by_reference: dict[str, list[str]] = collections.defaultdict(list)
            self._simulated: list[dict[str, Any]] = []
            self._timeouts: list[tuple[float, str]] = []
            self._requests: collections.deque[RecordedRequest] = collections.deque(
                maxlen=self._keep_requests
            )
            self._faults: collections.deque[Fault] = collections.deque()
            self._rejected: dict[str, tuple[str, str]] = {}
            self._reply_to_ids: set[str] = set()
            self._sms_sender_ids: set[str] = set()
            self._delivery_callback: tuple[str, str] | None = None
            self._inbound_callback: tuple[str, str] | None = None
        self.clock.set_offset(0)

    def add_api_key(self, key_type: str = "live", name: str | None = None) -> str:
        """A new key of this service ("live", "team" or "test"); returns the whole key."""
        key = auth.ApiKey(
            name or f"{key_type}_key_{len(self._keys)}", str(uuid.uuid4()), auth.KEY_TYPES[key_type]
        )
        with self._lock:
            self._keys.append(key)
        return key.full(self.service_id)

    def revoke_api_key(self, api_key: str) -> None:
        with self._lock:
            for key in self._keys:
                if api_key.endswith(key.secret):
                    key.revoked = True

    def configure(self, **changes: Any) -> None:
        """Change settings until the next `reset()`: rate_limit_per_minute, daily_limits (merged
        into the current ones), trial_mode (switching it sets Notify's default limits for that
        mode), team, guest_list, permissions."""
        with self._lock:
            current = self.settings
            if changes.get("trial_mode", current.trial_mode) != current.trial_mode:
                base = (
                    _trial_limits() if changes["trial_mode"] else dict(limits.DEFAULT_LIVE_LIMITS)
                )
            else:
                base = dict(current.daily_limits)
            changes["daily_limits"] = {**base, **changes.get("daily_limits", {})}
            for name in ("team", "guest_list"):
                if name in changes:
                    changes[name] = tuple(changes[name])
            if "permissions" in changes:
                changes["permissions"] = frozenset(changes["permissions"])
            self.settings = dataclasses.replace(current, **changes)
            if self.settings.rate_limit_per_minute != current.rate_limit_per_minute:
                self._rate_limits = limits.RateLimits(self.settings.rate_limit_per_minute)

    def set_delivery_callback(self, url: str | None, bearer_token: str = "") -> None:
        """Where receipts go (the service's "Callbacks" page); None: nowhere."""
        with self._lock:
            self._delivery_callback = (url, bearer_token) if url else None

    def set_inbound_callback(self, url: str | None, bearer_token: str = "") -> None:
        with self._lock:
            self._inbound_callback = (url, bearer_token) if url else None

    def add_reply_to(self, kind: str = "email") -> str:
        """An `email_reply_to_id` (or, kind "sms", an `sms_sender_id`) this service has."""
        new = str(uuid.uuid4())
        with self._lock:
            (self._reply_to_ids if kind == "email" else self._sms_sender_ids).add(new)
        return new

    def rate_limit(self, times: int = 1) -> None:
        """The next `times` sends get 429 RateLimitError (no Retry-After: Notify sends none)."""
        self._add_fault(Fault("rate_limit", times, status=429))

    def daily_limit(self, times: int = 1) -> None:
        """The next `times` sends get 429 TooManyRequestsError (the daily limit spent)."""
        self._add_fault(Fault("daily_limit", times, status=429))

    def server_error(self, times: int = 1, status: int = 500) -> None:
        """The next `times` API requests get a 5xx: 500 in Notify's JSON shape, any other status
        as a gateway's plain-text page. Neither carries Retry-After."""
        self._add_fault(Fault("server_error", times, status=status))

    def slow(self, times: int = 1, delay: float = 1.0) -> None:
        """The next `times` API requests are answered after `delay` seconds, and still processed:
        a send whose client timed out may well have been accepted."""
        self._add_fault(Fault("slow", times, delay=delay))

    def reject_recipient(
        self, recipient: str, message: str | None = None, error: str | None = None
    ) -> None:
        """Refuse sends to this number or address with a 400. By default in the words Notify uses
        for a number it will not text (InvalidPhoneError "Not a UK mobile number") or an address
        it will not e-mail (ValidationError "email_address Not a valid email address")."""
        if "@" in recipient:
            refusal = (
                error or "ValidationError",
                message or "email_address Not a valid email address",
            )
        else:
            refusal = (error or "InvalidPhoneError", message or "Not a UK mobile number")
        with self._lock:
            self._rejected[recipients.format_recipient(recipient)] = refusal

    reject_number = reject_recipient

    def set_clock_offset(self, seconds: float) -> None:
        """Make the server's clock run `seconds` ahead (negative: behind) of this machine's."""
        self.clock.set_offset(seconds)
        self._expire()

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._expire()

    def set_clock(self, moment: datetime | float) -> None:
        self.clock.set(moment)
        self._expire()

    def add_template(self, template_type: str, content: str, subject: str | None = None) -> str:
        template_id = str(uuid.uuid4())
        with self._lock:
            self.templates[template_id] = schema.Template(
                template_id, template_type, content, subject
            )
        return template_id

    def _add_fault(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, *, kinds: frozenset[str]) -> Fault | None:
        """The next fault if it is of one of `kinds` (a limit fault waits for a send)."""
        with self._lock:
            if not self._faults or self._faults[0].kind not in kinds:
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
        """Every stored notification, oldest first (smoke-test sends are not stored)."""
        self._expire()
        with self._lock:
            return list(self._notifications.values())

    def notification(self, notification_id: str) -> Notification | None:
        self._expire()
        with self._lock:
            return self._notifications.get(notification_id)

    def by_reference(self, reference: str) -> list[Notification]:
        self._expire()
        with self._lock:
            return [self._notifications[i] for i in self._by_reference.get(reference, [])]

    def simulated(self) -> list[dict[str, Any]]:
        """Smoke-test sends, answered and not stored: {'id', 'to', 'type', 'reference'}."""
        with self._lock:
            return list(self._simulated)

    def daily_count(self, notification_type: str, key_type: str = "live") -> int:
        """Messages of this type counted against today's (UTC) limit."""
        return self._daily.today(notification_type, auth.KEY_TYPES[key_type], self.now())

    def requests(self) -> list[RecordedRequest]:
        """Every request received (the latest `keep_requests`), oldest first."""
        with self._lock:
            return list(self._requests)

    def callback_attempts(self) -> list[callbacks.CallbackAttempt]:
        """Every POST the fake made to a callback URL, oldest first."""
        return self._callbacks.attempts()

    def in_flight(self) -> int:
        """API requests being handled now (a slow one is counted until it is answered)."""
        with self._lock:
            return self._in_flight

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

    # -- statuses and callbacks --

    def set_status(
        self, notification_id: str, status: str, at: float | None = None
    ) -> dict[str, Any] | None:
        """Move a notification on as a provider's report would. Returns the receipt Notify POSTs
        for it (also sent to the delivery callback URL, if one is set), or None where Notify
        sends none: in-flight statuses, `sent`, `technical-failure` (callbacks.RECEIPT_STATUSES)."""
        if status not in NOTIFY_STATUSES:
            raise ValueError(f"not a Notify status: {status}")
        self._expire()
        moment = self.now() if at is None else at
        with self._lock:
            record = self._notifications[notification_id]
            _move(record, status, moment)
            body = (
                callbacks.receipt_body(record.api) if status in callbacks.RECEIPT_STATUSES else None
            )
        if body is not None:
            self._send_receipt(body)
        return body

    def receipt(self, notification_id: str) -> dict[str, Any]:
        """The receipt's fields for a notification as it stands, whether or not Notify would POST
        one for its status (for tests of how a service reads a receipt)."""
        with self._lock:
            return callbacks.receipt_body(self._notifications[notification_id].api)

    def inbound_sms(
        self, source_number: str, message: str, destination_number: str = "07700900000"
    ) -> dict[str, Any]:
        """The received-text-message callback body Notify would POST (sender as '447700900123');
        sent to the inbound callback URL too, if one is set."""
        body = {
            "id": str(uuid.uuid4()),
            "source_number": recipients.PhoneNumber(source_number).normalised,
            "destination_number": destination_number,
            "message": message,
            "date_received": callbacks.text(self.now()),
        }
        with self._lock:
            target = self._inbound_callback
        if target is not None:
            self._callbacks.send(target[0], target[1], body)
        return body

    @staticmethod
    def post_callback(
        url: str, bearer_token: str, body: dict[str, Any], timeout: float = 10.0
    ) -> httpx.Response:
        """POST a callback body to a URL once, the way Notify does (JSON, bearer token)."""
        return httpx.post(
            url,
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {bearer_token}"},
            timeout=timeout,
        )

    def _send_receipt(self, body: dict[str, Any], delay: float = 0.0) -> None:
        with self._lock:
            target = self._delivery_callback
        if target is not None:
            self._callbacks.send(target[0], target[1], body, delay=delay)

    def _expire(self) -> None:
        """Time out what has waited too long with no final status (see callbacks.TIMEOUT_*)."""
        now = self.now()
        receipts = []
        with self._lock:
            while self._timeouts and self._timeouts[0][0] <= now:
                due, notification_id = heapq.heappop(self._timeouts)
                record = self._notifications.get(notification_id)
                if record is not None and record.status in IN_FLIGHT:
                    _move(record, "temporary-failure", due)
                    receipts.append(callbacks.receipt_body(record.api))
        for body in receipts:
            self._send_receipt(body)

    # -- server lifecycle --

    def start(self, timeout: float = 10.0) -> FakeNotify:
        """Serve in a background thread on `host:port` (port 0: a free one, then in `self.port`)."""
        if self._thread is not None:
            return self
        self._socket = self.bind()
        self._server = uvicorn.Server(self.uvicorn_config())
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

    def uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )

    def bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        self.port = sock.getsockname()[1]
        return sock

    def stop(self, timeout: float = 10.0) -> None:
        self._scheduler.stop()
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
            *control_routes(self),
            Route(
                "/{path:path}",
                self._api(self._not_found),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]
        return Starlette(routes=routes)

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Record, apply the next transport fault, authenticate, then handle."""

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

    async def _respond(
        self, request: Request, handler: Handler, body: Any, body_ok: bool
    ) -> Response:
        fault = self._take_fault(kinds=frozenset({"server_error", "slow"}))
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "server_error":
            if fault.status == 500:
                # app/v2/errors.py `internal_server_error`
                return NotifyError(500, [("Exception", "Internal server error")]).response()
            return PlainTextResponse(
                f"{fault.status} upstream unavailable", status_code=fault.status
            )
        self._expire()
        try:
            with self._lock:
                keys = list(self._keys)
            claims, key = auth.authenticate(
                request.headers.get("Authorization"),
                service_id=self.service_id,
                keys=keys,
                now=self.now(),
            )
            if request.method == "POST" and not body_ok:
                raise bad_request("Invalid JSON supplied in POST data")
            return await handler(request, body, claims, key)
        except NotifyError as exc:
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

    # -- API handlers --

    async def _post_email(
        self, request: Request, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        return self._post("email", body, claims, key)

    async def _post_sms(
        self, request: Request, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        return self._post("sms", body, claims, key)

    def _post(
        self, notification_type: str, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        schema.validate_schema(notification_type, body)
        settings = self.settings
        if notification_type not in settings.permissions:
            # validators.py `check_service_has_permission`
            raise bad_request(
                f"Service is not allowed to send {_PUBLIC_TYPE_TEXT[notification_type]}"
            )
        now = self.now()
        self._check_limits(notification_type, key, now)
        template = self._validate_template(notification_type, body)
        rendered_body, rendered_subject = schema.render(template, body.get("personalisation"))
        self._check_reply_to(notification_type, body)
        recipient = body[schema.RECIPIENT_FIELD[notification_type]]
        normalised, international = self._validate_recipient(notification_type, recipient, key)
        if international:
            self._daily.check(
                "international_sms",
                self._daily_limit("international_sms", key),
                key.key_type,
                now,
            )
        with self._lock:
            refusal = self._rejected.get(normalised)
        if refusal is not None:
            raise NotifyError(400, [refusal])

        notification_id = str(uuid.uuid4())
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
            "template": {
                "id": template.id,
                "version": template.version,
                "uri": f"{self.base_url}/v2/template/{template.id}/version/{template.version}",
            },
            "body": rendered_body,
            "subject": " ".join(rendered_subject.split()) if rendered_subject is not None else None,
            "created_at": callbacks.text(now),
            "created_by_name": None,
            "sent_at": None,
            "completed_at": None,
            "scheduled_for": None,
            "postage": None,
        }
        if recipients.is_simulated(normalised):
            with self._lock:
                self._simulated.append(
                    {
                        "id": notification_id,
                        "to": recipient,
                        "type": notification_type,
                        "reference": api["reference"],
                    }
                )
            return self._created(api)
        record = Notification(
            api=api,
            personalisation=dict(body.get("personalisation") or {}),
            normalised_to=normalised,
            request_body=dict(body),
            jwt_claims=dict(claims),
            key_type=key.key_type,
            created=now,
        )
        receipt = None
        with self._lock:
            self._notifications[notification_id] = record
            if api["reference"] is not None:
                self._by_reference[api["reference"]].append(notification_id)
            self._daily.count(notification_type, key.key_type, now)
            if international:
                self._daily.count("international_sms", key.key_type, now)
            if key.key_type == "test":
                # research mode: straight to the outcome the recipient stands for
                _move(record, "sending", now)
                _move(record, recipients.outcome_with_test_key(recipient, notification_type), now)
                receipt = callbacks.receipt_body(record.api)
            else:
                heapq.heappush(self._timeouts, (callbacks.timed_out_at(now), notification_id))
            accepted = len(self._notifications)
        if receipt is not None:
            self._send_receipt(receipt, delay=self.test_key_receipt_delay)
        if self.on_accept is not None:
            self.on_accept(accepted)
        return self._created(api)

    def _created(self, api: dict[str, Any]) -> JSONResponse:
        """app/v2/notifications/create_response.py."""
        content: dict[str, Any] = {"body": api["body"]}
        if api["type"] == "email":
            content.update(
                subject=api["subject"], from_email=self.from_email, one_click_unsubscribe_url=None
            )
        else:
            content.update(from_number=self.from_number)
        return JSONResponse(
            {
                "id": api["id"],
                "reference": api["reference"],
                "content": content,
                "uri": f"{self.base_url}/v2/notifications/{api['id']}",
                "template": dict(api["template"]),
                "scheduled_for": None,
            },
            status_code=201,
        )

    def _daily_limit(self, limit_name: str, key: auth.ApiKey) -> int:
        """validators.py `get_daily_rate_limit_value`: a test key of a trial-mode service gets
        a live service's limits."""
        if key.key_type == "test" and self.settings.trial_mode:
            return limits.DEFAULT_LIVE_LIMITS[limit_name]
        return self.settings.daily_limits.get(limit_name, limits.DEFAULT_LIVE_LIMITS[limit_name])

    def _check_limits(self, notification_type: str, key: auth.ApiKey, now: float) -> None:
        """validators.py `check_rate_limiting`: requests a minute, then messages today."""
        fault = self._take_fault(kinds=LIMIT_FAULTS)
        if fault is not None and fault.kind == "rate_limit":
            raise limits.rate_limit_error(key.key_type, self._rate_limits.per_minute)
        with self._lock:
            self._rate_limits.check(key.key_type, now)
        limit = self._daily_limit(notification_type, key)
        if fault is not None and fault.kind == "daily_limit":
            raise limits.daily_limit_error(notification_type, limit)
        with self._lock:
            self._daily.check(notification_type, limit, key.key_type, now)

    def _validate_template(self, notification_type: str, body: dict[str, Any]) -> schema.Template:
        with self._lock:
            template = self.templates.get(body["template_id"].lower())
        if template is None:
            raise bad_request("Template not found")
        if template.type != notification_type:
            raise bad_request(
                f"{template.type} template is not suitable for {notification_type} notification"
            )
        return template

    def _check_reply_to(self, notification_type: str, body: dict[str, Any]) -> None:
        """validators.py `check_service_email_reply_to_id` / `check_service_sms_sender_id`."""
        name, known = (
            ("email_reply_to_id", self._reply_to_ids)
            if notification_type == "email"
            else ("sms_sender_id", self._sms_sender_ids)
        )
        wanted = body.get(name)
        if wanted and wanted.lower() not in known:
            raise bad_request(
                f"{name} {wanted} does not exist in database for service id {self.service_id}"
            )

    def _validate_recipient(
        self, notification_type: str, recipient: str, key: auth.ApiKey
    ) -> tuple[str, bool]:
        """validators.py `validate_and_format_recipient`: (normalised recipient, international)."""
        settings = self.settings
        # app/service/utils.py `service_allowed_to_send_to`: the team and the guest list only
        restricted = key.key_type == "team" or (key.key_type == "normal" and settings.trial_mode)
        members = [*settings.team, *settings.guest_list]
        if restricted and not recipients.allowed_to_send_to(recipient, members):
            raise bad_request(
                recipients.TEAM_KEY_REFUSAL
                if key.key_type == "team"
                else recipients.TRIAL_MODE_REFUSAL
            )
        if notification_type == "email":
            return recipients.validate_email_address(recipient).lower(), False
        number = recipients.PhoneNumber(recipient)  # the schema has already parsed it
        try:
            number.validate(
                allow_international="international_sms" in settings.permissions,
                allow_uk_landline="sms_to_uk_landlines" in settings.permissions,
            )
        except recipients.InvalidPhone as exc:
            # `validate_and_return_extended_phone_number_info`
            if (
                exc.code == recipients.InvalidPhone.Codes.NOT_A_UK_MOBILE
                and number.is_international()
                and not number.is_crown_dependency()
            ):
                raise bad_request("Cannot send to international mobile numbers") from None
            raise NotifyError(400, [("InvalidPhoneError", exc.message)]) from None
        return number.normalised, not number.is_uk()

    async def _get_one(
        self, request: Request, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        notification_id = request.path_params["notification_id"]
        if not schema.UUID_RE.match(notification_id):
            raise NotifyError(400, [("ValidationError", "notification_id is not a valid UUID")])
        with self._lock:
            record = self._notifications.get(notification_id.lower())
        if record is None:
            raise NotifyError(404, [("NoResultFound", "No result found")])
        return JSONResponse(dict(record.api))

    async def _get_many(
        self, request: Request, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        """app/v2/notifications/get_notifications.py: newest first, 250 a page, and only what was
        sent with a key of the caller's type (`key_type=api_user.key_type`)."""
        params = request.query_params
        allowed = {"reference", "status", "template_type", "older_than", "include_jobs"}
        unexpected = sorted(set(params) - allowed)
        if unexpected:
            raise NotifyError(
                400,
                [
                    (
                        "ValidationError",
                        "Additional properties are not allowed "
                        f"({', '.join(unexpected)} {'was' if len(unexpected) == 1 else 'were'} "
                        "unexpected)",
                    )
                ],
            )
        statuses = params.getlist("status")
        for status in statuses:
            if status not in NOTIFY_STATUSES and status != "failed":
                raise NotifyError(
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
                raise NotifyError(
                    400,
                    [
                        (
                            "ValidationError",
                            f"template_type {template_type} is not one of [sms, email, letter]",
                        )
                    ],
                )
        older_than = params.get("older_than")
        if older_than is not None and not schema.UUID_RE.match(older_than):
            raise NotifyError(400, [("ValidationError", "older_than is not a valid UUID")])
        wanted_statuses = set(statuses)
        if "failed" in wanted_statuses:
            wanted_statuses |= {"permanent-failure", "temporary-failure", "technical-failure"}
        with self._lock:
            if "reference" in params:
                ids = list(self._by_reference.get(params["reference"], []))
                records = [self._notifications[i] for i in ids]
            else:
                records = list(self._notifications.values())
        records = [r for r in reversed(records) if r.key_type == key.key_type]  # newest first
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

    async def _not_found(
        self, request: Request, body: Any, claims: dict[str, Any], key: auth.ApiKey
    ) -> Response:
        return JSONResponse(
            {
                "message": "The requested URL was not found on the server. If you entered the URL "
                "manually please check your spelling and try again.",
                "result": "error",
            },
            status_code=404,
        )


def _trial_limits() -> dict[str, int]:
    return {
        "email": limits.DEFAULT_TRIAL_LIMIT,
        "sms": limits.DEFAULT_TRIAL_LIMIT,
        "international_sms": limits.DEFAULT_LIVE_LIMITS["international_sms"],
    }


def _move(record: Notification, status: str, moment: float) -> None:
    """A status change as Notify records it: `sent_at` once it left for a provider,
    `completed_at` (the receipt's too) once the status is final."""
    api = record.api
    api["status"] = status
    if status != "created" and api["sent_at"] is None:
        api["sent_at"] = callbacks.text(moment)
    if status in FINAL_STATUSES:
        api["completed_at"] = callbacks.text(moment)
