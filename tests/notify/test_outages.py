"""Holding a provider that is down: one longer hold at a time however many sends meet the
outage, and every moment rows were held until handed over when the provider is back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.notify.channels.base import Medium
from service.notify.outages import MOST_HOLD_SECONDS, Holds

pytestmark = pytest.mark.sqlite_only

START = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
SMS = frozenset({Medium.sms})


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_a_hold_grows_once_per_hold_not_once_per_failed_send() -> None:
    clock = Clock()
    holds = Holds(clock, lambda n: 2.0 * 2 ** (n - 1))
    first = holds.hold("govuk_notify")
    assert [holds.hold("govuk_notify") for _ in range(49)] == [first] * 49
    assert first == START + timedelta(seconds=2) and holds.held_until("govuk_notify") == first

    clock.now = first
    assert holds.held_until("govuk_notify") is None  # the next send finds out
    second = holds.hold("govuk_notify")
    assert second == first + timedelta(seconds=4)

    clock.now = START + timedelta(hours=1)
    for _ in range(10):
        clock.now = holds.hold("govuk_notify")
    assert holds.hold("govuk_notify") - clock.now == timedelta(seconds=MOST_HOLD_SECONDS)


def test_the_first_success_hands_over_every_moment_rows_wait_for() -> None:
    clock = Clock()
    holds = Holds(clock, lambda n: 1.0)
    moments = set()
    for _ in range(3):
        moments.add(holds.hold("govuk_notify"))
        clock.now += timedelta(seconds=1)
    assert holds.take_recovered() == []

    holds.succeeded("govuk_notify", SMS)
    assert holds.take_recovered() == [(SMS, moments)]
    assert holds.take_recovered() == []
    assert holds.held_until("govuk_notify") is None
    holds.succeeded("govuk_notify", SMS)  # no outage: nothing to hand over
    assert holds.take_recovered() == []
