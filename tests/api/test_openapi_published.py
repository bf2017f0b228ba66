"""The schema the council intranet codes against is the file in the repository: a change to the
API that is not in docs/openapi.json fails here (CI), with the command that regenerates it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from service.api import openapi
from service.cli import app as cli
from service.config import Settings
from service.main import create_app

pytestmark = pytest.mark.sqlite_only


def test_the_published_schema_is_the_apps_schema(settings: Settings, engine: Engine) -> None:
    current = openapi.text(create_app(settings, engine).openapi())
    published = openapi.PUBLISHED.read_text(encoding="utf-8")
    assert published == current, (
        "docs/openapi.json differs from the app's schema; review the change, then regenerate: "
        f"{openapi.REGENERATE}\n" + "\n".join(openapi.differences(published, current))
    )


def test_the_served_schema_is_the_published_one(client: TestClient) -> None:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(openapi.PUBLISHED.read_text(encoding="utf-8"))


def test_the_schema_is_built_the_same_way_twice(settings: Settings, engine: Engine) -> None:
    first = openapi.text(openapi.build(create_app(settings, engine)))
    second = openapi.text(openapi.build(create_app(settings, engine)))
    assert first == second
    assert first.endswith("}\n") and json.loads(first)["openapi"].startswith("3.")


def test_check_names_the_changed_operation_and_the_command(tmp_path: Path) -> None:
    schema = json.loads(openapi.PUBLISHED.read_text(encoding="utf-8"))
    del schema["paths"]["/api/v1/roles"]
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi.text(schema), encoding="utf-8")

    result = CliRunner().invoke(cli, ["openapi", "--check", str(stale)])

    assert result.exit_code == 1
    assert "+ operation GET /api/v1/roles" in result.output
    assert openapi.REGENERATE in result.output


def test_write_then_check_agree(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    written = CliRunner().invoke(cli, ["openapi", "--write", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == openapi.PUBLISHED.read_text(encoding="utf-8")
    checked = CliRunner().invoke(cli, ["openapi", "--check", str(target)])
    assert checked.exit_code == 0, checked.output
