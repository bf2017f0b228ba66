"""Committees, their meetings and each meeting's report through HTTP on both databases: what is
new, completed and overdue since the same committee's last meeting, the completions day by day,
the CSV, and bad input refused with nothing written."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.config import Settings
from service.scrutiny.models import Committee, CommitteeMeeting
from tests.builders import london
from tests.conftest import make_settings
from tests.plan.small_plan import announce_over_api, write_plan


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    write_plan(tmp_path / "plans")
    return make_settings(database_url=database_url, plans_dir=tmp_path / "plans")


@pytest.fixture
def planner(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:write", "inspections:write")


@pytest.fixture
def reader(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:read")


@pytest.fixture
def inspection(client: TestClient, session: Session, planner: dict[str, str]) -> str:
    return announce_over_api(client, session, planner)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def at(moment: datetime) -> Any:
    return time_machine.travel(moment, tick=False)


def action(
    client: TestClient, url: str, headers: dict[str, str], rec: int, title: str, due: str
) -> int:
    body = {
        "title": title,
        "agency": "childrens-services",
        "owner_contact_id": "twojcik",
        "due_on": due,
    }
    return ok(client.post(f"{url}/recommendations/{rec}/actions", json=body, headers=headers), 201)[
        "id"
    ]


def finish(client: TestClient, url: str, headers: dict[str, str], action_id: int) -> None:
    ok(client.patch(f"{url}/actions/{action_id}", json={"done": True}, headers=headers))


@pytest.fixture
def history(client: TestClient, inspection: str, planner: dict[str, str]) -> dict[str, int]:
    """Three actions in July, one done; a fourth in August, and one more done then."""
    ids: dict[str, int] = {}
    with at(london(2025, 7, 1, 10)):
        plan = ok(
            client.post(
                f"{inspection}/action-plans", json={"title": "Help and protection"}, headers=planner
            ),
            201,
        )
        rec = ok(
            client.post(
                f"{inspection}/action-plans/{plan['id']}/recommendations",
                json={"text": "Review every child-in-need plan within timescales."},
                headers=planner,
            ),
            201,
        )["id"]
        ids["audit"] = action(
            client, inspection, planner, rec, "Audit 20 plans a month", "2025-08-01"
        )
        ids["train"] = action(client, inspection, planner, rec, "Train team managers", "2025-09-30")
        ids["chair"] = action(client, inspection, planner, rec, "Appoint a chair", "2025-07-15")
    with at(london(2025, 7, 20, 11)):
        finish(client, inspection, planner, ids["audit"])
    with at(london(2025, 8, 10, 9)):
        ids["panel"] = action(
            client, inspection, planner, rec, "Start the practice panel", "2025-08-20"
        )
    with at(london(2025, 8, 12, 16)):
        finish(client, inspection, planner, ids["chair"])
    scrutiny = ok(
        client.post(
            "/api/v1/committees", json={"name": "Children's Services Scrutiny"}, headers=planner
        ),
        201,
    )
    cabinet = ok(
        client.post(
            "/api/v1/committees", json={"name": "Cabinet", "kind": "cabinet"}, headers=planner
        ),
        201,
    )
    assert (scrutiny["kind"], cabinet["kind"]) == ("scrutiny", "cabinet")
    meetings = f"{inspection}/committee-meetings"
    for key, committee, day in (
        ("july", scrutiny, "2025-07-22"),
        ("september", scrutiny, "2025-09-01"),
        ("cabinet", cabinet, "2025-08-05"),
    ):
        ids[key] = ok(
            client.post(
                meetings, json={"committee_id": committee["id"], "meets_on": day}, headers=planner
            ),
            201,
        )["id"]
    return ids


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


def test_each_meeting_reports_progress_since_the_same_committees_last_one(
    client: TestClient, inspection: str, reader: dict[str, str], history: dict[str, int]
) -> None:
    url = f"{inspection}/committee-meetings"
    listed = ok(client.get(url, headers=reader))
    assert [m["meets_on"] for m in listed["items"]] == ["2025-07-22", "2025-08-05", "2025-09-01"]
    assert listed["next_cursor"] is None

    july = ok(client.get(f"{url}/{history['july']}/report", headers=reader))
    assert july["since"] is None and july["actions"] == 3
    assert titles(july["new"]) == [
        "Audit 20 plans a month",
        "Train team managers",
        "Appoint a chair",
    ]
    assert titles(july["completed"]) == ["Audit 20 plans a month"]
    assert titles(july["overdue"]) == ["Appoint a chair"]

    september = ok(client.get(f"{url}/{history['september']}/report", headers=reader))
    assert september["since"] == "2025-07-22" and september["actions"] == 4
    assert titles(september["new"]) == ["Start the practice panel"]
    assert titles(september["completed"]) == ["Appoint a chair"]
    assert september["completed"][0]["done_on"] == "2025-08-12"
    assert titles(september["overdue"]) == ["Start the practice panel"]
    assert september["rag"] == {"red": 0, "amber": 0, "green": 4}
    points = {p["on"]: (p["actions"], p["completed"]) for p in september["over_time"]}
    assert len(points) == 63  # 1 July to 1 September, day by day
    assert points["2025-07-01"] == (3, 0)
    assert points["2025-07-19"] == (3, 0) and points["2025-07-20"] == (3, 1)
    assert points["2025-08-10"] == (4, 1) and points["2025-08-12"] == (4, 2)
    assert points["2025-09-01"] == (4, 2)

    # Cabinet's first meeting counts from the start, whatever scrutiny heard before.
    cabinet = ok(client.get(f"{url}/{history['cabinet']}/report", headers=reader))
    assert cabinet["since"] is None and cabinet["meeting"]["committee"] == "Cabinet"
    assert titles(cabinet["completed"]) == ["Audit 20 plans a month"]
    assert titles(cabinet["new"]) == [
        "Audit 20 plans a month",
        "Train team managers",
        "Appoint a chair",
    ]


def test_the_report_as_csv_reads_back_for_excel(
    client: TestClient, inspection: str, reader: dict[str, str], history: dict[str, int]
) -> None:
    reply = client.get(
        f"{inspection}/committee-meetings/{history['september']}/report.csv", headers=reader
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="action-plan-progress-2025-09-01.csv"' in reply.headers["content-disposition"]
    assert reply.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [(r["section"], r["action"], r["done_on"]) for r in rows] == [
        ("new", "Start the practice panel", ""),
        ("completed", "Appoint a chair", "2025-08-12"),
        ("overdue", "Start the practice panel", ""),
    ]
    assert rows[0]["owner"] == "Tomasz Wójcik" and rows[0]["agency"] == "Children's services"


def test_bad_committees_and_meetings_are_refused_with_nothing_written(
    client: TestClient,
    session: Session,
    inspection: str,
    planner: dict[str, str],
    reader: dict[str, str],
) -> None:
    committee = ok(
        client.post(
            "/api/v1/committees", json={"name": "Cabinet", "kind": "cabinet"}, headers=planner
        ),
        201,
    )
    again = client.post("/api/v1/committees", json={"name": "  cabinet "}, headers=planner)
    assert again.status_code == 409 and "already a committee" in again.text
    # Beyond ASCII, which SQLite's lower() does not fold: the same name is still the same.
    ok(client.post("/api/v1/committees", json={"name": "Ökonomie Ü"}, headers=planner), 201)
    again = client.post("/api/v1/committees", json={"name": "Ökonomie Ü"}, headers=planner)
    assert again.status_code == 409, again.text
    for body, field in (
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Board", "kind": "council"}, "kind"),
    ):
        reply = client.post("/api/v1/committees", json=body, headers=planner)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"][0]["loc"][-1] == field
    meetings = f"{inspection}/committee-meetings"
    for body, field in (
        ({"committee_id": 999, "meets_on": "2025-07-22"}, "committee_id"),
        ({"committee_id": committee["id"], "meets_on": "2024-01-01"}, "meets_on"),
        ({"committee_id": committee["id"], "meets_on": "2031-01-01"}, "meets_on"),
        ({"committee_id": committee["id"], "meets_on": "22/07/2025"}, "meets_on"),
    ):
        reply = client.post(meetings, json=body, headers=planner)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"][0]["loc"][-1] == field
    first = {"committee_id": committee["id"], "meets_on": "2025-07-22"}
    ok(client.post(meetings, json=first, headers=planner), 201)
    assert client.post(meetings, json=first, headers=planner).status_code == 409
    assert client.post(meetings, json=first, headers=reader).status_code == 403
    assert client.get(f"{meetings}/987654/report", headers=reader).status_code == 404
    assert client.get(f"{meetings}/0/report", headers=reader).status_code == 422
    session.expire_all()
    assert len(session.exec(select(Committee)).all()) == 2
    assert len(session.exec(select(CommitteeMeeting)).all()) == 1
