"""A local GOV.UK Notify for tests and benchmarks: a real HTTP server that behaves as Notify's REST
API (v2) does, limits and silences included, and answers in its shapes. A fake kinder than the real
service would hide the failures that matter, so each rule below names the code or page it copies.

- Tokens (auth.py): HS256, `iss` = service id, `iat` within 30 seconds of the fake's clock, each of
  the service's keys tried in turn; keys are live, team or test, and can be revoked.
- Limits (limits.py): 429 RateLimitError from a token bucket per key type (3,000 a minute unless
  configured), 429 TooManyRequestsError from daily counts per message type that start again at
  midnight UTC. Never a `Retry-After` header, on these or on any 5xx.
- Recipients (recipients.py): numbers checked by Notify's libphonenumber rules (UK mobiles;
  landlines and other countries only with the service's permission; pagers refused); team keys
  and trial mode send only to the team and guest list; the smoke-test numbers and addresses are
  answered and never stored; test keys end as delivered, or as the failure their recipient
  stands for.
- Receipts (callbacks.py): POSTed to the service's callback URL only for delivered, permanent- and
  temporary-failure, never for technical-failure; a message with no final status times out to
  temporary-failure after 72 hours; a callback the service could not take is retried only after
  a network error, a 5xx or a 429 (5 more times, 300 seconds apart, unless a test shortens it).
- Sending (server.py): required and unknown fields, template type and placeholders, the
  918-character SMS limit, reply-to ids; GET by id and by reference (only the caller's key type).

It records every request (with the token's claims), every stored notification, every smoke-test
send and every callback attempt, and can be told to misbehave for the next N requests: 429
RateLimitError or TooManyRequestsError (sends only), 5xx, slow answers (the notification is still
accepted after the delay, as a real one can be after the client gave up), a refused recipient.
Its clock can be moved (clock.py).

In a test: `FakeNotify().start()` runs it in a thread on a free loopback port (the `fake_notify`
fixture does this). For a benchmark, as a process: `python tests/notify/fake_notify.py --port 8765`
(cli.py), driven with `FakeNotifyControl(base_url)` (control.py); `--ceiling URL` measures how many
sends a second a running fake accepts (ceiling.py)."""

from tests.notify.fake_notify.auth import CLOCK_MESSAGE, GENERAL_TOKEN_ERROR_MESSAGE
from tests.notify.fake_notify.callbacks import CallbackAttempt
from tests.notify.fake_notify.ceiling import Ceiling, ceiling, measure_ceiling
from tests.notify.fake_notify.control import FakeNotifyControl
from tests.notify.fake_notify.server import (
    DEFAULT_EMAIL_TEMPLATE_ID,
    DEFAULT_KEY_NAME,
    DEFAULT_SECRET,
    DEFAULT_SERVICE_ID,
    DEFAULT_SMS_TEMPLATE_ID,
    FakeNotify,
    Notification,
    RecordedRequest,
)

__all__ = [
    "CLOCK_MESSAGE",
    "DEFAULT_EMAIL_TEMPLATE_ID",
    "DEFAULT_KEY_NAME",
    "DEFAULT_SECRET",
    "DEFAULT_SERVICE_ID",
    "DEFAULT_SMS_TEMPLATE_ID",
    "GENERAL_TOKEN_ERROR_MESSAGE",
    "CallbackAttempt",
    "Ceiling",
    "FakeNotify",
    "FakeNotifyControl",
    "Notification",
    "RecordedRequest",
    "ceiling",
    "measure_ceiling",
]
