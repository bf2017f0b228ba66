"""Page tests sign in a lot: real argon2 at its cheapest parameters."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cheap_hashing(fast_hashing: None) -> None:
    return None
