"""Authorization headers per scope, each for a new API key."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def reader(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("inspections:read")


@pytest.fixture
def writer(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("inspections:write")


@pytest.fixture
def admin(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("admin")
