"""A fault of ours is a proper 500 (JSON under /api/, the error page elsewhere), logged, and the
client's keep-alive connection survives it: checked over real HTTP against uvicorn on loopback,
with both of uvicorn's HTTP parsers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine

from service.config import Settings
from service.main import create_app
from tests.processes import free_port

pytestmark = pytest.mark.sqlite_only


SLOW_MACHINE = 30.0
"""Seconds: the first page a fresh process renders compiles its templates, which on a busy
2-core machine has taken longer than httpx's 5-second default."""


class Fault(Exception):
    """What no handler knows: stands for any bug in a route."""


def with_faulty_routes(app: FastAPI) -> FastAPI:
    """The service's own app with three routes added: two that fail, one that says which client
    connection (port) it came in on."""

    @app.get("/api/v1/test-fault")
    def api_fault() -> None:
        raise Fault("a bug in an API route")

    @app.get("/test-fault")
    def page_fault() -> None:
        raise Fault("a bug in a page")

    @app.get("/api/v1/test-connection")
    def connection(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    return app


@pytest.fixture(params=["h11", "httptools"])
def base_url(request: pytest.FixtureRequest, settings: Settings, engine: Engine) -> Iterator[str]:
    port = free_port()
    app = with_faulty_routes(create_app(settings, engine))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=request.param, lifespan="off", log_level="critical"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_api_fault_is_a_json_500_and_the_connection_is_reused(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=SLOW_MACHINE) as client:
        before = client.get("/api/v1/test-connection").json()["port"]
        failed = client.get("/api/v1/test-fault")
        after = client.get("/api/v1/test-connection").json()["port"]
    assert failed.status_code == 500
    assert failed.json() == {"detail": "internal error; it has been logged"}
    assert failed.headers.get("connection", "").lower() != "close"
    assert after == before  # the same TCP connection carried all three


def test_a_page_fault_is_the_error_page_and_the_connection_is_reused(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=SLOW_MACHINE) as client:
        before = client.get("/api/v1/test-connection").json()["port"]
        failed = client.get("/test-fault")
        after = client.get("/api/v1/test-connection").json()["port"]
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/html")
    assert "Sorry, there is a problem with the service" in failed.text
    assert "Fault" not in failed.text and "Traceback" not in failed.text
    assert "content-security-policy" in failed.headers  # still inside the security headers
    assert after == before
