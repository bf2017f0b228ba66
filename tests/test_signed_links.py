"""Signed one-click links: what a token carries, that it is short and URL-safe, that forged,
foreign and expired tokens are refused, that acknowledgement and mark-done tokens never pass for
each other, and that every replica signs with the one key kept in the database."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import TimestampSigner
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import secrets, signed_links
from service.signed_links import (
    DONE_SALT,
    AckSigner,
    DoneLink,
    DoneSigner,
    LinkExpired,
    LinkInvalid,
)
from tests.plan.reminder_plan import CALL

KEY = "k3y-for-tests-0123456789abcdefghijklmnopqrstu"
TASK = uuid.UUID("6d813195-c56f-4a5d-9c39-5a0b79ed247b")
HOUR = 3600
URL_SAFE = re.compile(r"[A-Za-z0-9._-]+")


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contact_id", ["E2201", "priya.raman", "Siân O'Neill 7", "x" * 64, "a.b.c"]
)
def test_a_token_carries_the_task_and_the_person_and_is_url_safe(contact_id: str) -> None:
    signer = DoneSigner(KEY)

    token = signer.token_for(TASK, contact_id, 37)

    assert URL_SAFE.fullmatch(token), token
    assert signer.link_from(token, max_age_seconds=HOUR) == DoneLink(TASK, contact_id, 37)


def test_a_token_made_before_task_versions_stands_for_version_0() -> None:
    """Links already in people's inboxes keep working until their task next changes."""
    parts = [TASK.bytes, b"E2201"]
    value = ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)
    token = TimestampSigner(KEY, salt=DONE_SALT).sign(value).decode()
    assert DoneSigner(KEY).link_from(token, max_age_seconds=HOUR) == DoneLink(TASK, "E2201", 0)


def test_a_typical_token_is_short_enough_for_a_text_message() -> None:
    assert len(DoneSigner(KEY).token_for(TASK, "E2201", 0)) <= 70


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        "a.b.c.d",
        "bYExlcVvSl2cOVoLee0kew.cHJpeWEucmFtYW4.awQ_Nw.-fGHjKhCB0fVapoGbVrT_KUXIo4",
    ],
)
def test_a_token_we_did_not_sign_is_invalid(token: str) -> None:
    with pytest.raises(LinkInvalid):
        DoneSigner(KEY).link_from(token, max_age_seconds=HOUR)


def test_a_changed_token_is_invalid() -> None:
    token = DoneSigner(KEY).token_for(TASK, "E2201", 0)
    for position in (0, len(token) // 2, len(token) - 5):  # not the last: spare bits
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        with pytest.raises(LinkInvalid):
            DoneSigner(KEY).link_from(changed, max_age_seconds=HOUR)
    with pytest.raises(LinkInvalid):  # another service's key
        DoneSigner(KEY + "x").link_from(token, max_age_seconds=HOUR)


def test_acknowledgement_and_mark_done_tokens_are_not_interchangeable() -> None:
    ack = AckSigner(KEY).token_for(123456789)
    done = DoneSigner(KEY).token_for(TASK, "E2201", 0)

    with pytest.raises(LinkInvalid):
        DoneSigner(KEY).link_from(ack, max_age_seconds=HOUR)
    with pytest.raises(LinkInvalid):
        AckSigner(KEY).code_from(done, max_age_seconds=HOUR)


def test_a_token_expires_after_its_maximum_age() -> None:
    signed_at = datetime(2025, 4, 8, 12, 0, tzinfo=UTC)
    with time_machine.travel(signed_at, tick=False):
        token = DoneSigner(KEY).token_for(TASK, "E2201", 0)
    with time_machine.travel(signed_at + timedelta(seconds=HOUR - 1), tick=False):
        assert DoneSigner(KEY).link_from(token, max_age_seconds=HOUR).task_id == TASK
    with (
        time_machine.travel(signed_at + timedelta(seconds=HOUR + 1), tick=False),
        pytest.raises(LinkExpired),
    ):
        DoneSigner(KEY).link_from(token, max_age_seconds=HOUR)


def test_links_are_signed_with_the_service_s_own_key_shared_by_every_replica(
    session: Session, engine: Engine
) -> None:
    token = signed_links.done_signer(session, now=CALL).token_for(TASK, "E2201", 0)
    session.commit()

    with Session(engine) as replica:
        key = secrets.get_or_create(replica, signed_links.SECRET_NAME, now=CALL)
        assert DoneSigner(key).link_from(token, max_age_seconds=HOUR).contact_id == "E2201"
    assert signed_links.link("https://inspections.example.org/", signed_links.DONE_PATH, token) == (
        f"https://inspections.example.org/tasks/done/{token}"
    )
