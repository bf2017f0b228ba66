"""A hundred intranet clients at once on a real `serve`: every request answered, none failed.

Before requests were let in only as fast as the database pool can serve them, this stalled for
the pool's 30-second timeout and failed nearly every request (worker threads waiting for
connections held by requests waiting for threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.processes import Server, create_api_key, server_env, servers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CLIENTS = 100


def test_a_hundred_clients_at_once_are_all_answered(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, API_RATE_LIMIT_PER_MINUTE=0, DISPATCHER_ENABLED="false")
    key = create_api_key(env, tmp_path, "inspections:write", "inspections:read")
    headers = {"Authorization": f"Bearer {key}"}
    with servers() as started:
        server = Server(env, tmp_path, name="many")
        started.append(server.start())
        made = server.http.post(
            "/api/v1/inspections",
            headers=headers,
            json={"notified_at": datetime.now(UTC).isoformat(), "drill": True},
        )
        assert made.status_code == 201, made.text
        inspection = f"/api/v1/inspections/{made.json()['id']}"
        paths = [inspection, f"{inspection}/cascade", "/api/v1/inspections", "/healthz"]

        def client(number: int) -> list[int]:
            # Each its own connection, as a hundred intranet pages would be; a long timeout so a
            # stall shows as the pool's errors, not the client's.
            with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
                return [http.get(path).status_code for path in paths[number % 2 :]]

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answers = [code for codes in pool.map(client, range(CLIENTS)) for code in codes]
        log = server.log()
        assert "QueuePool limit" not in log, log[-3000:]
        assert len(answers) == CLIENTS * len(paths) - CLIENTS // 2
        assert set(answers) == {200}, sorted(set(answers))
