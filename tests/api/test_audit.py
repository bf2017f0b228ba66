"""The 18-case audit through HTTP, on both databases: entering cases (all or nothing, every
problem by position), moving them on, deleting a mistyped one, the summary with the plan's due
times as the clock and the timetable move, and the CSV export read back with the csv module."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.main import create_app
from tests.api.payloads import announce_body
from tests.builders import london, make_contact
from tests.conftest import make_settings
from tests.plan.audit_plans import AUDIT_PLAN, write_plan

URL = "/api/v1/inspections"
WEEK2_MONDAY = london(2025, 6, 16, 9)
"""Week 2 of payloads.TUESDAY_CALL's inspection: the audit week."""
CASE_KEYS = {
    "id", "reference", "status", "first_tier_grade", "grade", "moderation", "findings",
    "strengths", "areas_for_improvement", "good_practice", "auditor_contact_id", "auditor_name",
    "reauditor_contact_id", "reauditor_name", "audited_at", "re_audited_at", "reported_at",
    "created_at", "updated_at",
}  # fmt: skip


@pytest.fixture
def planner(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:write")


@pytest.fixture
def viewer(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("plan:read")


@pytest.fixture
def people(session: Session) -> None:
    make_contact(session, "dcs-01", "Harriet Oyelaran")
    make_contact(session, "tm-01", "Tomasz Wójcik", reports_to="dcs-01")
    make_contact(session, "tm-02", "Aisha Bello", reports_to="dcs-01")
    make_contact(session, "hos-01", "Siân Llewelyn", reports_to="dcs-01")
    make_contact(session, "gone-01", "Declan Fairweather", active=False)
    session.commit()


def announce(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post(URL, json=announce_body(), headers=writer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def inspection_id(client: TestClient, writer: dict[str, str], people: None) -> str:
    return announce(client, writer)


@pytest.fixture
def planned_client(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """A service whose sif-2013 plan times the audit (tests/plan/audit_plans.py)."""
    settings = make_settings(
        database_url=database_url, plans_dir=write_plan(tmp_path / "plans", AUDIT_PLAN)
    )
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


def cases_url(inspection_id: str, case_id: str | None = None) -> str:
    base = f"{URL}/{inspection_id}/audit/cases"
    return f"{base}/{case_id}" if case_id else base


def enter(
    client: TestClient, headers: dict[str, str], inspection_id: str, *cases: str | dict[str, Any]
) -> list[dict[str, Any]]:
    body = {"cases": [{"reference": c} if isinstance(c, str) else c for c in cases]}
    response = client.post(cases_url(inspection_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["cases"]


def patch(
    client: TestClient, headers: dict[str, str], inspection_id: str, case_id: str, **changes: Any
) -> dict[str, Any]:
    response = client.patch(cases_url(inspection_id, case_id), json=changes, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def summary(client: TestClient, headers: dict[str, str], inspection_id: str) -> dict[str, Any]:
    response = client.get(f"{URL}/{inspection_id}/audit", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def timeline(client: TestClient, writer: dict[str, str], inspection_id: str, kind: str) -> list:
    response = client.get(f"{URL}/{inspection_id}/timeline", headers=writer)
    assert response.status_code == 200, response.text
    return [entry for entry in response.json()["items"] if entry["kind"] == kind]


def locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.content.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


# --- scopes --------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_reading_needs_plan_read_and_writing_plan_write(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    viewer: dict[str, str],
    planner: dict[str, str],
    inspection_id: str,
) -> None:
    body = {"cases": [{"reference": "CIN-004512"}]}
    audit_url, csv_url = f"{URL}/{inspection_id}/audit", f"{URL}/{inspection_id}/audit.csv"
    inspections_only = auth("inspections:write")

    assert client.get(audit_url).status_code == 401
    assert client.post(cases_url(inspection_id), json=body).status_code == 401
    assert client.get(audit_url, headers=inspections_only).status_code == 403
    assert client.get(csv_url, headers=inspections_only).status_code == 403
    assert client.post(cases_url(inspection_id), json=body, headers=viewer).status_code == 403
    assert client.get(audit_url, headers=viewer).status_code == 200
    assert client.get(csv_url, headers=viewer).status_code == 200
    assert client.post(cases_url(inspection_id), json=body, headers=planner).status_code == 201
    [case] = summary(client, viewer, inspection_id)["cases"]
    case_url = cases_url(inspection_id, case["id"])
    assert client.patch(case_url, json={"grade": "good"}, headers=viewer).status_code == 403
    assert client.delete(case_url, headers=viewer).status_code == 403
    assert client.delete(case_url, headers=auth("admin")).status_code == 204


# --- entering cases ------------------------------------------------------------------------


def test_entering_cases_answers_201_with_the_cases(
    client: TestClient,
    writer: dict[str, str],
    planner: dict[str, str],
    inspection_id: str,
) -> None:
    response = client.post(
        cases_url(inspection_id),
        json={
            "cases": [
                {
                    "reference": "cin-004512",
                    "auditor_contact_id": "tm-01",
                    "reauditor_contact_id": "hos-01",
                },
                {"reference": "LAC/2013/0042"},
            ]
        },  # fmt: skip
        headers=planner,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["remaining"] == 16
    first, second = body["cases"]
    assert set(first) == CASE_KEYS
    assert first["reference"] == "CIN-004512"
    assert (first["auditor_name"], first["reauditor_name"]) == ("Tomasz Wójcik", "Siân Llewelyn")
    assert first["status"] == "not_started"
    assert first["audited_at"] is None
    assert datetime.fromisoformat(first["created_at"]).utcoffset() is not None
    assert second["auditor_contact_id"] is None
    assert [c["reference"] for c in summary(client, planner, inspection_id)["cases"]] == [
        "CIN-004512",
        "LAC/2013/0042",
    ]
    [entry] = timeline(client, writer, inspection_id, "audit_cases_added")
    assert entry["summary"] == "2 cases added to the audit: CIN-004512, LAC/2013/0042"
    assert entry["actor"].startswith("api-key:")


@pytest.mark.sqlite_only
def test_every_bad_case_is_named_by_position_and_nothing_is_written(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    enter(client, planner, inspection_id, "CP00001")
    response = client.post(
        cases_url(inspection_id),
        json={
            "cases": [
                {"reference": "CIN-1", "auditor_contact_id": "tm-01"},
                {"reference": "Jayden Smith"},
                {"reference": "cp00001"},
                {"reference": "CIN-2", "auditor_contact_id": "gone-01"},
                {
                    "reference": "CIN-3",
                    "auditor_contact_id": "tm-02",
                    "reauditor_contact_id": "tm-02",
                },
                {"reference": "CIN-1"},
            ]
        },  # fmt: skip
        headers=planner,
    )

    assert locs(response) == [
        ["body", "cases", 1, "reference"],
        ["body", "cases", 2, "reference"],
        ["body", "cases", 3, "auditor_contact_id"],
        ["body", "cases", 4, "reauditor_contact_id"],
        ["body", "cases", 5, "reference"],
    ]
    messages = [error["msg"] for error in response.json()["detail"]]
    assert messages[0].startswith("looks like a person's name: enter the case number only")
    assert "Jayden" not in response.text
    assert [c["reference"] for c in summary(client, planner, inspection_id)["cases"]] == ["CP00001"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "cases"]),
        ({"cases": []}, ["body", "cases"]),
        ({"cases": [{"reference": "CIN-1"}, {}]}, ["body", "cases", 1, "reference"]),
        ({"cases": [{"reference": 4512}]}, ["body", "cases", 0, "reference"]),
        ({"cases": [{"reference": "CIN-1", "name": "Jayden Smith"}]}, ["body", "cases", 0, "name"]),
        ({"cases": [{"reference": "CIN\x001"}]}, ["body", "cases", 0, "reference"]),
        ({"cases": [{"reference": "CIN-1", "auditor_contact_id": "x" * 65}]},
         ["body", "cases", 0, "auditor_contact_id"]),
        ({"cases": [{"reference": "CIN-1"}] * 201}, ["body", "cases"]),
    ],
)  # fmt: skip
def test_malformed_bodies_are_422_naming_the_field(
    client: TestClient,
    planner: dict[str, str],
    inspection_id: str,
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    response = client.post(cases_url(inspection_id), json=body, headers=planner)
    assert loc in locs(response)
    assert summary(client, planner, inspection_id)["cases"] == []


@pytest.mark.sqlite_only
def test_more_cases_than_the_framework_names_is_422_saying_how_many_are_left(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    enter(client, planner, inspection_id, *[f"CIN-{n:04d}" for n in range(1, 6)])
    too_many = [{"reference": f"LAC-{n:04d}"} for n in range(1, 15)]

    response = client.post(cases_url(inspection_id), json={"cases": too_many}, headers=planner)

    assert locs(response) == [["body", "cases"]]
    assert response.json()["detail"][0]["msg"] == (
        "Single inspection framework (2013) audits 18 cases and 5 are already entered, "
        "so 13 more can be added, not 14"
    )
    assert summary(client, planner, inspection_id)["progress"]["total"] == 5
    added = client.post(cases_url(inspection_id), json={"cases": too_many[:13]}, headers=planner)
    assert added.json()["remaining"] == 0


def test_a_reference_entered_twice_is_refused(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    enter(client, planner, inspection_id, "CIN-004512")
    response = client.post(
        cases_url(inspection_id), json={"cases": [{"reference": " cin-004512 "}]}, headers=planner
    )
    assert locs(response) == [["body", "cases", 0, "reference"]]
    assert response.json()["detail"][0]["msg"] == (
        "CIN-004512 is already in this inspection's audit"
    )


# --- changing a case -----------------------------------------------------------------------


def test_a_case_moves_through_its_stages_with_times_and_timeline_entries(
    client: TestClient, writer: dict[str, str], planner: dict[str, str], inspection_id: str
) -> None:
    [case] = enter(client, planner, inspection_id, "CIN-004512")
    findings = "Plan is adult-focused; the child's voice is missing. Reviewed with the manager."

    with time_machine.travel(WEEK2_MONDAY, tick=False):
        patch(client, planner, inspection_id, case["id"], auditor_contact_id=" tm-01")
        audited = patch(
            client, planner, inspection_id, case["id"], status="audited", first_tier_grade="good"
        )
    with time_machine.travel(london(2025, 6, 18, 14), tick=False):
        re_audited = patch(
            client,
            planner,
            inspection_id,
            case["id"],
            status="re_audited",
            reauditor_contact_id="hos-01",
            grade="requires_improvement",
            findings=findings,
        )
    done = patch(client, planner, inspection_id, case["id"], status="findings_reported")

    assert audited["audited_at"] == "2025-06-16T08:00:00+00:00"
    assert re_audited["re_audited_at"] == "2025-06-18T13:00:00+00:00"
    assert re_audited["reauditor_name"] == "Siân Llewelyn"
    assert re_audited["moderation"] == {"outcome": "lowered", "steps": -1}
    assert done["status"] == "findings_reported"
    assert done["findings"] == findings
    assert done["reported_at"] is not None
    entries = timeline(client, writer, inspection_id, "audit_case_updated")
    assert [entry["summary"] for entry in entries] == [
        "Case CIN-004512: auditor Tomasz Wójcik",
        "Case CIN-004512: not_started → audited; first-tier grade good",
        "Case CIN-004512: audited → re_audited; re-auditor Siân Llewelyn; "
        f"grade requires_improvement; findings added ({len(findings)} characters)",
        "Case CIN-004512: re_audited → findings_reported",
    ]
    assert "child's voice" not in str(entries)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("change", "loc", "says"),
    [
        ({"status": "re_audited"}, ["body", "status"], "moves one step at a time"),
        ({"status": "finished"}, ["body", "status"], "Input should be"),
        ({"status": None}, ["body", "status"], "cannot be cleared"),
        ({"grade": "adequate"}, ["body", "grade"],
         "use one of: outstanding, good, requires_improvement, inadequate"),
        ({"findings": "x" * 2001}, ["body", "findings"], "at most 2000 characters, not 2001"),
        ({"status": "audited"}, ["body", "auditor_contact_id"], "needs its first-tier auditor"),
        ({"auditor_contact_id": "gone-01"}, ["body", "auditor_contact_id"], "is not active"),
        ({}, ["body"], "send at least one of"),
        ({"reference": "CIN-9"}, ["body", "reference"], "Extra inputs are not permitted"),
        ({"findings": "a\x00b"}, ["body", "findings"], "NUL"),
    ],
)  # fmt: skip
def test_bad_changes_are_422_naming_the_field_and_change_nothing(
    client: TestClient,
    planner: dict[str, str],
    inspection_id: str,
    change: dict[str, Any],
    loc: list[Any],
    says: str,
) -> None:
    [case] = enter(client, planner, inspection_id, "CIN-004512")

    response = client.patch(cases_url(inspection_id, case["id"]), json=change, headers=planner)

    assert locs(response) == [loc]
    assert says in response.json()["detail"][0]["msg"]
    assert summary(client, planner, inspection_id)["cases"] == [case]


@pytest.mark.sqlite_only
def test_re_audited_needs_a_re_auditor_and_a_grade(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    [case] = enter(
        client, planner, inspection_id, {"reference": "CIN-1", "auditor_contact_id": "tm-01"}
    )
    patch(client, planner, inspection_id, case["id"], status="audited")
    url = cases_url(inspection_id, case["id"])

    no_reauditor = client.patch(
        url,
        json={"status": "re_audited", "first_tier_grade": "good", "grade": "good"},
        headers=planner,
    )
    no_grade = client.patch(
        url, json={"status": "re_audited", "reauditor_contact_id": "hos-01"}, headers=planner
    )
    same_person = client.patch(
        url,
        json={
            "status": "re_audited",
            "first_tier_grade": "good",
            "grade": "good",
            "reauditor_contact_id": "tm-01",
        },
        headers=planner,
    )

    assert locs(no_reauditor) == [["body", "reauditor_contact_id"]]
    assert locs(no_grade) == [["body", "grade"]]
    assert locs(same_person) == [["body", "reauditor_contact_id"]]
    assert summary(client, planner, inspection_id)["cases"][0]["status"] == "audited"


def test_one_step_back_is_a_correction(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    [case] = enter(
        client, planner, inspection_id, {"reference": "CIN-1", "auditor_contact_id": "tm-01"}
    )
    patch(client, planner, inspection_id, case["id"], status="audited")
    back = patch(client, planner, inspection_id, case["id"], status="not_started")
    assert (back["status"], back["audited_at"]) == ("not_started", None)


# --- deleting, not found, closed -----------------------------------------------------------


def test_only_a_case_not_started_can_be_deleted(
    client: TestClient, writer: dict[str, str], planner: dict[str, str], inspection_id: str
) -> None:
    mistyped, started = enter(
        client,
        planner,
        inspection_id,
        "CIN-0001",
        {"reference": "CIN-0002", "auditor_contact_id": "tm-01"},
    )
    patch(client, planner, inspection_id, started["id"], status="audited")

    deleted = client.delete(cases_url(inspection_id, mistyped["id"]), headers=planner)
    refused = client.delete(cases_url(inspection_id, started["id"]), headers=planner)
    again = client.delete(cases_url(inspection_id, mistyped["id"]), headers=planner)

    assert deleted.status_code == 204 and deleted.content == b""
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("case CIN-0002 is audited")
    assert again.status_code == 404
    assert [c["reference"] for c in summary(client, planner, inspection_id)["cases"]] == [
        "CIN-0002"
    ]
    assert len(timeline(client, writer, inspection_id, "audit_case_deleted")) == 1


@pytest.mark.sqlite_only
def test_unknown_inspections_and_cases_are_404(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    nowhere = str(uuid.uuid4())
    body = {"cases": [{"reference": "CIN-1"}]}
    assert client.get(f"{URL}/{nowhere}/audit", headers=planner).status_code == 404
    assert client.get(f"{URL}/{nowhere}/audit.csv", headers=planner).status_code == 404
    assert client.post(cases_url(nowhere), json=body, headers=planner).status_code == 404
    unknown_case = cases_url(inspection_id, nowhere)
    assert client.patch(unknown_case, json={"grade": "good"}, headers=planner).status_code == 404
    assert client.delete(unknown_case, headers=planner).status_code == 404
    bad_id = client.patch(cases_url(inspection_id, "42"), json={"grade": "good"}, headers=planner)
    assert locs(bad_id) == [["path", "case_id"]]


def test_a_closed_inspections_audit_is_read_only(
    client: TestClient, writer: dict[str, str], planner: dict[str, str], inspection_id: str
) -> None:
    [case] = enter(client, planner, inspection_id, "CIN-004512")
    closed = client.post(
        f"{URL}/{inspection_id}/milestones",
        json={"key": "closed", "date": "2025-07-03"},
        headers=writer,
    )
    assert closed.status_code == 200, closed.text

    responses = [
        client.post(
            cases_url(inspection_id), json={"cases": [{"reference": "C1"}]}, headers=planner
        ),
        client.patch(cases_url(inspection_id, case["id"]), json={"grade": "good"}, headers=planner),
        client.delete(cases_url(inspection_id, case["id"]), headers=planner),
    ]

    assert [r.status_code for r in responses] == [409, 409, 409]
    assert all("is closed" in r.json()["detail"] for r in responses)
    assert summary(client, planner, inspection_id)["cases"] == [case]
    assert client.get(f"{URL}/{inspection_id}/audit.csv", headers=planner).status_code == 200


# --- the summary ---------------------------------------------------------------------------


def test_the_summary_counts_progress_and_grades(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    one, two, _ = enter(
        client,
        planner,
        inspection_id,
        {"reference": "CIN-1", "auditor_contact_id": "tm-01", "reauditor_contact_id": "hos-01"},
        {"reference": "CIN-2", "auditor_contact_id": "tm-02"},
        "CIN-3",
    )
    patch(client, planner, inspection_id, one["id"], status="audited", grade="good")
    patch(
        client,
        planner,
        inspection_id,
        one["id"],
        status="re_audited",
        first_tier_grade="good",
        grade="inadequate",
    )
    patch(client, planner, inspection_id, two["id"], status="audited", grade="inadequate")

    report = summary(client, planner, inspection_id)

    assert set(report) == {
        "expected", "cases", "progress", "by_grade", "moderation", "due", "overdue",
    }  # fmt: skip
    assert report["expected"] == 18
    assert report["progress"] == {
        "not_started": 1,
        "audited": 1,
        "re_audited": 1,
        "findings_reported": 0,
        "total": 3,
    }
    assert report["by_grade"] == {
        "outstanding": 0,
        "good": 0,
        "requires_improvement": 0,
        "inadequate": 2,
        "ungraded": 1,
    }


def test_due_times_follow_the_plan_and_the_timetable_and_show_what_is_overdue(
    planned_client: TestClient,
    writer: dict[str, str],
    planner: dict[str, str],
    admin: dict[str, str],
    people: None,
) -> None:
    client = planned_client
    with time_machine.travel(WEEK2_MONDAY, tick=False):
        inspection_id = announce(client, writer)
        cases = enter(client, planner, inspection_id, *[f"CIN-{n:04d}" for n in range(1, 19)])
        report = summary(client, planner, inspection_id)
    assert report["due"] == {
        "audited": "2025-06-18T16:00:00+00:00",  # Wednesday of week 2, 17:00 BST
        "re_audited": "2025-06-20T11:00:00+00:00",
        "findings_reported": "2025-06-20T16:00:00+00:00",
    }
    assert report["overdue"] == []

    with time_machine.travel(london(2025, 6, 18, 17, 1), tick=False):
        assert summary(client, planner, inspection_id)["overdue"] == ["audited"]
        closure = client.post(
            "/api/v1/closure-days",
            json={"date": "2025-06-17", "reason": "Council offices closed (flood)"},
            headers=admin,
        )
        assert closure.status_code == 201, closure.text
        moved = summary(client, planner, inspection_id)
    assert moved["due"]["audited"] == "2025-06-19T16:00:00+00:00"
    assert moved["overdue"] == []

    with time_machine.travel(london(2025, 6, 20, 12, 30), tick=False):
        for case in cases:
            patch(client, planner, inspection_id, case["id"], auditor_contact_id="tm-01",
                  status="audited")  # fmt: skip
        assert summary(client, planner, inspection_id)["overdue"] == ["re_audited"]


# --- the CSV export ------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_csv_export_reads_back_for_excel_without_formulas(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    first, _ = enter(
        client,
        planner,
        inspection_id,
        {
            "reference": "CIN-004512",
            "auditor_contact_id": "tm-01",
            "reauditor_contact_id": "hos-01",
        },
        "LAC/2013/0042",
    )
    findings = '=HYPERLINK("http://example.org","open")\nNext line: «quoted», Ŵ, 👍.'
    with time_machine.travel(london(2025, 6, 17, 9, 15), tick=False):
        patch(
            client, planner, inspection_id, first["id"], status="audited", first_tier_grade="good"
        )
    with time_machine.travel(london(2025, 6, 18, 16, 45), tick=False):
        patch(
            client,
            planner,
            inspection_id,
            first["id"],
            status="re_audited",
            grade="outstanding",
            findings=findings,
            strengths="Direct work with the child is recorded every visit.",
        )
        response = client.get(f"{URL}/{inspection_id}/audit.csv", headers=planner)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit-2025-06-18.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == [
        "reference", "status", "first_tier_grade", "grade", "moderation", "findings",
        "strengths", "areas_for_improvement", "good_practice", "auditor", "re-auditor",
        "audited_at", "re_audited_at", "reported_at",
    ]  # fmt: skip
    assert rows == [
        {
            "reference": "CIN-004512",
            "status": "re_audited",
            "first_tier_grade": "good",
            "grade": "outstanding",
            "moderation": "raised 1 grade",
            "findings": "'" + findings,
            "strengths": "Direct work with the child is recorded every visit.",
            "areas_for_improvement": "",
            "good_practice": "",
            "auditor": "Tomasz Wójcik",
            "re-auditor": "Siân Llewelyn",
            "audited_at": "2025-06-17 09:15",
            "re_audited_at": "2025-06-18 16:45",
            "reported_at": "",
        },
        {
            "reference": "LAC/2013/0042",
            "status": "not_started",
            "first_tier_grade": "",
            "grade": "",
            "moderation": "",
            "findings": "",
            "strengths": "",
            "areas_for_improvement": "",
            "good_practice": "",
            "auditor": "",
            "re-auditor": "",
            "audited_at": "",
            "re_audited_at": "",
            "reported_at": "",
        },
    ]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_no_findings_cell_can_start_a_formula(
    client: TestClient, planner: dict[str, str], inspection_id: str, start: str
) -> None:
    [case] = enter(client, planner, inspection_id, "CIN-1")
    patch(client, planner, inspection_id, case["id"], findings=f"{start}cmd|' /C calc'!A0")

    [row] = read_csv(client.get(f"{URL}/{inspection_id}/audit.csv", headers=planner))

    assert row["findings"] == f"'{start}cmd|' /C calc'!A0"
    assert summary(client, planner, inspection_id)["cases"][0]["findings"].startswith(start)


def test_times_in_the_api_are_utc_with_an_offset(
    client: TestClient, planner: dict[str, str], inspection_id: str
) -> None:
    [case] = enter(
        client, planner, inspection_id, {"reference": "C1", "auditor_contact_id": "tm-01"}
    )
    with time_machine.travel(datetime(2025, 6, 17, 8, 0, tzinfo=UTC), tick=False):
        audited = patch(client, planner, inspection_id, case["id"], status="audited")
    assert audited["audited_at"] == "2025-06-17T08:00:00+00:00"
