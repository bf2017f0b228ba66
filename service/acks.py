"""Signed, expiring, single-purpose acknowledgement links, short enough for an SMS.

The link carries only a node's random `ack_code` and a timestamp, signed with a key the service
keeps in its database; nobody needs to log in, and forging or reusing a link for another purpose
fails the signature check."""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlmodel import Session

from service import secrets

SECRET_NAME = "ack-link-key"
SALT = "inspection-week.ack"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class AckLinkInvalid(ValueError):
    """Not a link this service made (mistyped, truncated or forged)."""


class AckLinkExpired(ValueError):
    """A genuine link, but older than ACK_LINK_MAX_AGE_HOURS."""


def encode_code(code: int) -> str:
    digits = []
    while True:
        code, remainder = divmod(code, 36)
        digits.append(ALPHABET[remainder])
        if code == 0:
            return "".join(reversed(digits))


def decode_code(text: str) -> int:
    try:
        return int(text, 36)
    except ValueError as exc:
        raise AckLinkInvalid("not an acknowledgement link") from exc


class AckSigner:
    def __init__(self, key: str):
        self._signer = TimestampSigner(key, salt=SALT)

    def token_for(self, ack_code: int) -> str:
        return self._signer.sign(encode_code(ack_code)).decode("ascii")

    def code_from(self, token: str, *, max_age_seconds: int) -> int:
        try:
            value = self._signer.unsign(token, max_age=max_age_seconds)
        except SignatureExpired as exc:
            raise AckLinkExpired("this acknowledgement link has expired") from exc
        except BadSignature as exc:
            raise AckLinkInvalid("not an acknowledgement link") from exc
        return decode_code(value.decode("ascii"))


_signers: dict[str, AckSigner] = {}


def signer(session: Session, *, now: datetime) -> AckSigner:
    """The service's signer; the key is made once, kept in the database, shared by replicas."""
    key = secrets.get_or_create(session, SECRET_NAME, now=now)
    found = _signers.get(key)
    if found is None:
        found = _signers[key] = AckSigner(key)
    return found


def ack_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/ack/{token}"
