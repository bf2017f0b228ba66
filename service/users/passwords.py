"""Passwords: argon2 through pwdlib, one-time passwords for new accounts and resets, and the
rules a new password must meet (NCSC guidance: length over complexity, no forced symbols)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 12
MAX_LENGTH = 256
"""argon2 takes any length; the cap only stops a huge body being hashed on every attempt."""

ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""No 0/o, 1/l/i: a one-time password is often read out over the phone."""

COMMON = frozenset(
    {
        "password1234",
        "password12345",
        "passwordpassword",
        "123456789012",
        "qwertyuiopas",
        "inspectionweek",
        "inspection-week",
        "letmeinletmein",
        "welcome12345",
        "changemenow1",
    }
)

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one uses weaker parameters than today's)."""
    try:
        return _hasher.verify_and_update(password, password_hash)
    except UnknownHashError:
        return False, None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_nobody(password: str) -> None:
    """Spend the time a real check takes, so an unknown username answers no faster than a
    wrong password (which would tell an attacker which usernames exist)."""
    verify(password, _dummy_hash())


def one_time_password() -> str:
    """Four groups of four (about 79 bits): typed once, then replaced by the user's own."""
    groups = ("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def problem_with(password: str, *, username: str) -> str | None:
    """Why this password cannot be used, or None when it can."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    folded, name = password.casefold(), username.casefold()
    if folded.strip() == name or (len(name) >= 4 and name in folded):
        return "Password must not contain your username"
    if folded in COMMON or len(set(password)) < 4:
        return "Password is too easy to guess: try three random words"
    return None
