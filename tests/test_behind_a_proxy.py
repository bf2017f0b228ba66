"""Behind a reverse proxy: a real `inspection-week serve` believes X-Forwarded-For and
X-Forwarded-Proto from the proxies FORWARDED_ALLOW_IPS names, and from no one else. On Linux the
whole of 127.0.0.0/8 is loopback, so the "proxy" is this test connecting from 127.0.0.2 and a
stranger is the same test connecting from 127.0.0.3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.users.throttle import MAX_FAILURES_PER_ADDRESS
from tests.api.pages.helpers import PASSWORD, csrf_from
from tests.processes import Server, run_cli, server_env

pytestmark = pytest.mark.slow

PROXY = "127.0.0.2"
STRANGER = "127.0.0.3"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """SQLite (the throttle's counting is tested on both databases elsewhere). The setting is
    in the .env file, as an operator may keep it, so only the service's settings can carry it
    to uvicorn."""
    env = server_env(f"sqlite:///{tmp_path / 'inspection-week.db'}", scheduler_enabled="false")
    env.pop("FORWARDED_ALLOW_IPS", None)
    (tmp_path / ".env").write_text(f"FORWARDED_ALLOW_IPS={PROXY}\n")
    run_cli(
        *("users", "create", "--username", "harriet", "--name", "Harriet Oyelaran"),
        *("--role", "viewer", "--password-stdin"),
        env=env,
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    server = Server(env, tmp_path)
    try:
        yield server.start()
    finally:
        server.close()


def client_from(server: Server, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10)


def sign_in(
    client: httpx.Client, password: str, forwarded_for: str, username: str = "harriet"
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for}
    page = client.get("/login", headers=headers)
    form = {"csrf_token": csrf_from(page.text), "username": username, "password": password}
    return client.post("/login", data=form, headers=headers, follow_redirects=False)


def test_failures_from_one_forwarded_address_do_not_lock_out_another(server: Server) -> None:
    with client_from(server, PROXY) as proxy:
        for attempt in range(MAX_FAILURES_PER_ADDRESS):
            wrong = sign_in(proxy, "wrong", "198.51.100.7", username=f"guess-{attempt}")
            assert wrong.status_code in (401, 429), wrong.text
        assert sign_in(proxy, PASSWORD, "198.51.100.7").status_code == 429

        signed_in = sign_in(proxy, PASSWORD, forwarded_for="203.0.113.40")

    assert signed_in.status_code == 303, signed_in.text


def test_forwarded_headers_from_anyone_else_are_not_believed(server: Server) -> None:
    with client_from(server, STRANGER) as stranger:
        for attempt in range(MAX_FAILURES_PER_ADDRESS):
            sign_in(stranger, "wrong", f"198.51.100.{attempt}", username=f"guess-{attempt}")
        locked = sign_in(stranger, PASSWORD, forwarded_for="203.0.113.40")
        spoofed = stranger.get("/login", headers={"X-Forwarded-Proto": "https"})

    assert locked.status_code == 429, "the stranger's own address counts, whatever it claims"
    assert "strict-transport-security" not in spoofed.headers


def test_https_at_the_proxy_gets_hsts(server: Server) -> None:
    with client_from(server, PROXY) as proxy:
        over_https = proxy.get("/login", headers={"X-Forwarded-Proto": "https"})
        over_http = proxy.get("/login")

    assert over_https.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in over_http.headers
