"""The frameworks over HTTP: every framework the service knows, one by key, a clear 404 naming
the known ones, and a council's own framework file reaching the API without a code change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.frameworks import SHIPPED_DIR
from service.main import create_app
from tests.api.payloads import announce_body
from tests.conftest import make_settings

pytestmark = pytest.mark.sqlite_only

URL = "/api/v1/frameworks"
SHIPPED = ["ilacs-short", "ilacs-standard", "sif-2013"]


def test_list_names_every_shipped_framework_in_key_order(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get(URL, headers=reader)

    assert response.status_code == 200
    assert [item["key"] for item in response.json()["items"]] == SHIPPED


def test_sif_2013_is_served_as_the_file_describes_it(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get(f"{URL}/sif-2013", headers=reader)

    assert response.status_code == 200
    body = response.json()
    data = yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))
    for field in ("key", "name", "source", "usual_call_weekday", "on_site_start"):
        assert body[field] == data[field]
    phase_fields = ("key", "label", "week", "weekdays", "on_site")
    assert [{f: p[f] for f in phase_fields} for p in body["phases"]] == [
        {f: p[f] for f in phase_fields} for p in data["phases"]
    ]
    assert body["usual_call_weekday"] == "tuesday"
    assert body["normal_on_site_days"] == 11
    assert [(p["key"], p["week"], p["on_site"]) for p in body["phases"]] == [
        ("week1", 1, True),
        ("week2", 2, False),
        ("week3", 3, True),
        ("week4", 4, True),
    ]
    assert [(d["key"], d["working_days"]) for d in body["deadlines"]] == [
        ("publication", 30),
        ("action_statement", 70),
    ]


def test_each_listed_framework_reads_back_the_same_by_key(
    client: TestClient, reader: dict[str, str]
) -> None:
    items = client.get(URL, headers=reader).json()["items"]

    for item in items:
        assert client.get(f"{URL}/{item['key']}", headers=reader).json() == item


def test_an_unknown_framework_is_404_naming_the_known_ones(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get(f"{URL}/sif-2009", headers=reader)

    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "sif-2009" in detail
    for key in SHIPPED:
        assert key in detail


@pytest.mark.parametrize("path", [URL, f"{URL}/sif-2013"])
def test_frameworks_need_a_key(client: TestClient, admin: dict[str, str], path: str) -> None:
    no_key = client.get(path)
    unknown = client.get(path, headers={"Authorization": "Bearer iw_nobody"})

    assert (no_key.status_code, unknown.status_code) == (401, 401)
    assert client.get(path, headers=admin).status_code == 200


@pytest.fixture
def council_client(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[TestClient]:
    """The app started with FRAMEWORKS_DIR holding the council's copy of sif-2013 under its own
    key, with a 25-working-day publication deadline."""
    data = yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))
    data["key"] = "council-2026"
    data["name"] = "Council's own framework"
    data["deadlines"][0]["working_days"] = 25
    (tmp_path / "council-2026.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = make_settings(database_url=database_url, frameworks_dir=tmp_path)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


def test_a_council_framework_file_is_listed_and_announced_under(
    council_client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("inspections:write")

    keys = [item["key"] for item in council_client.get(URL, headers=headers).json()["items"]]
    announced = council_client.post(
        "/api/v1/inspections", json=announce_body(framework="council-2026"), headers=headers
    )

    assert keys == ["council-2026", *SHIPPED]
    assert announced.status_code == 201, announced.text
    publication = next(d for d in announced.json()["deadlines"] if d["key"] == "publication")
    assert (publication["working_days"], publication["due"]) == (25, "2025-08-06")
