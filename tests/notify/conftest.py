"""Fixtures for the notification channels: async tests on asyncio, and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.fake_notify import FakeNotify
from tests.notify.smtp_sink import SmtpSink


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP server on loopback; build your own `SmtpSink(...)` for TLS or AUTH."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def fake_notify_server() -> Iterator[FakeNotify]:
    """One fake GOV.UK Notify on a loopback port for the whole run (tests/notify/fake_notify.py)."""
    with FakeNotify() as fake:
        yield fake


@pytest.fixture
def fake_notify(fake_notify_server: FakeNotify) -> Iterator[FakeNotify]:
    """The fake Notify, emptied: no notifications, requests, faults, refusals or clock offset."""
    fake_notify_server.reset()
    yield fake_notify_server
    fake_notify_server.wait_idle()  # a slow answer outlives the client that gave up on it
    fake_notify_server.reset()
