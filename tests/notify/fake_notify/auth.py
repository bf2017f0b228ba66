"""API keys and the bearer token, checked in Notify's order with Notify's messages.

Sources: alphagov/notifications-api app/authentication/auth.py (`requires_auth`,
`_decode_jwt_token`: each of the service's keys is tried in turn, a revoked key is refused only
once its secret matches) and alphagov/notifications-python-client
notifications_python_client/authentication.py (`decode_jwt_token`, `validate_jwt_token`: HS256,
`iss` and `iat` required, `iat` within 30 seconds either way). The key itself is
`{key_name}-{service id}-{secret}` (tech docs, "API keys"); its type is not in the key but recorded
against it: live ("normal" inside Notify), team or test."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from tests.notify.fake_notify.errors import NotifyError

TOKEN_BOUND_SECONDS = 30
GENERAL_TOKEN_ERROR_MESSAGE = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
CLOCK_MESSAGE = "Error: Your system clock must be accurate to within 30 seconds"
KEY_NOT_FOUND_MESSAGE = "Invalid token: API key not found"

KEY_TYPES = {"live": "normal", "team": "team", "test": "test"}
"""The names the tech docs use → app/constants.py KEY_TYPE_NORMAL, KEY_TYPE_TEAM, KEY_TYPE_TEST."""


@dataclass
class ApiKey:
    name: str
    secret: str
    key_type: str  # "normal", "team" or "test"
    revoked: bool = False

    def full(self, service_id: str) -> str:
        return f"{self.name}-{service_id}-{self.secret}"


def _auth_error(status: int, message: str) -> NotifyError:
    return NotifyError(status, [("AuthError", message)])


def authenticate(
    header: str | None, *, service_id: str, keys: list[ApiKey], now: float
) -> tuple[dict[str, Any], ApiKey]:
    """(claims, the key that signed them), or NotifyError 401/403."""
    if not header:
        raise _auth_error(401, "Unauthorized: authentication token must be provided")
    if header[:7].title() != "Bearer ":
        raise _auth_error(401, "Unauthorized: authentication bearer scheme must be used")
    token = header[7:]
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _auth_error(403, GENERAL_TOKEN_ERROR_MESSAGE) from None
    if "iss" not in unverified:
        raise _auth_error(403, "Invalid token: iss field not provided")
    try:
        issuer = str(uuid.UUID(str(unverified["iss"])))
    except ValueError:
        raise _auth_error(403, "Invalid token: service id is not the right data type") from None
    if issuer != service_id:
        raise _auth_error(403, "Invalid token: service not found")
    if not keys:
        raise _auth_error(403, "Invalid token: service has no API keys")
    for key in keys:
        claims = _decode(token, key.secret, now)
        if claims is None:
            continue  # not signed with this key's secret (or no iss/iat): try the next
        if key.revoked:
            raise _auth_error(403, "Invalid token: API key revoked")
        return claims, key
    raise _auth_error(403, KEY_NOT_FOUND_MESSAGE)


def _decode(token: str, secret: str, now: float) -> dict[str, Any] | None:
    """`decode_jwt_token` with the fake's clock: None where Notify's client raises
    TokenDecodeError (wrong signature, missing iss or iat), NotifyError where it raises anything
    else."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidAlgorithmError:
        raise _auth_error(403, "Invalid token: algorithm used is not HS256") from None
    except jwt.DecodeError:
        return None
    except jwt.PyJWTError:
        raise _auth_error(403, GENERAL_TOKEN_ERROR_MESSAGE) from None
    # PyJWT's own claim checks (leeway 30 s), on this clock: a bad or future iat is a clock error,
    # an expired exp or a future nbf a general one.
    if "iat" in claims:
        try:
            iat = int(claims["iat"])
        except (TypeError, ValueError):
            raise _auth_error(403, CLOCK_MESSAGE) from None
        if iat > now + TOKEN_BOUND_SECONDS:
            raise _auth_error(403, CLOCK_MESSAGE)
    for name, too_late in (("exp", lambda v: now > v + 30), ("nbf", lambda v: v > now + 30)):
        if name in claims:
            try:
                if too_late(float(claims[name])):
                    raise _auth_error(403, GENERAL_TOKEN_ERROR_MESSAGE)
            except (TypeError, ValueError):
                raise _auth_error(403, GENERAL_TOKEN_ERROR_MESSAGE) from None
    # validate_jwt_token: iss and iat required (TokenDecodeError: try the next key), then bounds
    if "iss" not in claims or "iat" not in claims:
        return None
    iat = int(claims["iat"])
    whole_now = int(now)
    if whole_now > iat + TOKEN_BOUND_SECONDS or iat > whole_now + TOKEN_BOUND_SECONDS:
        raise _auth_error(403, CLOCK_MESSAGE)
    return claims
