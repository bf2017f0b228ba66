"""Calendar feeds end to end through HTTP on both databases: a feed parsed back by `icalendar`
and by `vobject`, SEQUENCE moving on for what changed and only that, revoking, wrong tokens,
scopes, bad input, a person's feed and the list."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
import vobject
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from tests.conftest import make_settings
from tests.plan.small_plan import DUE, announce_over_api, write_plan
from tests.snapshots import snapshot

URL = "/api/v1/calendar-feeds"
LONDON = ZoneInfo("Europe/London")
BASE = "https://inspection-week.example.org"
ON_SITE = [
    date(2025, 6, 11),
    date(2025, 6, 12),
    date(2025, 6, 13),
    *(date(2025, 6, day) for day in range(23, 28)),
    date(2025, 6, 30),
    date(2025, 7, 1),
    date(2025, 7, 2),
]
"""The Tuesday call's on-site days (test_inspections.py works them out by hand)."""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    write_plan(tmp_path / "plans")
    # No dispatcher thread: the query-count test counts every statement on the engine, and a
    # dispatcher pass woken by the tasks it adds would be counted as the feed's.
    return make_settings(
        database_url=database_url,
        plans_dir=tmp_path / "plans",
        public_base_url=BASE,
        dispatcher_enabled=False,
    )


@pytest.fixture
def inspection(client: TestClient, session: Session, writer: dict[str, str]) -> str:
    """The inspection's id."""
    return announce_over_api(client, session, writer).rsplit("/", 1)[1]


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def fetch(client: TestClient, url: str, **headers: str) -> Any:
    assert url.startswith(BASE + "/calendar/") and url.endswith(".ics")
    return client.get(url.removeprefix(BASE), headers=headers)


def events_of(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def sequences(body: bytes) -> dict[str, int]:
    return {uid: int(event["SEQUENCE"]) for uid, event in events_of(body).items()}


def ours(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The tables a feed writes (the announce's messages go on being sent meanwhile)."""
    tables = snapshot(engine)
    return {name: tables[name] for name in ("calendar_feed", "calendar_event", "audit_event")}


def task_ids(client: TestClient, inspection: str, headers: dict[str, str]) -> dict[str, str]:
    response = client.get(f"/api/v1/inspections/{inspection}/tasks", headers=headers)
    assert response.status_code == 200, response.text
    return {item["key"]: item["id"] for item in response.json()["items"]}


def test_a_feed_parses_back_with_icalendar_and_with_vobject(
    client: TestClient,
    inspection: str,
    admin: dict[str, str],
    reader: dict[str, str],
    auth: Callable[..., dict[str, str]],
) -> None:
    created = create(client, admin, inspection_id=inspection)
    assert created["webcal_url"] == "webcal://" + created["url"].removeprefix("https://")
    response = fetch(client, created["url"])

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Ofsted inspection from Wednesday 11 June 2025"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in response.content
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]

    public = client.get(f"/api/v1/inspections/{inspection}", headers=reader).json()
    tasks = task_ids(client, inspection, auth("plan:read"))
    found = events_of(response.content)
    phases = {f"phase-{inspection}-{p['key']}@inspection-week": p for p in public["phases"]}
    deadlines = {
        f"deadline-{inspection}-{d['key']}@inspection-week": d for d in public["deadlines"]
    }
    days = {f"onsite-{inspection}-{day:%Y%m%d}@inspection-week": day for day in ON_SITE}
    timed = {f"task-{tasks[key]}@inspection-week": due for key, due in DUE.items() if due}
    assert set(found) == set(phases) | set(deadlines) | set(days) | set(timed)
    assert len(phases) == 4 and len(deadlines) == 2 and len(timed) == 6
    for uid, phase in phases.items():
        assert found[uid]["DTSTART"].dt == date.fromisoformat(phase["start"])
        assert found[uid]["DTEND"].dt == date.fromisoformat(phase["end"]) + timedelta(days=1)
        assert str(found[uid]["SUMMARY"]) == phase["label"]
    for uid, deadline in deadlines.items():
        assert found[uid]["DTSTART"].dt == date.fromisoformat(deadline["due"])
        assert found[uid]["DTSTART"].params["VALUE"] == "DATE"
    for uid, day in days.items():
        assert (found[uid]["DTSTART"].dt, found[uid]["DTEND"].dt) == (day, day + timedelta(1))
    for uid, due in timed.items():
        start = found[uid]["DTSTART"]
        assert start.dt == due and start.params["TZID"] == "Europe/London"
    assert all(int(event["SEQUENCE"]) == 0 for event in found.values())
    assert all(isinstance(e["DTSTAMP"].dt, datetime) for e in found.values())
    assert all(e["LAST-MODIFIED"].dt == e["DTSTAMP"].dt for e in found.values())

    # An independent parser reads the same calendar.
    parsed = vobject.readOne(response.text)
    assert parsed.x_wr_calname.value == "Ofsted inspection from Wednesday 11 June 2025"
    assert parsed.vtimezone.tzid.value == "Europe/London"
    assert parsed.refresh_interval.value == "PT1H"
    assert parsed.refresh_interval.params["VALUE"] == ["DURATION"]
    by_uid = {event.uid.value: event for event in parsed.vevent_list}
    assert set(by_uid) == set(found)
    for uid, day in days.items():
        assert by_uid[uid].dtstart.value == day
        assert not isinstance(by_uid[uid].dtstart.value, datetime)
    for uid, due in timed.items():
        assert by_uid[uid].dtstart.value == due
        assert by_uid[uid].dtstart.value.utcoffset() == timedelta(hours=1)  # BST, from VTIMEZONE


def test_a_changed_timetable_keeps_the_uids_and_moves_sequence_on_for_what_changed(
    client: TestClient,
    inspection: str,
    admin: dict[str, str],
    writer: dict[str, str],
    auth: Callable[..., dict[str, str]],
) -> None:
    url = create(client, admin, inspection_id=inspection)["url"]
    first = fetch(client, url)
    before = sequences(first.content)
    stamps = {uid: event["DTSTAMP"].dt for uid, event in events_of(first.content).items()}
    assert fetch(client, url).content == first.content  # nothing changed, nothing moves

    # The lead inspector leaves on Tuesday of week 4; the base room is booked an hour later.
    moved = client.post(
        f"/api/v1/inspections/{inspection}/timetable/overrides",
        json={"date": "2025-07-02", "on_site": False},
        headers=writer,
    )
    assert moved.status_code == 200, moved.text
    tasks = task_ids(client, inspection, auth("plan:read"))
    later = client.patch(
        f"/api/v1/inspections/{inspection}/tasks/{tasks['book_base_room']}",
        json={"due_at": "2025-06-10T13:00:00+01:00"},
        headers=auth("plan:write"),
    )
    assert later.status_code == 200, later.text

    second = fetch(client, url)
    after = sequences(second.content)
    changed = {
        f"phase-{inspection}-week4@inspection-week",
        f"deadline-{inspection}-publication@inspection-week",
        f"deadline-{inspection}-action_statement@inspection-week",
        f"task-{tasks['book_base_room']}@inspection-week",
    }
    gone = f"onsite-{inspection}-20250702@inspection-week"
    assert set(after) == set(before) - {gone}
    assert {uid for uid in after if after[uid] != before[uid]} == changed
    assert all(after[uid] == 1 for uid in changed)
    events = events_of(second.content)
    assert events[f"task-{tasks['book_base_room']}@inspection-week"]["DTSTART"].dt == datetime(
        2025, 6, 10, 13, 0, tzinfo=LONDON
    )
    for uid, event in events.items():
        if uid in changed:
            assert event["LAST-MODIFIED"].dt >= stamps[uid]
        else:
            assert event["DTSTAMP"].dt == stamps[uid]

    # The same again: nothing moves a second time.
    assert sequences(fetch(client, url).content) == after


def test_an_unchanged_feed_answers_304_to_its_etag(
    client: TestClient, inspection: str, admin: dict[str, str], writer: dict[str, str]
) -> None:
    url = create(client, admin, inspection_id=inspection)["url"]
    first = fetch(client, url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    again = fetch(client, url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert fetch(client, url, **{"If-Modified-Since": modified}).status_code == 304

    client.post(
        f"/api/v1/inspections/{inspection}/timetable/overrides",
        json={"date": "2025-07-02", "on_site": False},
        headers=writer,
    )
    changed = fetch(client, url, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_a_revoked_feed_and_a_wrong_token_answer_404(
    client: TestClient, inspection: str, admin: dict[str, str]
) -> None:
    created = create(client, admin, inspection_id=inspection)
    other = create(client, admin, inspection_id=inspection)
    token = created["url"].removeprefix(BASE + "/calendar/").removesuffix(".ics")
    assert fetch(client, created["url"]).status_code == 200

    # Right row, wrong secret: the hash comparison refuses it.
    wrong = token[:12] + secrets.token_urlsafe(32)[: len(token) - 12]
    assert fetch(client, f"{BASE}/calendar/{wrong}.ics").status_code == 404
    assert fetch(client, f"{BASE}/calendar/{secrets.token_urlsafe(32)}.ics").status_code == 404
    assert fetch(client, f"{BASE}/calendar/{'x' * 500}.ics").status_code == 404

    assert client.delete(f"{URL}/{created['id']}", headers=admin).status_code == 204
    gone = fetch(client, created["url"])
    assert gone.status_code == 404 and b"BEGIN:VCALENDAR" not in gone.content
    assert fetch(client, other["url"]).status_code == 200
    assert client.delete(f"{URL}/{created['id']}", headers=admin).status_code == 204  # harmless
    assert client.delete(f"{URL}/999999", headers=admin).status_code == 404

    listed = client.get(URL, headers=admin)
    assert listed.status_code == 200
    items = {item["id"]: item for item in listed.json()["items"]}
    assert items[created["id"]]["revoked_at"] is not None
    assert items[other["id"]]["revoked_at"] is None
    assert token not in listed.text and "/calendar/" not in listed.text


def test_a_key_without_admin_is_refused(
    client: TestClient, inspection: str, admin: dict[str, str], auth: Callable[..., dict[str, str]]
) -> None:
    created = create(client, admin, inspection_id=inspection)
    for scope in ("inspections:write", "plan:write", "contacts:write"):
        headers = auth(scope)
        assert (
            client.post(URL, json={"inspection_id": inspection}, headers=headers).status_code == 403
        )
        assert client.get(URL, headers=headers).status_code == 403
        assert client.delete(f"{URL}/{created['id']}", headers=headers).status_code == 403
    assert client.get(URL).status_code == 401
    assert fetch(client, created["url"]).status_code == 200  # not revoked by any of that


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inspection_id": "6f1c2a3e-8d4b-4c1e-9a7f-2b5d0e9c4a11"}, "inspection_id"),
        ({"inspection_id": "not-a-uuid"}, "inspection_id"),
        ({}, "inspection_id"),
        ({"contact_id": "nobody-by-this-id"}, "contact_id"),
        ({"contact_id": "sllewellyn"}, "contact_id"),  # inactive
        ({"contact_id": "x" * 65}, "contact_id"),
        ({"contact_id": ""}, "contact_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    engine: Engine,
    inspection: str,
    admin: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    sent = {"inspection_id": inspection, **body} if body else {}
    before = ours(engine)
    response = client.post(URL, json=sent, headers=admin)

    assert response.status_code == 422, response.text
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]
    assert ours(engine) == before


def test_a_persons_feed_holds_their_tasks_and_the_on_site_days_only(
    client: TestClient,
    inspection: str,
    admin: dict[str, str],
    auth: Callable[..., dict[str, str]],
) -> None:
    created = create(client, admin, inspection_id=inspection, contact_id="twojcik")
    response = fetch(client, created["url"])

    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]).startswith("Tomasz Wójcik: tasks, Ofsted inspection")
    tasks = task_ids(client, inspection, auth("plan:read"))
    mine = {f"task-{tasks[key]}@inspection-week" for key in ("book_base_room", "car_parking")}
    days = {f"onsite-{inspection}-{day:%Y%m%d}@inspection-week" for day in ON_SITE}
    assert set(events_of(response.content)) == mine | days

    listed = client.get(URL, headers=admin).json()["items"]
    assert [(item["contact_id"], item["contact_name"]) for item in listed] == [
        ("twojcik", "Tomasz Wójcik")
    ]


def test_a_deactivated_persons_feed_stops_answering(
    client: TestClient, inspection: str, admin: dict[str, str]
) -> None:
    made = client.post(
        "/api/v1/contacts",
        json={"id": "leaver", "name": "Orla Fennimore", "email": "leaver@example.org"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    theirs = create(client, admin, inspection_id=inspection, contact_id="leaver")
    whole = create(client, admin, inspection_id=inspection)
    assert fetch(client, theirs["url"]).status_code == 200

    gone = client.post("/api/v1/contacts/leaver/deactivate", headers=admin)
    assert gone.status_code == 200, gone.text
    refused = fetch(client, theirs["url"])
    assert refused.status_code == 404 and b"BEGIN:VCALENDAR" not in refused.content
    # The inspection's own feed is nobody's: it goes on.
    assert fetch(client, whole["url"]).status_code == 200


def test_the_list_pages_with_a_cursor(
    client: TestClient, inspection: str, admin: dict[str, str]
) -> None:
    made = [create(client, admin, inspection_id=inspection)["id"] for _ in range(3)]

    first = client.get(URL, params={"limit": 2}, headers=admin).json()
    assert [item["id"] for item in first["items"]] == made[:2]
    assert first["next_cursor"]
    rest = client.get(
        URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
    ).json()
    assert [item["id"] for item in rest["items"]] == made[2:]
    assert rest["next_cursor"] is None
    other = client.get(
        URL, params={"inspection_id": "6f1c2a3e-8d4b-4c1e-9a7f-2b5d0e9c4a11"}, headers=admin
    )
    assert other.json() == {"items": [], "next_cursor": None}

    for params, field in (({"cursor": "!!"}, "cursor"), ({"limit": 501}, "limit")):
        refused = client.get(URL, params=params, headers=admin)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", field]


def test_the_feed_url_is_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/calendar-feeds" in paths and "/api/v1/calendar-feeds/{feed_id}" in paths
    assert not [path for path in paths if path.startswith("/calendar")]


def test_reading_a_feed_takes_the_same_few_queries_however_many_tasks(
    client: TestClient,
    engine: Engine,
    inspection: str,
    admin: dict[str, str],
    auth: Callable[..., dict[str, str]],
) -> None:
    url = create(client, admin, inspection_id=inspection)["url"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        assert fetch(client, url).status_code == 200
        return len(statements)

    fetch(client, url)  # the first read publishes every event
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        few = queries()
        planner = auth("plan:write")
        for n in range(30):
            added = client.post(
                f"/api/v1/inspections/{inspection}/tasks",
                json={
                    "title": f"Extra chairs for room {n}",
                    "category": "logistics",
                    "due_at": "2025-06-12T09:00:00+01:00",
                },
                headers=planner,
            )
            assert added.status_code == 201, added.text
        fetch(client, url)  # publishes the new tasks
        many = queries()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(events_of(fetch(client, url).content)) > 30
    assert many == few and few <= 8, statements
