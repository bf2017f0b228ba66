"""The per-key limit: at most N requests in any moving 60 seconds, a 429 with Retry-After and
the service's error body beyond it, keys counted apart, idle keys forgotten, 0 for no limit.
The clock is moved with time-machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from service.api.rate_limit import KeyRateLimit
from service.config import Settings
from tests.conftest import make_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUTE = "/api/v1/frameworks"


def test_the_window_moves_with_each_request() -> None:
    limit = KeyRateLimit(3)
    with time_machine.travel(T0, tick=False) as clock:
        assert limit.admit(1) is None
        assert limit.admit(1) is None
        clock.shift(30)
        assert limit.admit(1) is None  # 3 in the last minute: 0 s, 0 s, 30 s
        clock.shift(29)
        assert limit.admit(1) == 1  # the two at 0 s leave the window in a second
        clock.shift(1)
        assert limit.admit(1) is None  # 30 s, 60 s
        clock.shift(1)
        assert limit.admit(1) is None  # 30 s, 60 s, 61 s
        clock.shift(1)
        assert limit.admit(1) == 28  # the one at 30 s leaves at 90 s


def test_a_refused_request_is_not_counted() -> None:
    limit = KeyRateLimit(2)
    with time_machine.travel(T0, tick=False) as clock:
        limit.admit(1)
        limit.admit(1)
        for _ in range(50):
            clock.shift(1)
            assert limit.admit(1) is not None
        clock.shift(10)  # 61 s after the two admitted ones
        assert limit.admit(1) is None


def test_keys_are_counted_apart() -> None:
    limit = KeyRateLimit(1)
    with time_machine.travel(T0, tick=False):
        assert limit.admit(1) is None
        assert limit.admit(1) == 60
        assert limit.admit(2) is None


def test_idle_keys_are_forgotten_so_memory_follows_the_keys_in_use() -> None:
    limit = KeyRateLimit(600)
    with time_machine.travel(T0, tick=False) as clock:
        for key_id in range(1, 1001):
            limit.admit(key_id)
        clock.shift(30)
        limit.admit(7)
        assert limit.keys_held() == 1000
        clock.shift(31)  # a minute after the first thousand; key 7 was seen 31 s ago
        limit.admit(1001)
        assert limit.keys_held() == 2


def test_a_clock_set_back_never_asks_for_more_than_a_minute() -> None:
    limit = KeyRateLimit(1)
    with time_machine.travel(T0, tick=False) as clock:
        limit.admit(1)
        clock.shift(-3600)
        assert limit.admit(1) == 60


def test_zero_is_no_limit() -> None:
    limit = KeyRateLimit(0)
    assert all(limit.admit(1) is None for _ in range(10_000))
    assert limit.keys_held() == 0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, api_rate_limit_per_minute=3)


@pytest.mark.sqlite_only
def test_a_key_over_the_limit_is_429_with_retry_after_and_the_error_body(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    busy = {"Authorization": f"Bearer {make_key('inspections:read')}"}
    other = {"Authorization": f"Bearer {make_key('inspections:read')}"}
    with time_machine.travel(T0, tick=False) as clock:
        assert [client.get(ROUTE, headers=busy).status_code for _ in range(3)] == [200] * 3
        clock.shift(timedelta(seconds=20))

        refused = client.get(ROUTE, headers=busy)

        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "40"
        assert set(refused.json()) == {"detail"} and "3 requests" in refused.json()["detail"]
        assert client.get(ROUTE, headers=other).status_code == 200
        clock.shift(timedelta(seconds=40))
        assert client.get(ROUTE, headers=busy).status_code == 200


@pytest.mark.sqlite_only
def test_unknown_keys_are_401_however_many(client: TestClient) -> None:
    wrong = {"Authorization": "Bearer iw_not-a-key-anyone-was-given"}

    assert {client.get(ROUTE, headers=wrong).status_code for _ in range(5)} == {401}


@pytest.mark.sqlite_only
def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "0")
    assert Settings(_env_file=None).api_rate_limit_per_minute == 0  # type: ignore[call-arg]
    monkeypatch.delenv("API_RATE_LIMIT_PER_MINUTE")
    assert Settings(_env_file=None).api_rate_limit_per_minute == 600  # type: ignore[call-arg]
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "-1")
    with pytest.raises(ValueError, match="api_rate_limit_per_minute"):
        Settings(_env_file=None)  # type: ignore[call-arg]
