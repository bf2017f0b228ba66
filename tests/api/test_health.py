"""Liveness and readiness for load balancers: no key needed, and readiness tells the truth about
the database and the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

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


def test_readyz_names_the_kind_of_scheduler_failure_and_only_the_log_has_the_detail(
    tmp_path: Path,
) -> None:
    """A failed tick's exception text carries SQL, table names and sometimes values: anyone may
    ask /readyz, so it shows a category; the detail goes to the log."""
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    engine = make_engine(url)
    app = create_app(make_settings(database_url=url, scheduler_enabled=False), engine)
    try:
        with capture_logs() as logs:
            assert app.state.scheduler.tick(now=datetime(2025, 3, 4, 9, 0, tzinfo=UTC)) is None
        response = TestClient(app).get("/readyz")
    finally:
        engine.dispose()

    assert response.json()["scheduler"]["last_error"] == "database"
    assert "due_job" not in response.text and "SELECT" not in response.text
    [failure] = [entry for entry in logs if entry["event"] == "scheduler_tick_failed"]
    assert failure["category"] == "database"
    assert "due_job" in failure["error"]
