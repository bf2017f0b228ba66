"""Password hashing and the rules for a new password."""

from __future__ import annotations

import re

import pytest

from service.users import passwords


def test_a_hash_is_argon2id_salted_and_verifies_only_the_same_password() -> None:
    first = passwords.hash_password("violet teapot harbour")
    second = passwords.hash_password("violet teapot harbour")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert passwords.verify("violet teapot harbour", first) == (True, None)
    assert passwords.verify("violet teapot harbouR", first)[0] is False


def test_a_weaker_stored_hash_is_upgraded_on_the_next_match() -> None:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192),)).hash(
        "violet teapot harbour"
    )
    ok, upgraded = passwords.verify("violet teapot harbour", weak)
    assert ok and upgraded is not None and upgraded != weak
    assert passwords.verify("violet teapot harbour", upgraded) == (True, None)


def test_a_stored_value_that_is_not_a_hash_never_matches() -> None:
    assert passwords.verify("anything", "not-a-hash") == (False, None)


def test_one_time_passwords_are_readable_and_different() -> None:
    made = {passwords.one_time_password() for _ in range(50)}
    assert len(made) == 50
    for value in made:
        assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", value)
        assert not set(value) & set("01ilo")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "12 characters or more"),
        ("x" * 257, "256 characters or fewer"),
        ("hoyelaran-2026!", "must not contain your username"),
        ("HOYELARAN", "12 characters or more"),
        ("password1234", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    found = passwords.problem_with(password, username="hoyelaran")
    assert found is not None and problem in found


def test_a_long_passphrase_is_accepted_and_short_usernames_are_not_searched_for() -> None:
    assert passwords.problem_with("violet teapot harbour", username="hoyelaran") is None
    assert passwords.problem_with("violet teapot harbour", username="te") is None
