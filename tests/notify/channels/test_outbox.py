"""The embedded default channel takes every message and sends nothing: the message row is the
record, so the service runs out of the box."""

from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import LogCapture

import service.notify.channels.outbox as outbox_module
from service.notify.channels.base import Accepted, Medium, OutgoingMessage
from service.notify.channels.outbox import OutboxChannel

pytestmark = pytest.mark.anyio


def _message(medium: Medium, to: str) -> OutgoingMessage:
    return OutgoingMessage(
        id="7c1d2e9a-4b5f-4c8e-9a7d-3e2f1b0c9d8e",
        medium=medium,
        to=to,
        subject="Ofsted inspection announced",
        body="Please acknowledge: https://example.org/ack/abc",
    )


def test_outbox_carries_email_and_sms() -> None:
    channel = OutboxChannel()
    assert channel.name == "outbox"
    assert channel.media == frozenset({Medium.email, Medium.sms})


async def test_outbox_accepts_an_email_without_a_provider_id() -> None:
    channel = OutboxChannel()
    accepted = await channel.send(_message(Medium.email, "harriet.oyelaran@example.org"))
    assert accepted == Accepted(provider_id=None)


async def test_outbox_accepts_an_sms_without_a_provider_id() -> None:
    channel = OutboxChannel()
    accepted = await channel.send(_message(Medium.sms, "+447700900123"))
    assert accepted == Accepted(provider_id=None)


async def test_outbox_keeps_accepting_after_aclose() -> None:
    """Nothing is held open, so closing twice and sending afterwards are both harmless."""
    channel = OutboxChannel()
    await channel.aclose()
    await channel.aclose()
    accepted = await channel.send(_message(Medium.email, "tomasz.wojcik@example.org"))
    assert accepted.provider_id is None


async def test_outbox_logs_recipients_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    capture = LogCapture()
    monkeypatch.setattr(
        outbox_module,
        "log",
        structlog.wrap_logger(
            None,
            processors=[capture],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            cache_logger_on_first_use=False,
        ),
    )
    channel = OutboxChannel()
    await channel.send(_message(Medium.email, "harriet.oyelaran@example.org"))
    await channel.send(_message(Medium.sms, "+447700900123"))
    logged = repr(capture.entries)
    assert [entry["to"] for entry in capture.entries] == ["h***@example.org", "+44***123"]
    assert "harriet.oyelaran" not in logged
    assert "7700900123" not in logged
