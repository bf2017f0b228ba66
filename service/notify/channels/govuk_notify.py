"""GOV.UK Notify channel: e-mail and SMS through Notify's REST API (v2), called with aiohttp.

How Notify is used here:
- One API key, `{key_name}-{service_id}-{secret_key}`; the last two parts are UUIDs. Every request
  carries a fresh HS256 JWT (`iss` = service id, `iat` = now) as `Authorization: Bearer ...`;
  Notify refuses a token more than 30 seconds away from its own clock.
- One Notify template per medium whose content is only placeholders: e-mail subject `((subject))`
  and body `((body))`, SMS body `((body))`. We render the text ourselves and send it as
  personalisation, so councils edit wording here, not in Notify.
- Our message id goes to Notify as `reference`, so after a crash `find_by_reference` tells whether
  a message we may have sent was accepted.

Errors map onto the dispatcher's classes (service/notify/base.py) by status and Notify's error
type, never by the words of its message: 400 ValidationError / InvalidPhoneError → PermanentError
(this recipient), any other 400 and 401/403 → ProviderConfigurationError (the settings), 429
TooManyRequestsError → DailyLimitError; 429 RateLimitError, 5xx, timeouts and connection errors
→ ProviderUnavailable (Notify as a whole, no fault of the message: it costs no attempt). Notify
never sends Retry-After, so none is read.

aiohttp rather than httpx: on the event loop that also sends the e-mail, httpx's asyncio client
took about three times the CPU per request (0.85-0.93 ms against 0.26-0.31 ms against the fake
Notify on loopback), and a cascade is CPU-bound on one core.

Recipients never reach the logs in full: see `mask_recipient`. The callbacks Notify makes to us
(receipts, received texts) are `notify_callbacks.py`."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import aiohttp
import jwt
import structlog
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from service.notify import sms
from service.notify.channels.base import (
    Accepted,
    DailyLimitError,
    Medium,
    OutgoingMessage,
    PermanentError,
    ProviderUnavailable,
    RetryableError,
)
from service.notify.masking import mask_email, mask_emails_in, mask_phone

if TYPE_CHECKING:
    from service.config import Settings

log = structlog.get_logger(__name__)

JWT_ALGORITHM = "HS256"
CLOCK_TOLERANCE_SECONDS = 30
"""Notify refuses a token whose `iat` is further than this from its own clock."""
CONFIGURATION_RETRY_SECONDS = 300.0
"""A refused key or a wrong template fails every message until someone fixes the settings:
retry slowly rather than hammer Notify (and the logs)."""
USER_AGENT = "inspection-week (GOV.UK Notify channel)"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_API_KEY = re.compile(rf"^(?P<name>.+)-(?P<service_id>{_UUID})-(?P<secret>{_UUID})$")


class ProviderConfigurationError(RetryableError):
    """Notify refused us for a reason no retry of this message can fix on its own: the API key
    (revoked, wrong service, wrong secret), this server's clock, a template id, the key type.
    Every message will fail the same way until someone changes the settings, so the hint is a long
    `retry_after`; the message says what to check."""

    def __init__(self, message: str, retry_after: float | None = CONFIGURATION_RETRY_SECONDS):
        super().__init__(message, retry_after=retry_after)


# --- API key and token ---------------------------------------------------------------------------


def parse_api_key(key: str) -> tuple[str, str]:
    """`{key_name}-{service_id}-{secret_key}` → (service_id, secret_key).

    The key name may itself contain dashes, so the two UUIDs are taken from the end (as Notify's
    own clients do: the last 36 characters are the secret, the 36 before them the service id)."""
    match = _API_KEY.match(key.strip())
    if match is None:
        raise ValueError(
            "NOTIFY_API_KEY is malformed: expected '{key name}-{service id}-{secret key}', the "
            "last two being UUIDs (copy the whole key from Notify's API integration page)"
        )
    return match["service_id"].lower(), match["secret"].lower()


def make_jwt(service_id: str, secret: str, now: float | datetime) -> str:
    """The bearer token for one request: HS256 over {iss: service id, iat: now (whole seconds)}."""
    if isinstance(now, datetime):
        now = now.timestamp()
    return jwt.encode(
        {"iss": service_id, "iat": int(now)},
        secret,
        algorithm=JWT_ALGORITHM,
        headers={"typ": "JWT", "alg": JWT_ALGORITHM},
    )


class _Tokens:
    """A token made at the moment of each request (and of each retry of it)."""

    def __init__(self, service_id: str, secret: str, clock: Callable[[], float]):
        self._service_id = service_id
        self._secret = secret
        self._clock = clock
        self._made: tuple[int, str] | None = None

    def now(self) -> str:
        """The token for this second: `iat` counts whole seconds, so one made earlier in the
        same second is the very same token."""
        second = int(self._clock())
        if self._made is None or self._made[0] != second:
            self._made = (second, make_jwt(self._service_id, self._secret, second))
        return self._made[1]


@dataclass(frozen=True, slots=True)
class Answer:
    """Notify's answer, read in full before the connection goes back to the pool."""

    status_code: int
    content: bytes
    reason_phrase: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


# --- masking for logs -----------------------------------------------------------------------------


def mask_recipient(to: str) -> str:
    """The shared log mask (service/notify/masking.py) for an address or a number:
    'h***@example.org', '+44***123'."""
    return mask_email(to) if "@" in to else mask_phone(to)


def _scrub(text: str, to: str) -> str:
    if to:
        text = text.replace(to, mask_recipient(to))
    return mask_emails_in(text)


# --- the channel ----------------------------------------------------------------------------------

RECIPIENT_ERRORS = frozenset({"ValidationError", "InvalidPhoneError", "InvalidEmailError"})
"""400s that refuse this one recipient (app/v2/errors.py `ValidationError`; notifications-utils'
`InvalidPhoneError`, `InvalidEmailError`). Every other field of our request is fixed and checked
when the service starts (template ids are UUIDs, personalisation is `subject`/`body`), so a
ValidationError can only be about the address or number: that message can never go this way."""
DAILY_LIMIT_ERRORS = frozenset({"TooManyRequestsError", "TotalRequestsError"})
"""429s that mean a daily limit is spent (validators.py `check_service_over_daily_message_limit`);
the other 429, `RateLimitError`, is the per-minute token bucket."""


def _first_error(response: Answer) -> tuple[str, str]:
    """(error class, message) from Notify's `{"status_code", "errors": [{"error", "message"}]}`,
    or something readable when the body is not that (a proxy's HTML page)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return "", response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            messages = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
            return str(errors[0].get("error", "")), messages
        if "message" in body:  # the v1 shape, and Flask's own 404/405 pages
            return str(body.get("result", "")), str(body["message"])
    return "", str(body)[:200]


MAX_ANSWER_BYTES = 1_000_000
"""Notify's answers are a few hundred bytes (a list by reference, a few kilobytes); anything
larger is not Notify, and is not read into memory beyond this."""


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    if response.content_length is not None and response.content_length <= MAX_ANSWER_BYTES:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]


def _proxy_from_env(base_url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """HTTP(S)_PROXY and NO_PROXY, read as aiohttp reads them, once for the session. With
    `trust_env` aiohttp read them, and ~/.netrc, in two thread hops at every request: about a
    quarter of a text's send in a cascade's profile. (A ~/.netrc entry for Notify's host would
    also have failed every request, its login clashing with the Authorization header.)"""
    try:
        return get_env_proxy_for_url(URL(base_url))
    except LookupError:  # none named, or NO_PROXY names the host
        return None, None


class NotifyChannel:
    """E-mail and SMS through GOV.UK Notify, over one `aiohttp.ClientSession` (keep-alive, at most
    `max_connections`) made at the first request. A channel belongs to one event loop at a time:
    `aclose()` before that loop ends closes its connections, and a later loop opens its own.
    Proxies come from HTTPS_PROXY / NO_PROXY, as for any HTTP client."""

    name = "govuk_notify"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.notifications.service.gov.uk",
        email_template_id: str | None = None,
        sms_template_id: str | None = None,
        timeout_seconds: float = 10.0,
        email_reply_to_id: str | None = None,
        max_connections: int = 50,
        clock: Callable[[], float] = time.time,
    ):
        self.service_id, secret = parse_api_key(api_key)
        self.email_template_id = email_template_id
        self.sms_template_id = sms_template_id
        self.email_reply_to_id = email_reply_to_id
        self._clock = clock
        media = set()
        if email_template_id:
            media.add(Medium.email)
        if sms_template_id:
            media.add(Medium.sms)
        self.media: frozenset[Medium] = frozenset(media)
        self._tokens = _Tokens(self.service_id, secret, clock)
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_connections = max(1, max_connections)
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        """This loop's session: a session's connections belong to the loop that opened them."""
        loop = asyncio.get_running_loop()
        if self._session is not None and self._session_loop is not loop:
            # connections of a loop that has gone cannot be closed from this one: let them go
            self._session.detach()
            self._session = None
        if self._session is None or self._session.closed:
            proxy, proxy_auth = _proxy_from_env(self._base_url)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=30.0),
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                proxy=proxy,
                proxy_auth=proxy_auth,
            )
            self._session_loop = loop
        return self._session

    async def _request(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One request, signed now, its answer read whole (up to MAX_ANSWER_BYTES)."""
        headers = {"Authorization": f"Bearer {self._tokens.now()}"}
        async with self._client().request(
            method, self._base_url + path, headers=headers, allow_redirects=False, **kwargs
        ) as response:
            content = await _read_bounded(response)
            try:
                reason = response.reason or HTTPStatus(response.status).phrase
            except ValueError:
                reason = ""
            return Answer(response.status, content, reason)

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifyChannel:
        """The channel the settings describe. Raises ValueError naming the setting that is missing
        or malformed (NOTIFY_API_KEY, NOTIFY_EMAIL_TEMPLATE_ID, NOTIFY_SMS_TEMPLATE_ID)."""
        if settings.notify_api_key is None or not settings.notify_api_key.get_secret_value():
            raise ValueError("NOTIFY_API_KEY is required to send through GOV.UK Notify")
        wanted = {
            "NOTIFY_EMAIL_TEMPLATE_ID": (
                settings.email_channel == "govuk_notify",
                settings.notify_email_template_id,
            ),
            "NOTIFY_SMS_TEMPLATE_ID": (
                settings.sms_channel == "govuk_notify",
                settings.notify_sms_template_id,
            ),
        }
        for setting, (used, value) in wanted.items():
            if value and not re.fullmatch(_UUID, value.strip()):
                raise ValueError(f"{setting} must be a template id (a UUID), got {value!r}")
            if used and not value:
                raise ValueError(
                    f"{setting} is required: the Notify template whose content is "
                    + ("'((subject))' / '((body))'" if "EMAIL" in setting else "'((body))'")
                )
        if not settings.notify_email_template_id and not settings.notify_sms_template_id:
            raise ValueError(
                "NOTIFY_EMAIL_TEMPLATE_ID or NOTIFY_SMS_TEMPLATE_ID is required for GOV.UK Notify"
            )
        reply_to_id = (settings.notify_email_reply_to_id or "").strip() or None
        if reply_to_id and not re.fullmatch(_UUID, reply_to_id):
            raise ValueError(
                f"NOTIFY_EMAIL_REPLY_TO_ID must be the id (a UUID) of a reply-to address on "
                f"Notify's settings page, got {reply_to_id!r}"
            )
        if settings.email_channel == "govuk_notify" and settings.mail_reply_to and not reply_to_id:
            raise ValueError(
                "MAIL_REPLY_TO is set but GOV.UK Notify sends replies to the reply-to address "
                "whose id is given: add the address on Notify's settings page ('Reply-to email "
                "addresses') and set NOTIFY_EMAIL_REPLY_TO_ID to its id (or unset MAIL_REPLY_TO)"
            )
        return cls(
            api_key=settings.notify_api_key.get_secret_value(),
            base_url=settings.notify_base_url,
            email_template_id=(settings.notify_email_template_id or "").strip() or None,
            sms_template_id=(settings.notify_sms_template_id or "").strip() or None,
            timeout_seconds=settings.notify_timeout_seconds,
            email_reply_to_id=reply_to_id,
            # as many connections as messages may be in flight: a smaller pool would be a second,
            # hidden limit on sending while Notify is slow to answer
            max_connections=settings.dispatch_concurrency,
        )

    # -- sending --

    def request_body(self, message: OutgoingMessage) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) for one message; raises PermanentError or ProviderConfigurationError
        for a message Notify would refuse anyway."""
        if message.medium not in self.media:
            raise ProviderConfigurationError(
                f"no GOV.UK Notify template configured for {message.medium} (set NOTIFY_"
                f"{message.medium.upper()}_TEMPLATE_ID)"
            )
        if message.medium == Medium.email:
            body: dict[str, Any] = {
                "email_address": message.to,
                "template_id": self.email_template_id,
                "personalisation": {"subject": message.subject, "body": message.body},
                "reference": message.id,
            }
            if self.email_reply_to_id:
                body["email_reply_to_id"] = self.email_reply_to_id
            return "/v2/notifications/email", body
        try:
            sms.fragments(message.body)
        except sms.SmsTooLong as exc:
            raise PermanentError(str(exc)) from exc
        return "/v2/notifications/sms", {
            "phone_number": message.to,
            "template_id": self.sms_template_id,
            "personalisation": {"body": message.body},
            "reference": message.id,
        }

    async def send(self, message: OutgoingMessage) -> Accepted:
        path, body = self.request_body(message)
        context = {
            "message_id": message.id,
            "medium": str(message.medium),
            "to": mask_recipient(message.to),
        }
        try:
            response = await self._request("POST", path, json=body)
        except TimeoutError as exc:
            log.warning("notify_timeout", **context, error=type(exc).__name__)
            raise ProviderUnavailable(
                f"GOV.UK Notify did not answer in time ({type(exc).__name__}); it may have "
                f"accepted the message: look it up by reference {message.id} before resending"
            ) from exc
        except aiohttp.ClientError as exc:
            log.warning("notify_unreachable", **context, error=type(exc).__name__)
            raise ProviderUnavailable(
                f"GOV.UK Notify could not be reached: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 201:
            return self._accepted(response, message)
        error = self._error_for(response, recipient=message.to)
        log.warning(
            "notify_refused",
            **context,
            status=response.status_code,
            error_class=type(error).__name__,
            detail=error.message,
        )
        raise error

    def _accepted(self, response: Answer, message: OutgoingMessage) -> Accepted:
        try:
            reply = response.json()
            provider_id = str(reply["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryableError(
                "GOV.UK Notify answered 201 without a notification id; look the message up by "
                f"reference {message.id} before resending"
            ) from exc
        detail = {"reference": str(reply.get("reference") or "")}
        template = reply.get("template")
        if isinstance(template, dict) and template.get("version") is not None:
            detail["template_version"] = str(template["version"])
        log.info(
            "notify_accepted",
            message_id=message.id,
            medium=str(message.medium),
            to=mask_recipient(message.to),
            provider_id=provider_id,
        )
        return Accepted(provider_id=provider_id, detail=detail)

    def _error_for(self, response: Answer, *, recipient: str = "") -> Exception:
        """Classified by status and Notify's error type (`errors[0].error`), never by the words
        of the message. Notify sends no Retry-After on any answer, so none is read. A 400 of any
        other type than RECIPIENT_ERRORS (`BadRequestError`: template not found or of the wrong
        type, missing personalisation, a reply-to id unknown, a team key or trial mode refusing
        someone outside the team, "Cannot send to international mobile numbers", "Service is not
        allowed to send ...") is about the service's settings: every message would fail the same
        way until someone changes them, so it is retried slowly and logged, never counted as one
        person's permanent failure."""
        status = response.status_code
        error_class, text = _first_error(response)
        text = _scrub(text, recipient)
        described = f"GOV.UK Notify {status} {error_class or response.reason_phrase}: {text}"
        if status in (401, 403):
            return ProviderConfigurationError(
                f"{described}. Check NOTIFY_API_KEY (a live key of this service, not revoked) "
                f"and that this server's clock is within {CLOCK_TOLERANCE_SECONDS} s of real time"
            )
        if status == 429:
            if error_class in DAILY_LIMIT_ERRORS:
                return DailyLimitError(f"{described} (daily limit spent; resets at midnight UTC)")
            return ProviderUnavailable(described)
        if status >= 500 or status in (408, 425):
            return ProviderUnavailable(described)
        if status == 400 and error_class in RECIPIENT_ERRORS:
            return PermanentError(described)
        if status == 400:
            return ProviderConfigurationError(
                f"{described}. Check the GOV.UK Notify settings: NOTIFY_EMAIL_TEMPLATE_ID / "
                "NOTIFY_SMS_TEMPLATE_ID (content '((subject))'/'((body))' for e-mail, '((body))' "
                "for SMS), NOTIFY_EMAIL_REPLY_TO_ID, the API key's type, and the service's "
                "permissions on Notify (live, not in trial mode; international texts if needed)"
            )
        if status in (404, 405):
            return ProviderConfigurationError(f"{described}. Check NOTIFY_BASE_URL")
        return PermanentError(described)

    # -- looking up --

    async def get_notification(self, notification_id: str) -> dict[str, Any] | None:
        """Notify's record of one notification (status, times), or None if it has none."""
        try:
            uuid.UUID(notification_id)
        except ValueError:
            return None
        response = await self._get(f"/v2/notifications/{notification_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error_for(response)
        return response.json()

    async def find_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The most recent notification Notify accepted with this reference (our message id), or
        None. Notify keeps them for 7 days; a None older than that proves nothing."""
        response = await self._get("/v2/notifications", params={"reference": reference})
        if response.status_code != 200:
            raise self._error_for(response)
        found = [
            n for n in response.json().get("notifications", []) if n.get("reference") == reference
        ]
        if not found:
            return None
        return max(found, key=lambda n: str(n.get("created_at") or ""))

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        try:
            return await self._request("GET", path, params=params)
        except TimeoutError as exc:
            raise ProviderUnavailable(
                f"GOV.UK Notify did not answer in time: {type(exc).__name__}"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(
                f"GOV.UK Notify could not be reached: {type(exc).__name__}"
            ) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> NotifyChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
