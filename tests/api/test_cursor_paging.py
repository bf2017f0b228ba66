"""Cursor paging walked to the end, on SQLite and PostgreSQL: every row once, none skipped, none
twice, in the list's own order, even when rows are added between pages (before the cursor, after
it, and with the same sort value as the last row read); a cursor the service did not give out,
or one from another list, is a 422 naming `cursor`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.plan import tasks
from service.rules import Rules
from tests.api.payloads import announce_body
from tests.builders import make_contact, make_inspection

CONTACTS = "/api/v1/contacts"
INSPECTIONS = "/api/v1/inspections"
OUTBOX = "/api/v1/outbox"
SAME_MOMENT = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)

NAMES = ["Harriet Oyelaran", "Tomasz Wójcik", "Priya Natarajan", "Owen Pritchard", "Femi Adeyemi"]


def page(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"items", "next_cursor"}
    return body


def walk(
    client: TestClient,
    url: str,
    headers: dict[str, str],
    *,
    limit: int,
    between: Callable[[int], None] = lambda _: None,
    **params: Any,
) -> list[dict[str, Any]]:
    """Every page from the first to the one whose `next_cursor` is null; `between(n)` runs after
    page n is read."""
    items: list[dict[str, Any]] = []
    cursor = None
    for number in range(1, 1000):
        body = page(
            client, url, headers, limit=limit, **params, **({"cursor": cursor} if cursor else {})
        )
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert body["items"], "a next_cursor after an empty page"
        between(number)
    raise AssertionError("the pages never ended")


def ids(items: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return [item[key] for item in items]


def test_contacts_walk_by_name_then_id_and_rows_added_between_pages_shift_nothing(
    client: TestClient, session: Session, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("contacts:read")
    # Five names, each shared by several people: the id breaks the tie.
    for n in range(23):
        make_contact(session, f"c{n:03d}", NAMES[n % len(NAMES)])
    session.commit()
    everyone = ids(page(client, CONTACTS, headers, limit=500)["items"])
    assert len(everyone) == 23

    assert ids(walk(client, CONTACTS, headers, limit=4)) == everyone

    def add(number: int) -> None:
        # Before the cursor (never shown now), a tie with shown names, and after the cursor.
        make_contact(session, f"a{number:03d}", "Aaron Abbott")
        make_contact(session, f"c{number:03d}x", NAMES[number % len(NAMES)])
        make_contact(session, f"z{number:03d}", "Zoë Zaman")
        session.commit()

    seen = ids(walk(client, CONTACTS, headers, limit=4, between=add))
    assert len(seen) == len(set(seen)), "a contact read twice"
    assert set(everyone) <= set(seen), "a contact skipped"
    added_after = {f"z{n:03d}" for n in range(1, 7)}
    assert added_after <= set(seen), "a contact added after the cursor never shown"
    assert not {s for s in seen if s.startswith("a")}, "a contact added before the cursor shown"
    final = ids(page(client, CONTACTS, headers, limit=500)["items"])
    assert seen == [s for s in final if s in set(seen)], "not in the list's order"


def test_inspections_walk_newest_first_with_ties_on_the_moment(
    client: TestClient, session: Session, rules: Rules, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth("inspections:read")
    for n in range(7):
        make_inspection(session, rules, notified_at=SAME_MOMENT - timedelta(days=n), drill=True)
        make_inspection(session, rules, notified_at=SAME_MOMENT - timedelta(days=n), drill=True)
    everyone = ids(page(client, INSPECTIONS, headers, limit=500)["items"])
    assert len(everyone) == 14
    assert ids(walk(client, INSPECTIONS, headers, limit=3)) == everyone

    newer: list[str] = []
    older: list[str] = []

    def announce(number: int) -> None:
        # One newer than any (before the cursor: not shown), one older than any (shown last).
        later = SAME_MOMENT + timedelta(days=number)
        earlier = SAME_MOMENT - timedelta(days=30 + number)
        newer.append(str(make_inspection(session, rules, notified_at=later, drill=True).id))
        older.append(str(make_inspection(session, rules, notified_at=earlier, drill=True).id))

    seen = ids(walk(client, INSPECTIONS, headers, limit=3, between=announce))
    assert seen == everyone + older, "announcing while paging (newest first) moved a page"
    assert not set(newer) & set(seen)


def test_the_outbox_walks_messages_of_one_moment_by_priority_then_id(
    client: TestClient, session: Session, auth: Callable[..., dict[str, str]]
) -> None:
    # Everyone at the top of the tree: the announcement messages them all at one moment.
    for n in range(9):
        make_contact(session, f"p{n}", NAMES[n % len(NAMES)])
    session.commit()
    announced = client.post(INSPECTIONS, json=announce_body(drill=True), headers=auth())
    assert announced.status_code == 201, announced.text
    headers = auth("admin")
    everything = ids(page(client, OUTBOX, headers, limit=500)["items"])
    assert len(everything) >= 10
    walked = walk(client, OUTBOX, headers, limit=3)
    assert ids(walked) == everything
    assert len(set(ids(walked))) == len(walked)


def test_tasks_roles_templates_frameworks_and_the_timeline_walk_to_the_same_list(
    client: TestClient, session: Session, auth: Callable[..., dict[str, str]]
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    session.commit()
    announced = client.post(INSPECTIONS, json=announce_body(drill=True), headers=auth())
    assert announced.status_code == 201, announced.text
    inspection = announced.json()["id"]
    headers = auth("admin")
    day = announced.json()["on_site_start"]
    for on_site in (False, True):  # two more timeline entries
        changed = client.post(
            f"{INSPECTIONS}/{inspection}/timetable/overrides",
            json={"date": day, "on_site": on_site},
            headers=auth(),
        )
        assert changed.status_code == 200, changed.text
    cases = [{"reference": f"CIN-00451{n}"} for n in range(3)]
    added = client.post(
        f"{INSPECTIONS}/{inspection}/audit/cases", json={"cases": cases}, headers=headers
    )
    assert added.status_code == 201, added.text
    lists = [
        f"{INSPECTIONS}/{inspection}/audit/cases",
        f"{INSPECTIONS}/{inspection}/tasks",
        f"{INSPECTIONS}/{inspection}/timeline",
        "/api/v1/roles",
        "/api/v1/templates",
        "/api/v1/frameworks",
        "/api/v1/agencies",
    ]
    for url in lists:
        whole = page(client, url, headers, limit=500)
        assert whole["next_cursor"] is None
        assert len(whole["items"]) >= 2, url
        walked = walk(client, url, headers, limit=1)
        assert walked == whole["items"], url


@pytest.mark.parametrize(
    "url",
    [
        CONTACTS,
        INSPECTIONS,
        OUTBOX,
        "/api/v1/roles",
        "/api/v1/templates",
        "/api/v1/frameworks",
        "/api/v1/history",
        "/api/v1/closure-days",
        "/api/v1/calendar-feeds",
        "/api/v1/agencies",
    ],
)
def test_a_cursor_not_given_out_is_a_422_naming_cursor(
    client: TestClient, auth: Callable[..., dict[str, str]], url: str
) -> None:
    headers = auth("admin")
    for cursor in ("not-a-cursor", "WzEsMiwzLDQsNSw2LDcsOF0", "W10", "bnVsbA", "%00"):
        response = client.get(url, params={"cursor": cursor}, headers=headers)
        assert response.status_code == 422, (url, cursor, response.text)
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["query", "cursor"], (url, cursor)
    offset = client.get(url, params={"offset": 10}, headers=headers)
    assert offset.status_code == 422
    assert offset.json()["detail"][0]["loc"] == ["query", "offset"]
    assert "cursor" in offset.json()["detail"][0]["msg"]


def test_a_cursor_from_another_list_is_refused(
    client: TestClient, session: Session, auth: Callable[..., dict[str, str]]
) -> None:
    for n in range(3):
        make_contact(session, f"c{n}", NAMES[n])
    session.commit()
    headers = auth("admin")
    contacts_cursor = page(client, CONTACTS, headers, limit=1)["next_cursor"]
    assert contacts_cursor is not None
    for url in (INSPECTIONS, OUTBOX, "/api/v1/history"):
        response = client.get(url, params={"cursor": contacts_cursor}, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_tasks_falling_overdue_while_paging_move_no_task_across_a_page(
    session: Session, rules: Rules
) -> None:
    """ "Overdue first" is judged at the first page's moment on every page: tasks that fall due
    between pages are neither skipped nor read twice."""
    inspection = make_inspection(session, rules, notified_at=SAME_MOMENT, drill=True)
    first_moment = SAME_MOMENT + timedelta(hours=1)
    whole = tasks.list_tasks(session, inspection.id, rules=rules, now=first_moment)
    due = sorted(t.due_at for t in whole.items if t.due_at is not None)
    later = due[len(due) // 2] + timedelta(minutes=1)  # half the timed tasks now overdue
    assert tasks.list_tasks(session, inspection.id, rules=rules, now=later).items != whole.items

    seen: list[str] = []
    cursor = None
    moment = first_moment
    while True:
        listed = tasks.list_tasks(
            session, inspection.id, rules=rules, now=moment, limit=7, cursor=cursor
        )
        seen.extend(str(t.id) for t in listed.items)
        cursor = listed.next_cursor
        if cursor is None:
            break
        moment = later  # every page after the first is read once many tasks are overdue
    assert seen == [str(t.id) for t in whole.items]
