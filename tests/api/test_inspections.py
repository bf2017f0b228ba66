"""The inspections API as the councils' intranets call it: names, status codes, idempotency,
scopes, overrides, milestones and the timeline, end to end through HTTP on both databases."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service import timeline
from service.inspections.models import Inspection
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.api.payloads import TUESDAY_CALL, announce_body

URL = "/api/v1/inspections"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

INSPECTION_KEYS = {
    # the contract the intranets rely on
    "id", "framework", "status", "drill", "notified_at", "lead_inspector", "on_site_start",
    "inspection_end", "on_site_days", "warnings", "phases", "deadlines",
    # also returned
    "notes", "overrides", "milestones", "created_at",
}  # fmt: skip
PHASE_KEYS = {"key", "label", "on_site", "start", "end", "days"}
DEADLINE_KEYS = {"key", "label", "due", "working_days", "counted_from", "from_date", "met_on"}

# The Tuesday call of payloads.TUESDAY_CALL, worked out by hand from DESIGN.md's sif-2013 rules
# and England's 2025 bank holidays (25 August is the only one in range):
ON_SITE_START = "2025-06-11"  # Wednesday, the next working day
INSPECTION_END = "2025-07-02"  # Wednesday of week 4
PUBLICATION_DUE = "2025-08-13"  # 30th working day after 2 July
ACTION_STATEMENT_DUE = "2025-11-20"  # 70th working day after 13 August, skipping 25 August


def announce(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post(URL, json=announce_body(**changes), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def deadline(inspection: dict[str, Any], key: str) -> dict[str, Any]:
    return next(d for d in inspection["deadlines"] if d["key"] == key)


def working_day_after(client: TestClient, headers: dict[str, str], start: str, days: int) -> str:
    response = client.get(
        "/api/v1/working-days/add", params={"from": start, "days": days}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["date"]


def count(session: Session, model: type, *where: Any) -> int:
    """Rows in the database now; the read transaction ends at once (on SQLite every
    transaction holds the write lock)."""
    try:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()
    finally:
        session.rollback()


# --- announce: the shape -------------------------------------------------------------------


def test_announce_answers_201_with_exactly_the_contract_shape(
    client: TestClient, writer: dict[str, str]
) -> None:
    response = client.post(URL, json=announce_body(), headers=writer)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == INSPECTION_KEYS
    assert response.headers["location"] == f"{URL}/{body['id']}"
    uuid.UUID(body["id"])
    assert body["framework"] == "sif-2013"
    assert body["drill"] is False
    assert body["lead_inspector"] == "Harriet Oyelaran"
    assert datetime.fromisoformat(body["notified_at"]) == datetime.fromisoformat(TUESDAY_CALL)
    assert isinstance(body["on_site_days"], int)
    assert isinstance(body["warnings"], list)
    assert all(isinstance(w, str) for w in body["warnings"])
    for phase in body["phases"]:
        assert set(phase) == PHASE_KEYS
        assert ISO_DATE.match(phase["start"]) and ISO_DATE.match(phase["end"])
        assert all(ISO_DATE.match(day) for day in phase["days"])
    assert [d["key"] for d in body["deadlines"]] == ["publication", "action_statement"]
    for due in body["deadlines"]:
        assert set(due) == DEADLINE_KEYS
        assert ISO_DATE.match(due["due"]) and ISO_DATE.match(due["from_date"])
        assert isinstance(due["working_days"], int)
        assert due["met_on"] is None
    assert ISO_DATE.match(body["on_site_start"]) and ISO_DATE.match(body["inspection_end"])


def test_announce_computes_the_tuesday_call_timetable_and_deadlines(
    client: TestClient, writer: dict[str, str]
) -> None:
    body = announce(client, writer)

    assert body["on_site_start"] == ON_SITE_START
    assert body["inspection_end"] == INSPECTION_END
    assert body["on_site_days"] == 11
    assert body["warnings"] == []
    phases = {p["key"]: p for p in body["phases"]}
    assert [(k, p["on_site"], len(p["days"])) for k, p in phases.items()] == [
        ("week1", True, 3),
        ("week2", False, 5),
        ("week3", True, 5),
        ("week4", True, 3),
    ]
    assert (phases["week1"]["start"], phases["week1"]["end"]) == ("2025-06-11", "2025-06-13")
    assert (phases["week4"]["start"], phases["week4"]["end"]) == ("2025-06-30", INSPECTION_END)
    publication = deadline(body, "publication")
    assert publication["due"] == PUBLICATION_DUE
    assert (publication["working_days"], publication["counted_from"]) == (30, "inspection_end")
    assert publication["from_date"] == INSPECTION_END
    action = deadline(body, "action_statement")
    assert action["due"] == ACTION_STATEMENT_DUE
    assert (action["working_days"], action["counted_from"]) == (70, "publication_due")
    assert action["from_date"] == PUBLICATION_DUE


@pytest.mark.sqlite_only
def test_a_monday_call_carries_a_warning_in_the_reply(
    client: TestClient, writer: dict[str, str]
) -> None:
    body = announce(client, writer, notified_at="2025-06-09T10:00:00+01:00")

    assert any("Monday" in warning for warning in body["warnings"])


def test_read_returns_what_announce_returned(client: TestClient, writer: dict[str, str]) -> None:
    created = announce(client, writer)

    response = client.get(f"{URL}/{created['id']}", headers=writer)

    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.sqlite_only
def test_read_of_an_unknown_inspection_is_404(client: TestClient, reader: dict[str, str]) -> None:
    response = client.get(f"{URL}/{uuid.uuid4()}", headers=reader)

    assert response.status_code == 404
    assert "no inspection" in response.json()["detail"]


def test_status_follows_the_clock_through_the_inspection(
    client: TestClient, writer: dict[str, str]
) -> None:
    """The status is computed on each read from today's date in Europe/London."""
    with time_machine.travel(datetime(2025, 6, 10, 9, 30, tzinfo=UTC), tick=False):
        created = announce(client, writer)
        assert created["status"] == "announced"
    read = f"{URL}/{created['id']}"
    for moment, expected in [
        (datetime(2025, 6, 11, 8, 0, tzinfo=UTC), "in_progress"),
        (datetime(2025, 7, 2, 16, 0, tzinfo=UTC), "in_progress"),
        (datetime(2025, 7, 3, 8, 0, tzinfo=UTC), "awaiting_report"),
    ]:
        with time_machine.travel(moment, tick=False):
            assert client.get(read, headers=writer).json()["status"] == expected


# --- announce: refusals --------------------------------------------------------------------


def test_a_second_live_inspection_is_409_naming_the_live_one(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    live = announce(client, writer)

    response = client.post(
        URL, json=announce_body(notified_at="2025-06-17T09:00:00+01:00"), headers=writer
    )

    assert response.status_code == 409
    assert response.json()["live_inspection_id"] == live["id"]
    assert live["id"] in response.json()["detail"]
    assert count(session, Inspection) == 1


def test_drills_are_allowed_beside_a_live_inspection(
    client: TestClient, writer: dict[str, str]
) -> None:
    live = announce(client, writer)

    first = announce(client, writer, drill=True)
    second = announce(client, writer, drill=True)

    assert len({live["id"], first["id"], second["id"]}) == 3
    assert first["drill"] is True and second["drill"] is True


def test_closing_the_live_inspection_lets_the_next_one_be_announced(
    client: TestClient, writer: dict[str, str]
) -> None:
    live = announce(client, writer)
    closed = client.post(
        f"{URL}/{live['id']}/milestones",
        json={"key": "closed", "date": "2025-12-01"},
        headers=writer,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    response = client.post(
        URL, json=announce_body(notified_at="2026-01-13T09:00:00+00:00"), headers=writer
    )

    assert response.status_code == 201, response.text


@pytest.mark.sqlite_only
def test_a_lead_inspector_name_starting_a_formula_is_422_and_nothing_starts(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    response = client.post(
        URL, json=announce_body(lead_inspector='=HYPERLINK("http://example.org")'), headers=writer
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "lead_inspector"]
    assert "must not start with = + - or @" in problem["msg"]
    assert count(session, Inspection) == 0


@pytest.mark.sqlite_only
@time_machine.travel(datetime(2025, 6, 10, 9, 0, tzinfo=UTC), tick=False)
def test_notified_at_up_to_five_minutes_ahead_is_accepted_and_beyond_is_422(
    client: TestClient, writer: dict[str, str]
) -> None:
    """Clocks drift: a call logged a little ahead of the server's clock is still a call."""
    now = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
    at_limit = (now + timedelta(minutes=5)).isoformat()
    beyond = (now + timedelta(minutes=5, seconds=1)).isoformat()

    accepted = client.post(
        URL, json=announce_body(notified_at=at_limit, drill=True), headers=writer
    )
    refused = client.post(URL, json=announce_body(notified_at=beyond, drill=True), headers=writer)

    assert accepted.status_code == 201, accepted.text
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "notified_at"]
    assert "future" in refused.json()["detail"][0]["msg"]


@pytest.mark.sqlite_only
def test_unknown_framework_is_422_naming_the_known_ones(
    client: TestClient, writer: dict[str, str], rules: Rules
) -> None:
    response = client.post(URL, json=announce_body(framework="sif-2009"), headers=writer)

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "framework"]
    assert "sif-2009" in error["msg"]
    for framework in rules.frameworks.all():
        assert framework.key in error["msg"]


@pytest.mark.sqlite_only
def test_notified_at_without_an_offset_is_422(client: TestClient, writer: dict[str, str]) -> None:
    response = client.post(
        URL, json=announce_body(notified_at="2025-06-10T10:00:00"), headers=writer
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "notified_at"]


def test_framework_defaults_to_sif_2013_and_optional_fields_to_null(
    client: TestClient, writer: dict[str, str]
) -> None:
    response = client.post(URL, json={"notified_at": TUESDAY_CALL}, headers=writer)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["framework"], body["drill"], body["lead_inspector"], body["notes"]) == (
        "sif-2013",
        False,
        None,
        None,
    )


# --- idempotency ---------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_first_result_and_starts_nothing_twice(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    headers = {**writer, "Idempotency-Key": "call-2025-06-10-0940"}

    first = client.post(URL, json=announce_body(), headers=headers)
    again = client.post(URL, json=announce_body(), headers=headers)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count(session, Inspection) == 1
    assert count(session, TimelineEntry, TimelineEntry.kind == "announced") == 1


def test_replay_ignores_key_order_and_white_space(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    headers = {
        **writer,
        "Idempotency-Key": "retry-after-timeout",
        "Content-Type": "application/json",
    }
    body = announce_body()
    compact = json.dumps(body, separators=(",", ":"))
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    first = client.post(URL, content=compact, headers=headers)
    again = client.post(URL, content=reordered, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert count(session, Inspection) == 1


def test_same_idempotency_key_with_a_different_body_is_422_and_changes_nothing(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    headers = {**writer, "Idempotency-Key": "call-2025-06-10-0940"}
    first = client.post(URL, json=announce_body(), headers=headers)

    changed = client.post(URL, json=announce_body(lead_inspector="Tomasz Wójcik"), headers=headers)

    assert first.status_code == 201
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(session, Inspection) == 1
    read = client.get(f"{URL}/{first.json()['id']}", headers=writer).json()
    assert read["lead_inspector"] == "Harriet Oyelaran"


def test_the_same_idempotency_key_from_two_api_keys_is_two_requests(
    client: TestClient, auth: Callable[..., dict[str, str]], session: Session
) -> None:
    """Keys are scoped to the API key that sent them: two intranets may pick the same one."""
    north = {**auth("inspections:write"), "Idempotency-Key": "rehearsal-1"}
    south = {**auth("inspections:write"), "Idempotency-Key": "rehearsal-1"}

    from_north = client.post(URL, json=announce_body(drill=True), headers=north)
    from_south = client.post(URL, json=announce_body(drill=True, notes="South"), headers=south)

    assert (from_north.status_code, from_south.status_code) == (201, 201)
    assert from_north.json()["id"] != from_south.json()["id"]
    assert count(session, Inspection) == 2


def test_a_refused_announce_does_not_use_up_its_idempotency_key(
    client: TestClient, writer: dict[str, str]
) -> None:
    headers = {**writer, "Idempotency-Key": "first-try"}
    refused = client.post(URL, json=announce_body(framework="nope"), headers=headers)

    accepted = client.post(URL, json=announce_body(), headers=headers)

    assert (refused.status_code, accepted.status_code) == (422, 201)


def test_a_second_live_inspection_with_a_new_idempotency_key_is_still_409(
    client: TestClient, writer: dict[str, str]
) -> None:
    live = client.post(URL, json=announce_body(), headers={**writer, "Idempotency-Key": "a"})

    other = client.post(URL, json=announce_body(), headers={**writer, "Idempotency-Key": "b"})

    assert other.status_code == 409
    assert other.json()["live_inspection_id"] == live.json()["id"]


def test_concurrent_presses_with_one_idempotency_key_start_one_inspection(
    client: TestClient, writer: dict[str, str], session: Session
) -> None:
    """A double press sends the same request twice at once; both answers name one inspection."""
    headers = {**writer, "Idempotency-Key": "double-press"}
    barrier = threading.Barrier(4)
    responses: list[Any] = []

    def press() -> None:
        barrier.wait()
        responses.append(client.post(URL, json=announce_body(), headers=headers))

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count(session, Inspection) == 1
    assert count(session, TimelineEntry, TimelineEntry.kind == "announced") == 1


# --- list ----------------------------------------------------------------------------------


def test_list_filters_by_drill_newest_first(client: TestClient, writer: dict[str, str]) -> None:
    real = announce(client, writer)
    drill_one = announce(client, writer, drill=True)
    drill_two = announce(client, writer, drill=True)

    def ids(**params: Any) -> list[str]:
        response = client.get(URL, params=params, headers=writer)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [drill_two["id"], drill_one["id"], real["id"]]
    assert ids(drill="true") == [drill_two["id"], drill_one["id"]]
    assert ids(drill="false") == [real["id"]]
    first = client.get(URL, params={"limit": 1}, headers=writer).json()
    assert [item["id"] for item in first["items"]] == [drill_two["id"]]
    assert ids(limit=1, cursor=first["next_cursor"]) == [drill_one["id"]]


def test_list_items_have_the_inspection_shape(client: TestClient, writer: dict[str, str]) -> None:
    created = announce(client, writer)

    body = client.get(URL, headers=writer).json()

    assert set(body) == {"items", "next_cursor"}
    assert body["items"] == [created] and body["next_cursor"] is None


# --- overrides and milestones --------------------------------------------------------------


def test_adding_an_on_site_day_moves_the_end_and_the_deadlines(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    response = client.post(
        f"{URL}/{created['id']}/timetable/overrides",
        json={"date": "2025-07-03", "on_site": True},
        headers=writer,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == INSPECTION_KEYS
    assert body["inspection_end"] == "2025-07-03"
    assert body["on_site_days"] == 12
    assert body["overrides"] == [{"date": "2025-07-03", "on_site": True}]
    publication = deadline(body, "publication")
    assert publication["from_date"] == "2025-07-03"
    assert publication["due"] == "2025-08-14"
    assert publication["due"] == working_day_after(client, writer, "2025-07-03", 30)
    action = deadline(body, "action_statement")
    assert action["due"] == working_day_after(client, writer, "2025-08-14", 70)


def test_taking_a_day_off_site_shortens_the_inspection_and_warns(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    body = client.post(
        f"{URL}/{created['id']}/timetable/overrides",
        json={"date": INSPECTION_END, "on_site": False},
        headers=writer,
    ).json()

    assert body["inspection_end"] == "2025-07-01"
    assert body["on_site_days"] == 10
    assert any("10 on-site days" in warning for warning in body["warnings"])
    assert deadline(body, "publication")["due"] == working_day_after(
        client, writer, "2025-07-01", 30
    )


@pytest.mark.sqlite_only
def test_override_outside_the_on_site_weeks_is_422_on_date(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    response = client.post(
        f"{URL}/{created['id']}/timetable/overrides",
        json={"date": "2025-09-01", "on_site": True},
        headers=writer,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "date"]


def test_report_published_recounts_the_action_statement_and_meets_publication(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    response = client.post(
        f"{URL}/{created['id']}/milestones",
        json={"key": "report_published", "date": "2025-08-01"},
        headers=writer,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "awaiting_action_statement"
    assert body["milestones"] == {"report_published": "2025-08-01"}
    publication = deadline(body, "publication")
    assert (publication["due"], publication["met_on"]) == (PUBLICATION_DUE, "2025-08-01")
    action = deadline(body, "action_statement")
    assert action["counted_from"] == "report_published"
    assert action["from_date"] == "2025-08-01"
    assert action["due"] == "2025-11-10"  # 70 working days after 1 August, skipping 25 August
    assert action["due"] == working_day_after(client, writer, "2025-08-01", 70)
    assert action["met_on"] is None


def test_action_statement_published_meets_its_deadline(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)
    milestones = f"{URL}/{created['id']}/milestones"
    client.post(milestones, json={"key": "report_published", "date": "2025-08-01"}, headers=writer)

    body = client.post(
        milestones, json={"key": "action_statement_published", "date": "2025-10-20"}, headers=writer
    ).json()

    assert body["status"] == "action_statement_published"
    assert deadline(body, "action_statement")["met_on"] == "2025-10-20"


@pytest.mark.sqlite_only
def test_action_statement_before_the_report_is_422_on_key(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    response = client.post(
        f"{URL}/{created['id']}/milestones",
        json={"key": "action_statement_published", "date": "2025-10-20"},
        headers=writer,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "key"]


@pytest.mark.sqlite_only
def test_report_before_the_inspection_ends_is_422_on_date(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    response = client.post(
        f"{URL}/{created['id']}/milestones",
        json={"key": "report_published", "date": INSPECTION_END},
        headers=writer,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "date"]


@pytest.mark.sqlite_only
def test_a_milestone_in_the_future_is_422_on_date(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()

    response = client.post(
        f"{URL}/{created['id']}/milestones",
        json={"key": "report_published", "date": tomorrow},
        headers=writer,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "date"]


def test_a_closed_inspection_refuses_changes_with_409(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)
    base = f"{URL}/{created['id']}"
    client.post(f"{base}/milestones", json={"key": "closed", "date": "2025-12-01"}, headers=writer)

    override = client.post(
        f"{base}/timetable/overrides", json={"date": "2025-07-03", "on_site": True}, headers=writer
    )
    milestone = client.post(
        f"{base}/milestones", json={"key": "report_published", "date": "2025-08-01"}, headers=writer
    )

    assert (override.status_code, milestone.status_code) == (409, 409)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("timetable/overrides", {"date": "2025-07-03", "on_site": True}),
        ("milestones", {"key": "closed", "date": "2025-12-01"}),
    ],
)
def test_changing_an_unknown_inspection_is_404(
    client: TestClient, writer: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    response = client.post(f"{URL}/{uuid.uuid4()}/{path}", json=body, headers=writer)

    assert response.status_code == 404


# --- timeline ------------------------------------------------------------------------------


def test_timeline_records_who_did_what_and_when(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    lead = {"Authorization": f"Bearer {make_key('inspections:write', name='steering-lead')}"}
    intranet = {"Authorization": f"Bearer {make_key('admin', name='council-intranet')}"}
    before = datetime.now(UTC)
    created = announce(client, lead)
    base = f"{URL}/{created['id']}"
    client.post(
        f"{base}/timetable/overrides",
        json={"date": "2025-07-03", "on_site": True},
        headers=intranet,
    )
    client.post(
        f"{base}/milestones", json={"key": "report_published", "date": "2025-08-01"}, headers=lead
    )

    response = client.get(f"{base}/timeline", headers=lead)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(e["kind"], e["actor"]) for e in items] == [
        ("announced", "api-key:steering-lead"),
        ("timetable_changed", "api-key:council-intranet"),
        ("tasks_retimed", "api-key:council-intranet"),  # the plan follows the timetable
        ("milestone_recorded", "api-key:steering-lead"),
        ("tasks_retimed", "api-key:steering-lead"),
    ]
    for entry in items:
        assert set(entry) == {"at", "actor", "kind", "summary", "data"}
        at = datetime.fromisoformat(entry["at"])
        assert at.tzinfo is not None
        assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
        assert entry["summary"]
    assert items[1]["data"]["deadlines"]["publication"] == {
        "from": PUBLICATION_DUE,
        "to": "2025-08-14",
    }
    assert items[3]["data"]["key"] == "report_published"
    # Recording the publication times the tasks counted from it (and the recounted deadline).
    assert {"action_statement_draft", "lessons_learned", "action_statement_publish"} <= set(
        items[4]["data"]["tasks"]
    )


@pytest.mark.sqlite_only
def test_timeline_of_an_unknown_inspection_is_404(
    client: TestClient, reader: dict[str, str]
) -> None:
    assert client.get(f"{URL}/{uuid.uuid4()}/timeline", headers=reader).status_code == 404


def test_timeline_without_limit_is_every_entry_and_no_cursor(
    client: TestClient, writer: dict[str, str]
) -> None:
    created = announce(client, writer)

    body = client.get(f"{URL}/{created['id']}/timeline", headers=writer).json()

    assert set(body) == {"items", "next_cursor"}
    assert [entry["kind"] for entry in body["items"]] == ["announced"]
    assert body["next_cursor"] is None


def test_timeline_pages_by_cursor_and_entries_written_meanwhile_come_after_it(
    client: TestClient, session: Session, writer: dict[str, str]
) -> None:
    created = announce(client, writer)
    inspection_id = uuid.UUID(created["id"])
    at = datetime(2025, 6, 10, 9, 30, tzinfo=UTC)
    for number in range(5):  # five at the same moment: the id orders them
        timeline.log(
            session,
            inspection_id=inspection_id,
            actor="api-key:tests",
            kind="note",
            summary=f"Note {number}",
            now=at,
        )
    session.commit()
    url = f"{URL}/{created['id']}/timeline"
    everything = client.get(url, headers=writer).json()["items"]
    assert len(everything) == 6

    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        response = client.get(url, params=params, headers=writer)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        if len(pages) == 1:  # written between two pages: read on a later page, once
            timeline.log(
                session,
                inspection_id=inspection_id,
                actor="api-key:tests",
                kind="note",
                summary="Written while paging",
                now=datetime.now(UTC),
            )
            session.commit()
        if body["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": body["next_cursor"]}

    assert [len(page) for page in pages] == [2, 2, 2, 1]
    read = [entry for page in pages for entry in page]
    assert read[:6] == everything
    assert read[6]["summary"] == "Written while paging"


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"cursor": "not-one-of-ours"}, ["query", "cursor"]),
        ({"cursor": "MTIzNA"}, ["query", "cursor"]),  # base64 of a bare number
        ({"cursor": "x" * 65}, ["query", "cursor"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
    ],
)
def test_a_bad_timeline_cursor_or_limit_is_422_naming_it(
    client: TestClient, writer: dict[str, str], params: dict[str, Any], loc: list[str]
) -> None:
    created = announce(client, writer)

    response = client.get(f"{URL}/{created['id']}/timeline", params=params, headers=writer)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


# --- scopes --------------------------------------------------------------------------------

SOME_ID = "7b0f3c52-3a4e-4f7e-9a53-0c2e1b1d9e10"
ROUTES = [
    # method, path, body, scope needed
    ("POST", URL, announce_body(drill=True), "inspections:write"),
    ("GET", URL, None, "inspections:read"),
    ("GET", f"{URL}/{SOME_ID}", None, "inspections:read"),
    ("GET", f"{URL}/{SOME_ID}/timeline", None, "inspections:read"),
    (
        "POST",
        f"{URL}/{SOME_ID}/timetable/overrides",
        {"date": "2025-07-03", "on_site": True},
        "inspections:write",
    ),
    (
        "POST",
        f"{URL}/{SOME_ID}/milestones",
        {"key": "report_published", "date": "2025-08-01"},
        "inspections:write",
    ),
]
ROUTE_IDS = [f"{method} {path.replace(SOME_ID, '{id}')}" for method, path, _, _ in ROUTES]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES, ids=ROUTE_IDS)
def test_every_inspections_route_checks_the_key_and_its_scope(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    method: str,
    path: str,
    body: Any,
    scope: str,
) -> None:
    """No key or an unknown one: 401. `inspections:read` may only read; `inspections:write`
    includes reading; `admin` includes everything. The id is unknown, so a pass is a 404."""

    def status(headers: dict[str, str]) -> int:
        return client.request(method, path, json=body, headers=headers).status_code

    no_key = client.request(method, path, json=body)
    assert no_key.status_code == 401
    assert no_key.headers["www-authenticate"] == "Bearer"
    assert status({"Authorization": "Bearer iw_not-a-key-anyone-was-given"}) == 401
    read_only = client.request(method, path, json=body, headers=auth("inspections:read"))
    if scope == "inspections:write":
        assert read_only.status_code == 403
        assert "inspections:write" in read_only.json()["detail"]
    else:
        assert read_only.status_code in (200, 404)
    assert status(auth("inspections:write")) in (200, 201, 404)
    assert status(auth("admin")) in (200, 201, 404)
