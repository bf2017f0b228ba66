"""Judgements through HTTP on both databases: recorded whole, the overall rule applied, on the
timeline once per change, and every kind of bad input refused with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.payloads import announce_body

SIF_REPORT = {
    "help_and_protection": "inadequate",
    "looked_after": "requires_improvement",
    "adoption": "good",
    "care_leavers": "requires_improvement",
    "leadership": "requires_improvement",
}


@pytest.fixture
def inspection(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post("/api/v1/inspections", json=announce_body(), headers=writer)
    assert response.status_code == 201, response.text
    return f"/api/v1/inspections/{response.json()['id']}"


def put(client: TestClient, url: str, headers: dict[str, str], grades: dict[str, str]) -> Any:
    return client.put(f"{url}/judgements", json={"judgements": grades}, headers=headers)


def timeline_kinds(client: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    response = client.get(f"{url}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return [entry["kind"] for entry in response.json()["items"]]


def test_nothing_recorded_lists_every_judgement_ungraded(
    client: TestClient, inspection: str, reader: dict[str, str]
) -> None:
    response = client.get(f"{inspection}/judgements", headers=reader)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(item["key"], item["grade"], item["key_judgement"]) for item in body["judgements"]] == [
        ("help_and_protection", None, True),
        ("looked_after", None, True),
        ("adoption", None, False),
        ("care_leavers", None, False),
        ("leadership", None, True),
        ("lscb", None, False),
    ]
    assert body["overall"]["grade"] is None
    assert body["scale"] == ["outstanding", "good", "requires_improvement", "inadequate"]
    assert body["recorded_at"] is None


def test_an_inadequate_key_judgement_makes_the_overall_inadequate_and_is_on_the_timeline(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    response = put(client, inspection, writer, SIF_REPORT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["overall"] == {
        "label": "Overall effectiveness",
        "grade": "inadequate",
        "reason": "Inadequate in any key judgement makes the overall judgement inadequate.",
    }
    graded = {item["key"]: item["grade"] for item in body["judgements"]}
    assert graded == SIF_REPORT | {"lscb": None}
    assert body["recorded_by"].startswith("api-key:")
    assert client.get(f"{inspection}/judgements", headers=reader).json() == body
    assert timeline_kinds(client, inspection, reader).count("judgements_recorded") == 1

    again = put(client, inspection, writer, SIF_REPORT)
    assert again.status_code == 200
    assert again.json() == body
    assert timeline_kinds(client, inspection, reader).count("judgements_recorded") == 1


def test_a_correction_replaces_the_whole_set(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    assert put(client, inspection, writer, SIF_REPORT).status_code == 200
    corrected = {
        "help_and_protection": "requires_improvement",
        "looked_after": "good",
        "leadership": "good",
        "overall": "requires_improvement",
    }
    body = put(client, inspection, writer, corrected).json()
    assert body["overall"]["grade"] == "requires_improvement"
    assert body["overall"]["reason"] == "As the report gives it."
    graded = {item["key"]: item["grade"] for item in body["judgements"] if item["grade"]}
    assert graded == {k: v for k, v in corrected.items() if k != "overall"}
    timeline = client.get(f"{inspection}/timeline", headers=reader).json()["items"]
    last = [entry for entry in timeline if entry["kind"] == "judgements_recorded"][-1]
    assert last["summary"] == "Judgements recorded: overall effectiveness requires improvement"
    assert last["data"]["before"] == SIF_REPORT


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        ({"safeguarding": "good"}, "the known ones are: help_and_protection, looked_after"),
        ({"leadership": "adequate"}, "the grades are: outstanding, good, requires_improvement"),
        (SIF_REPORT | {"overall": "good"}, "overall: must be inadequate, not good"),
    ],
)
def test_bad_judgements_are_422_naming_the_known_ones_and_change_nothing(
    client: TestClient,
    inspection: str,
    writer: dict[str, str],
    reader: dict[str, str],
    grades: dict[str, str],
    message: str,
) -> None:
    first = {"leadership": "good"}
    before = put(client, inspection, writer, first).json()
    response = put(client, inspection, writer, grades)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "judgements"]
    assert message in problem["msg"]
    assert client.get(f"{inspection}/judgements", headers=reader).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"judgements": []},
        {"judgements": {"leadership": 3}},
        {"judgements": {"x" * 65: "good"}},
        {"judgements": {f"k{n}": "good" for n in range(41)}},
        {"judgements": {"leadership": "good"}, "extra": 1},
    ],
)
def test_malformed_bodies_are_422(
    client: TestClient, inspection: str, writer: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.put(f"{inspection}/judgements", json=body, headers=writer)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_unknown_inspection_is_404_and_a_closed_one_409(
    client: TestClient, inspection: str, writer: dict[str, str], reader: dict[str, str]
) -> None:
    missing = "/api/v1/inspections/7d0f6f61-2d43-4d39-9d47-7d5b7a1f0c11"
    assert put(client, missing, writer, {"leadership": "good"}).status_code == 404
    assert client.get(f"{missing}/judgements", headers=reader).status_code == 404
    closed = client.post(
        f"{inspection}/milestones", json={"key": "closed", "date": "2025-08-01"}, headers=writer
    )
    assert closed.status_code == 200, closed.text
    refused = put(client, inspection, writer, {"leadership": "good"})
    assert refused.status_code == 409
    assert "closed" in refused.json()["detail"]


def test_scopes(
    client: TestClient, inspection: str, reader: dict[str, str], writer: dict[str, str]
) -> None:
    assert put(client, inspection, reader, {"leadership": "good"}).status_code == 403
    assert client.get(f"{inspection}/judgements").status_code == 401
    assert client.get(f"{inspection}/judgements", headers=writer).status_code == 200
