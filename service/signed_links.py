"""Signed, expiring one-click links: the acknowledgement link in every cascade message and the
mark-done link in task reminders, escalations and digests.

The signed link is the credential, so nobody needs to log in. Both are signed with one key the
service keeps in its database (shared by replicas), each under a salt of its own, so a token made
for one purpose never passes for the other. Acknowledgement tokens carry only a node's random
code and a timestamp (about 43 characters: short enough for an SMS); mark-done tokens carry the
task, the person it was sent to and the task's version (about 67): the version moves on when the
task is reassigned or reopened, so a link sent before stops working (LinkVoided says why)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlmodel import Session

from service import secrets

SECRET_NAME = "ack-link-key"
ACK_SALT = "inspection-week.ack"
DONE_SALT = "inspection-week.task-done"
ACK_PATH = "/ack/"
DONE_PATH = "/tasks/done/"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class LinkInvalid(ValueError):
    """Not a link this service made (mistyped, truncated or forged), or for something gone."""


class LinkExpired(ValueError):
    """A genuine link, but older than ACK_LINK_MAX_AGE_HOURS."""


class LinkVoided(ValueError):
    """A genuine mark-done link for an earlier version of its task; `why` is what changed
    (reassigned, reopened)."""

    def __init__(self, why: str):
        super().__init__(f"this mark-done link no longer works: the task was {why}")
        self.why = why


def link(public_base_url: str, path: str, token: str) -> str:
    """The one way a link is made: the public address, the purpose's path, the token."""
    return f"{public_base_url.rstrip('/')}{path}{token}"


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
        raise LinkInvalid("not an acknowledgement link") from exc


def _unsign(signer: TimestampSigner, token: str, *, max_age_seconds: int, what: str) -> str:
    try:
        return signer.unsign(token, max_age=max_age_seconds).decode("ascii")
    except SignatureExpired as exc:
        raise LinkExpired(f"this {what} link has expired") from exc
    except (BadSignature, UnicodeError) as exc:
        raise LinkInvalid(f"not {'an' if what[0] in 'aeiou' else 'a'} {what} link") from exc


class AckSigner:
    def __init__(self, key: str):
        self._signer = TimestampSigner(key, salt=ACK_SALT)

    def token_for(self, ack_code: int) -> str:
        return self._signer.sign(encode_code(ack_code)).decode("ascii")

    def code_from(self, token: str, *, max_age_seconds: int) -> int:
        value = _unsign(
            self._signer, token, max_age_seconds=max_age_seconds, what="acknowledgement"
        )
        return decode_code(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkInvalid("not a mark-done link") from exc


@dataclass(frozen=True)
class DoneLink:
    task_id: uuid.UUID
    contact_id: str
    """Who the link was sent to."""
    version: int = 0
    """The task's version when the link was made."""


MAX_VERSION_DIGITS = 8
"""Base 36: far beyond the changes one task sees, and a bound on what a token may carry."""


class DoneSigner:
    """The task id and the contact id, base64url, and the task's version in base 36, then the
    timestamp and signature (itsdangerous splits from the right, so the dots are safe). A token
    made before versions (two parts) stands for version 0."""

    def __init__(self, key: str):
        self._signer = TimestampSigner(key, salt=DONE_SALT)

    def token_for(self, task_id: uuid.UUID, contact_id: str, version: int) -> str:
        value = f"{_b64(task_id.bytes)}.{_b64(contact_id.encode('utf-8'))}.{encode_code(version)}"
        return self._signer.sign(value).decode("ascii")

    def link_from(self, token: str, *, max_age_seconds: int) -> DoneLink:
        value = _unsign(self._signer, token, max_age_seconds=max_age_seconds, what="mark-done")
        parts = value.split(".")
        if len(parts) not in (2, 3) or not parts[1]:
            raise LinkInvalid("not a mark-done link")
        raw = _unb64(parts[0])
        if len(raw) != 16:
            raise LinkInvalid("not a mark-done link")
        try:
            contact_id = _unb64(parts[1]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LinkInvalid("not a mark-done link") from exc
        version = 0
        if len(parts) == 3:
            if not 0 < len(parts[2]) <= MAX_VERSION_DIGITS or not parts[2].isalnum():
                raise LinkInvalid("not a mark-done link")
            version = decode_code(parts[2].lower())
        return DoneLink(task_id=uuid.UUID(bytes=raw), contact_id=contact_id, version=version)


_ack_signers: dict[str, AckSigner] = {}
_done_signers: dict[str, DoneSigner] = {}


def _key(session: Session, now: datetime) -> str:
    """Made once, kept in the database, shared by replicas."""
    return secrets.get_or_create(session, SECRET_NAME, now=now)


def ack_signer(session: Session, *, now: datetime) -> AckSigner:
    key = _key(session, now)
    found = _ack_signers.get(key)
    if found is None:
        found = _ack_signers[key] = AckSigner(key)
    return found


def done_signer(session: Session, *, now: datetime) -> DoneSigner:
    key = _key(session, now)
    found = _done_signers.get(key)
    if found is None:
        found = _done_signers[key] = DoneSigner(key)
    return found
