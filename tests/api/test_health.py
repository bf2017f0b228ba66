"""Liveness and readiness for load balancers: no key needed, and readiness tells the truth about
the database and the scheduler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.db import make_engine
from service.main import create_app
from tests.conftest import make_settings


def test_healthz_answers_without_a_key(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_without_a_key_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["database"]) == ("ready", "ok")
    assert body["scheduler"]["enabled"] is False


@pytest.fixture
def unreachable_engine() -> Iterator[Engine]:
    """PostgreSQL on a port nothing listens on, with a password that must never be shown."""
    engine = make_engine("postgresql+psycopg://inspector:s3cret-pw@127.0.0.1:1/nowhere")
    yield engine
    engine.dispose()


def test_readyz_is_503_when_the_database_does_not_answer(unreachable_engine: Engine) -> None:
    settings = make_settings(database_url="postgresql://inspector:s3cret-pw@127.0.0.1:1/nowhere")
    # No `with`: the lifespan (and anything in it that needs the database) does not start.
    client = TestClient(create_app(settings, unreachable_engine), raise_server_exceptions=False)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["database"].startswith("unreachable: ")
    assert "s3cret-pw" not in response.text
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_while_an_enabled_scheduler_is_not_running(
    database_url: str, engine: Engine
) -> None:
    settings = make_settings(database_url=database_url, scheduler_enabled=True)
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)

    response = client.get("/readyz")

    assert response.status_code == 503
    scheduler = response.json()["scheduler"]
    assert (scheduler["enabled"], scheduler["running"]) == (True, False)


def test_readyz_is_200_once_the_enabled_scheduler_runs(database_url: str, engine: Engine) -> None:
    settings = make_settings(database_url=database_url, scheduler_enabled=True)

    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        response = client.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json()["scheduler"]["running"] is True
