"""Working-day arithmetic and the council's closure days over HTTP: the reply shapes, England's
bank holidays, closure days moving open inspections' deadlines, and who may change them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.payloads import announce_body

pytestmark = pytest.mark.sqlite_only

V1 = "/api/v1"
CLOSURES = f"{V1}/closure-days"


def get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{V1}/working-days/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- add, between, check -------------------------------------------------------------------


def test_add_answers_from_days_and_date(client: TestClient, reader: dict[str, str]) -> None:
    body = get(client, reader, "add", **{"from": "2025-07-02", "days": 30})

    assert body == {"from": "2025-07-02", "days": 30, "date": "2025-08-13"}


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2025-08-22", 1, "2025-08-26"),  # Friday; Monday 25 August is the summer bank holiday
        ("2025-06-14", 1, "2025-06-16"),  # Saturday: the start itself never counts
        ("2025-12-24", 1, "2025-12-29"),  # Christmas Day and Boxing Day
        ("2025-08-26", -1, "2025-08-22"),  # backwards over the bank holiday
        ("2025-06-14", 0, "2025-06-14"),  # zero days: the start, even on a Saturday
    ],
)
def test_add_skips_weekends_and_bank_holidays(
    client: TestClient, reader: dict[str, str], start: str, days: int, expected: str
) -> None:
    assert get(client, reader, "add", **{"from": start, "days": days})["date"] == expected


def test_between_answers_from_to_and_the_signed_count(
    client: TestClient, reader: dict[str, str]
) -> None:
    forward = get(client, reader, "between", **{"from": "2025-07-02", "to": "2025-08-13"})
    backward = get(client, reader, "between", **{"from": "2025-08-13", "to": "2025-07-02"})

    assert forward == {"from": "2025-07-02", "to": "2025-08-13", "working_days": 30}
    assert backward["working_days"] == -30


def test_between_undoes_add(client: TestClient, reader: dict[str, str]) -> None:
    landed = get(client, reader, "add", **{"from": "2025-12-19", "days": 45})["date"]

    count = get(client, reader, "between", **{"from": "2025-12-19", "to": landed})

    assert count["working_days"] == 45


@pytest.mark.parametrize(
    ("day", "working", "reason"),
    [
        ("2025-06-10", True, None),
        ("2025-06-14", False, "Saturday"),
        ("2025-08-25", False, "Summer Bank Holiday"),
    ],
)
def test_check_says_whether_and_why_not(
    client: TestClient, reader: dict[str, str], day: str, working: bool, reason: str | None
) -> None:
    body = get(client, reader, "check", date=day)

    assert set(body) == {"date", "working_day", "reason"}
    assert (body["date"], body["working_day"]) == (day, working)
    if reason is None:
        assert body["reason"] is None
    else:
        assert reason in body["reason"]  # the holiday's name as the holidays package spells it


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("add", {"from": "2025-07-02", "days": 1}),
        ("between", {"from": "2025-07-02", "to": "2025-07-03"}),
        ("check", {"date": "2025-07-02"}),
    ],
)
def test_working_day_routes_need_a_key(
    client: TestClient, admin: dict[str, str], path: str, params: dict[str, Any]
) -> None:
    """Any inspections key may ask (read is the least scope); none at all is 401."""
    assert client.get(f"{V1}/working-days/{path}", params=params).status_code == 401
    assert client.get(f"{V1}/working-days/{path}", params=params, headers=admin).status_code == 200


def test_the_largest_count_is_answered(client: TestClient, reader: dict[str, str]) -> None:
    body = get(client, reader, "add", **{"from": "2025-01-01", "days": 5000})

    assert body["date"] > "2044-01-01"


# --- closure days --------------------------------------------------------------------------


def test_an_admin_adds_lists_and_removes_a_closure_day(
    client: TestClient, make_key: Callable[..., str], reader: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {make_key('admin', name='hr-admin')}"}
    body = {"date": "2025-12-29", "reason": "Council closure between Christmas and New Year"}

    added = client.post(CLOSURES, json=body, headers=admin)

    assert added.status_code == 201, added.text
    assert added.json() == {**body, "created_by": "api-key:hr-admin"}
    listed = client.get(CLOSURES, headers=reader)
    assert listed.status_code == 200
    assert listed.json() == {"items": [added.json()], "next_cursor": None}
    assert get(client, reader, "check", date="2025-12-29") == {
        "date": "2025-12-29",
        "working_day": False,
        "reason": body["reason"],
    }
    assert get(client, reader, "add", **{"from": "2025-12-24", "days": 1})["date"] == "2025-12-30"

    removed = client.delete(f"{CLOSURES}/2025-12-29", headers=admin)

    assert removed.status_code == 204
    assert removed.content == b""
    assert client.get(CLOSURES, headers=reader).json() == {"items": [], "next_cursor": None}
    assert get(client, reader, "check", date="2025-12-29")["working_day"] is True


def test_closure_days_are_listed_in_date_order(client: TestClient, admin: dict[str, str]) -> None:
    for day in ("2025-12-31", "2025-12-29", "2025-12-30"):
        client.post(CLOSURES, json={"date": day, "reason": "Council closure"}, headers=admin)

    items = client.get(CLOSURES, headers=admin).json()["items"]

    assert [item["date"] for item in items] == ["2025-12-29", "2025-12-30", "2025-12-31"]


def test_the_same_closure_day_twice_is_409(client: TestClient, admin: dict[str, str]) -> None:
    body = {"date": "2025-12-29", "reason": "Council closure"}
    client.post(CLOSURES, json=body, headers=admin)

    again = client.post(CLOSURES, json=body, headers=admin)

    assert again.status_code == 409


def test_removing_a_day_that_is_not_a_closure_day_is_404(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert client.delete(f"{CLOSURES}/2025-12-29", headers=admin).status_code == 404


def test_a_reason_is_stripped_of_surrounding_white_space(
    client: TestClient, admin: dict[str, str]
) -> None:
    added = client.post(
        CLOSURES, json={"date": "2025-12-29", "reason": "  Staff training day  "}, headers=admin
    )

    assert added.json()["reason"] == "Staff training day"


def test_a_closure_day_moves_an_open_inspections_deadlines_and_says_so(
    client: TestClient, writer: dict[str, str], make_key: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {make_key('admin', name='hr-admin')}"}
    inspection = client.post(f"{V1}/inspections", json=announce_body(), headers=writer).json()
    publication = next(d for d in inspection["deadlines"] if d["key"] == "publication")
    assert publication["due"] == "2025-08-13"

    client.post(CLOSURES, json={"date": "2025-08-01", "reason": "Staff day"}, headers=admin)

    moved = client.get(f"{V1}/inspections/{inspection['id']}", headers=writer).json()
    assert next(d for d in moved["deadlines"] if d["key"] == "publication")["due"] == "2025-08-14"
    timeline = client.get(f"{V1}/inspections/{inspection['id']}/timeline", headers=writer).json()
    last = timeline["items"][-1]
    assert (last["kind"], last["actor"]) == ("deadlines_recomputed", "api-key:hr-admin")
    assert last["data"]["deadlines"]["publication"] == {"from": "2025-08-13", "to": "2025-08-14"}

    client.delete(f"{CLOSURES}/2025-08-01", headers=admin)

    back = client.get(f"{V1}/inspections/{inspection['id']}", headers=writer).json()
    assert next(d for d in back["deadlines"] if d["key"] == "publication")["due"] == "2025-08-13"


@pytest.mark.parametrize("scope", ["inspections:read", "inspections:write"])
def test_only_admin_changes_closure_days(
    client: TestClient, auth: Callable[..., dict[str, str]], admin: dict[str, str], scope: str
) -> None:
    headers = auth(scope)
    body = {"date": "2025-12-29", "reason": "Council closure"}

    added = client.post(CLOSURES, json=body, headers=headers)
    client.post(CLOSURES, json=body, headers=admin)
    removed = client.delete(f"{CLOSURES}/2025-12-29", headers=headers)

    assert (added.status_code, removed.status_code) == (403, 403)
    assert "admin" in added.json()["detail"]
    assert client.get(CLOSURES, headers=headers).status_code == 200
    assert len(client.get(CLOSURES, headers=headers).json()["items"]) == 1


def test_closure_day_routes_are_401_without_a_key(client: TestClient) -> None:
    body = {"date": "2025-12-29", "reason": "Council closure"}

    assert client.get(CLOSURES).status_code == 401
    assert client.post(CLOSURES, json=body).status_code == 401
    assert client.delete(f"{CLOSURES}/2025-12-29").status_code == 401
