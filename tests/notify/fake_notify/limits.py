"""Notify's two limits on sending: requests a minute per API key type (a token bucket) and messages
a day per type of message (counters that start again at midnight UTC).

Sources: alphagov/notifications-api app/notifications/validators.py
(`check_service_over_api_rate_limit`, `token_bucket_rate_limit_exceeded`,
`check_service_over_daily_message_limit`, `get_daily_rate_limit_value`), app/v2/errors.py
(`RateLimitError`, `TooManyRequestsError`: their messages; no `Retry-After`), app/config.py
(`DEFAULT_LIVE_SERVICE_RATE_LIMITS`, `DEFAULT_SERVICE_LIMIT`,
`DEFAULT_SERVICE_INTERNATIONAL_SMS_LIMIT`), and alphagov/notifications-utils
notifications_utils/clients/redis/redis_client.py (the "tally-bucket-rate-limit" script) and
clients/redis/__init__.py (`daily_limit_cache_key`: the UTC date is part of the key)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.notify.fake_notify.errors import NotifyError

SECONDS_IN_1_MINUTE = 60
DEFAULT_RATE_LIMIT = 3000
"""`service.rate_limit`'s default (tech docs, "Limits": 3,000 per 60 seconds per key type)."""
TOKEN_BUCKET_MAX = 1001
"""app/constants.py TOKEN_BUCKET_MAX. The constant itself was not readable here; 1,001 comes from a
summary of the repository and is what `ceil(3000 / 3) + 1` gives anyway."""
TOKEN_BUCKET_MIN = -1
"""app/constants.py TOKEN_BUCKET_MIN: its value could not be established. The Lua script's comment
says a negative minimum makes refused requests count against the limit too; that is the stricter
reading, so refused requests here cost a token, down to -1."""

DEFAULT_LIVE_LIMITS = {"email": 250_000, "sms": 250_000, "international_sms": 100}
"""A live service's daily limits (config `DEFAULT_LIVE_SERVICE_RATE_LIMITS`; international texts:
`DEFAULT_SERVICE_INTERNATIONAL_SMS_LIMIT`)."""
DEFAULT_TRIAL_LIMIT = 50
"""A trial-mode service's limit for each type (`DEFAULT_SERVICE_LIMIT`)."""

_KEY_TYPE_WORDS = {"normal": "LIVE", "team": "TEAM", "test": "TEST"}
"""RateLimitError: "normal keys are spoken of as 'live' in the documentation"."""


@dataclass
class TokenBucket:
    """The Lua script 'tally-bucket-rate-limit', one bucket per service and key type: full
    (`bucket_max`) on first use, refilled by whole tokens at `replenish_per_sec`, one token taken
    per request down to `bucket_min`; a request is refused when fewer than one token remains."""

    replenish_per_sec: float
    bucket_max: int
    bucket_min: int
    last_replenished: float | None = None
    tokens: int = 0

    def take(self, now: float) -> int:
        if self.last_replenished is None:
            self.last_replenished, self.tokens = now, self.bucket_max
        elapsed = max(now - self.last_replenished, 0.0)
        replenishment = math.floor(elapsed * self.replenish_per_sec)
        self.tokens = min(self.tokens + replenishment, self.bucket_max)
        self.tokens = max(self.tokens - 1, self.bucket_min)
        # "we do not use `now` for our new value of last_replenished, but the timestamp made-up to
        # the last whole token we were able to grant"
        self.last_replenished += replenishment / self.replenish_per_sec
        return self.tokens


class RateLimits:
    """Requests a minute, counted apart for each key type (`f"{service.id}-tokens-{key_type}"`).
    Only sending counts: `check_rate_limiting` is called from the POST handlers alone."""

    def __init__(self, per_minute: int = DEFAULT_RATE_LIMIT):
        self.per_minute = per_minute
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, key_type: str, now: float) -> None:
        bucket = self._buckets.get(key_type)
        if bucket is None:
            bucket = self._buckets[key_type] = TokenBucket(
                replenish_per_sec=self.per_minute / SECONDS_IN_1_MINUTE,
                bucket_max=min(math.ceil(self.per_minute / 3) + 1, TOKEN_BUCKET_MAX),
                bucket_min=TOKEN_BUCKET_MIN,
            )
        if bucket.take(now) < 1:
            raise rate_limit_error(key_type, self.per_minute)


def rate_limit_error(key_type: str, per_minute: int) -> NotifyError:
    return NotifyError(
        429,
        [
            (
                "RateLimitError",
                f"Exceeded rate limit for key type {_KEY_TYPE_WORDS[key_type]} of {per_minute} "
                f"requests per {SECONDS_IN_1_MINUTE} seconds",
            )
        ],
    )


def daily_limit_error(limit_name: str, limit: int) -> NotifyError:
    return NotifyError(
        429, [("TooManyRequestsError", f"Exceeded send limits ({limit_name}: {limit}) for today")]
    )


class DailyCounts:
    """Messages accepted today, per type, keyed by the UTC date so that they start again at
    midnight UTC. A request is refused when one more would pass the limit. Only stored messages
    count (`increment_daily_limit_cache` runs after `dao_create_notification`, never for a
    simulated recipient). Test-key messages are counted apart from the others and never against a
    live service's allowance (tech docs, "API keys"); the newest notifications-utils gives them a
    key of their own (`daily_limit_cache_key(..., key_type="test")`), so here they are refused
    once their own count reaches the same limit, the stricter of the two readings."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}

    @staticmethod
    def _key(limit_name: str, key_type: str, now: float) -> tuple[str, str, str]:
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        return (day, "test" if key_type == "test" else "service", limit_name)

    def check(self, limit_name: str, limit: int, key_type: str, now: float) -> None:
        if self._counts.get(self._key(limit_name, key_type, now), 0) + 1 > limit:
            raise daily_limit_error(limit_name, limit)

    def count(self, limit_name: str, key_type: str, now: float) -> None:
        key = self._key(limit_name, key_type, now)
        self._counts[key] = self._counts.get(key, 0) + 1

    def today(self, limit_name: str, key_type: str, now: float) -> int:
        return self._counts.get(self._key(limit_name, key_type, now), 0)
