"""API keys over HTTP on both databases: made (shown once), listed with their last use, paged,
revoked; duplicate names, the last admin key, bad input, the audit log; the last-used time
written at most once a minute, and never as "database is locked" on a read route."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service import api_keys
from service.api_keys import ApiKey
from service.audit_log import AuditEvent
from service.db import is_sqlite

URL = "/api/v1/api-keys"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def stored(engine: Engine, name: str) -> ApiKey:
    with Session(engine) as session:
        key = session.exec(select(ApiKey).where(ApiKey.name == name)).one()
        session.expunge(key)
        return key


def test_a_new_key_is_shown_once_works_at_once_and_is_listed_without_it(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    admin = bearer(make_key("admin", name="console"))

    made = client.post(URL, json={"name": "intranet", "scopes": ["contacts:read"]}, headers=admin)

    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"id", "name", "scopes", "key", "created_at"}
    assert (body["name"], body["scopes"]) == ("intranet", ["contacts:read"])
    assert body["key"].startswith(api_keys.PREFIX)
    assert client.get("/api/v1/contacts", headers=bearer(body["key"])).status_code == 200
    assert client.get("/api/v1/inspections", headers=bearer(body["key"])).status_code == 403
    listed = client.get(URL, headers=admin)
    assert listed.status_code == 200
    assert body["key"] not in listed.text
    [item] = [item for item in listed.json()["items"] if item["id"] == body["id"]]
    assert item["prefix"] == body["key"][:10]
    assert item["scopes"] == ["contacts:read"] and item["revoked_at"] is None
    assert item["created_at"] == body["created_at"]


def test_revoking_stops_the_key_at_once_and_is_listed(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    admin = bearer(make_key("admin"))
    made = client.post(URL, json={"name": "intranet", "scopes": ["contacts:read"]}, headers=admin)
    key_id, raw = made.json()["id"], made.json()["key"]

    revoked = client.delete(f"{URL}/{key_id}", headers=admin)
    again = client.delete(f"{URL}/{key_id}", headers=admin)

    assert (revoked.status_code, again.status_code) == (204, 204)
    assert client.get("/api/v1/contacts", headers=bearer(raw)).status_code == 401
    [item] = [i for i in client.get(URL, headers=admin).json()["items"] if i["id"] == key_id]
    assert item["revoked_at"] is not None


def test_an_unknown_key_id_is_404_and_a_bad_one_422(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    admin = bearer(make_key("admin"))

    assert client.delete(f"{URL}/99999", headers=admin).status_code == 404
    bad = client.delete(f"{URL}/zero", headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "key_id"]


def test_a_duplicate_name_is_409_and_changes_nothing(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    admin = bearer(make_key("admin", name="console"))
    first = client.post(URL, json={"name": "intranet", "scopes": ["plan:read"]}, headers=admin)

    second = client.post(URL, json={"name": " intranet ", "scopes": ["admin"]}, headers=admin)

    assert first.status_code == 201
    assert second.status_code == 409
    assert "'intranet' already exists" in second.json()["detail"]
    assert stored(engine, "intranet").scopes == ["plan:read"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["plan:read"]}, "name"),
        ({"name": "x" * 101, "scopes": ["plan:read"]}, "name"),
        ({"name": "intranet", "scopes": []}, "scopes"),
        ({"name": "intranet", "scopes": ["plan:delete"]}, "scopes"),
        ({"name": "intranet"}, "scopes"),
        ({"name": "intranet", "scopes": ["plan:read"], "key": "iw_mine"}, "key"),
    ],
)
@pytest.mark.sqlite_only
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, make_key: Callable[..., str], body: dict[str, object], field: str
) -> None:
    admin = bearer(make_key("admin", name="console"))

    response = client.post(URL, json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert ["body", field] in [error["loc"] for error in response.json()["detail"]]
    assert [i["name"] for i in client.get(URL, headers=admin).json()["items"]] == ["console"]


def test_the_last_active_admin_key_cannot_be_revoked(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    admin = bearer(make_key("admin", name="console"))
    make_key("plan:write", name="planner")
    [console] = [
        i for i in client.get(URL, headers=admin).json()["items"] if i["name"] == "console"
    ]

    refused = client.delete(f"{URL}/{console['id']}", headers=admin)

    assert refused.status_code == 409
    assert "last active key with the admin scope" in refused.json()["detail"]
    assert client.get(URL, headers=admin).status_code == 200
    other = client.post(URL, json={"name": "console-2", "scopes": ["admin"]}, headers=admin)
    assert client.delete(f"{URL}/{console['id']}", headers=admin).status_code == 204
    assert client.get(URL, headers=admin).status_code == 401
    assert client.get(URL, headers=bearer(other.json()["key"])).status_code == 200


def test_making_and_revoking_are_on_the_audit_log_with_the_key_that_did_it(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    admin = bearer(make_key("admin", name="console"))
    made = client.post(URL, json={"name": "intranet", "scopes": ["plan:read"]}, headers=admin)
    client.delete(f"{URL}/{made.json()['id']}", headers=admin)

    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.target == "intranet").order_by(AuditEvent.id)
        ).all()

    assert [(e.action, e.actor) for e in events] == [
        ("api_key_created", "api-key:console"),
        ("api_key_revoked", "api-key:console"),
    ]
    assert events[0].data["scopes"] == ["plan:read"]
    assert made.json()["key"] not in str([e.data for e in events])


def test_the_list_pages_with_a_cursor(client: TestClient, make_key: Callable[..., str]) -> None:
    admin = bearer(make_key("admin", name="console"))
    for n in range(4):
        make_key("plan:read", name=f"reader-{n}")

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(URL, params=params, headers=admin).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == ["console", "reader-0", "reader-1", "reader-2", "reader-3"]
    everything = client.get(URL, headers=admin).json()
    assert len(everything["items"]) == 5 and everything["next_cursor"] is None
    bad = client.get(URL, params={"cursor": "not-ours"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_last_used_is_written_at_most_once_a_minute(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    admin = bearer(make_key("admin", name="console"))
    raw = make_key("inspections:read", name="intranet")
    assert stored(engine, "intranet").last_used_at is None

    updates: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEY"):
            updates.append(statement)

    with time_machine.travel(T0, tick=False) as clock:
        assert client.get("/api/v1/frameworks", headers=bearer(raw)).status_code == 200
        first = stored(engine, "intranet").last_used_at
        sa.event.listen(engine, "before_cursor_execute", count)
        for _ in range(10):
            clock.shift(timedelta(seconds=5))
            assert client.get("/api/v1/frameworks", headers=bearer(raw)).status_code == 200
        sa.event.remove(engine, "before_cursor_execute", count)
        clock.shift(timedelta(seconds=9))
        client.get("/api/v1/frameworks", headers=bearer(raw))
        within = stored(engine, "intranet").last_used_at
        clock.shift(timedelta(seconds=1))
        client.get("/api/v1/frameworks", headers=bearer(raw))
        after = stored(engine, "intranet").last_used_at
        listed = client.get(URL, headers=admin).json()["items"]

    assert first == within == T0
    assert updates == []  # not even a conditional UPDATE within the minute
    assert after == T0 + timedelta(minutes=1)
    [item] = [i for i in listed if i["name"] == "intranet"]
    assert datetime.fromisoformat(item["last_used_at"]) == after


def test_a_refused_request_does_not_count_as_a_use(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    raw = make_key("inspections:read", name="intranet")

    assert client.get("/api/v1/contacts", headers=bearer(raw)).status_code == 403

    assert stored(engine, "intranet").last_used_at is None


def test_a_read_route_waits_for_a_busy_writer_rather_than_failing(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    """While another connection holds SQLite's writer lock (or a PostgreSQL row lock on the
    key), a read route with a key whose last use is due is still a 200; the last use is
    written once the writer is done."""
    raw = make_key("inspections:read", name="intranet")
    blocker = engine.connect()
    blocker.begin()  # BEGIN IMMEDIATE on SQLite: the writer's lock
    if not is_sqlite(engine):
        blocker.exec_driver_sql("SELECT id FROM api_key WHERE name = 'intranet' FOR UPDATE")
    release = threading.Timer(0.5, blocker.rollback)
    release.start()
    try:
        response = client.get("/api/v1/frameworks", headers=bearer(raw))
    finally:
        release.join()
        blocker.close()

    assert response.status_code == 200
    assert stored(engine, "intranet").last_used_at is not None
