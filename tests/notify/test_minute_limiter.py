"""The service's own pace for a provider: GOV.UK Notify allows 3,000 messages per 60 seconds, and
no 60 seconds of sending may hold more, however the seconds fall.

Time is the event loop's clock, moved by hand in steps of 10 ms: three minutes cost no waiting."""

from __future__ import annotations

import asyncio

import pytest

from service.notify.dispatch import minute_limiter

pytestmark = pytest.mark.anyio


async def granted_times(
    per_minute: int, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> list[float]:
    """When requests sent as fast as the limiter lets them would go, over `seconds`."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    limiter = minute_limiter(per_minute)
    granted: list[float] = []
    end = now[0] + seconds
    while now[0] < end:
        while limiter.has_capacity():
            await limiter.acquire()
            granted.append(now[0])
        now[0] += 0.01
    return granted


def busiest_minute(granted: list[float]) -> int:
    busiest, first = 0, 0
    for last, moment in enumerate(granted):
        while moment - granted[first] >= 60:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


@pytest.mark.parametrize("per_minute", [3000, 600, 6000])
async def test_no_60_seconds_hold_more_than_the_limit(
    per_minute: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = await granted_times(per_minute, 180, monkeypatch)
    assert busiest_minute(granted) <= per_minute
    # and it is not needlessly slow: within a second's worth of the limit, minute after minute
    assert len(granted) >= 3 * (per_minute - 2 * per_minute / 60)


async def test_a_second_s_worth_goes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steering group's messages are not spread over a minute."""
    granted = await granted_times(3000, 0.005, monkeypatch)
    assert len(granted) == 50
