"""The outbox over HTTP (admin only): every message the service produced, with a working
acknowledgement link under the public address, filtered and paged, and moving to `sent` once the
app's own dispatcher has handled it."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import signed_links
from service.config import Settings
from service.contacts.models import Contact
from service.main import create_app
from service.rules import Rules
from tests.api.payloads import announce_body
from tests.builders import make_contact, read_nodes
from tests.conftest import make_settings

PUBLIC = "https://inspections.example.org/iw"
FIELDS = {
    "id",
    "inspection_id",
    "contact_id",
    "channel",
    "to",
    "purpose",
    "subject",
    "body",
    "status",
    "created_at",
    "sent_at",
}
LINK = re.compile(re.escape(PUBLIC) + r"/ack/([A-Za-z0-9._-]+)")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url=database_url, public_base_url=PUBLIC, dispatcher_enabled=False
    )


@pytest.fixture
def tree(session: Session) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", window=0)
    make_contact(session, "sg-dcs", "Tomasz Wójcik", channels=("email",))
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead")
    session.commit()


def announce(client: TestClient, writer: dict[str, str], **changes: object) -> str:
    response = client.post(
        "/api/v1/inspections", json=announce_body(drill=True, **changes), headers=writer
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def outbox(client: TestClient, admin: dict[str, str], **params: object) -> dict:
    response = client.get("/api/v1/outbox", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_message_carries_its_fields_and_a_genuine_link_under_the_public_address(
    client: TestClient,
    engine: Engine,
    rules: Rules,
    tree: None,
    writer: dict[str, str],
    admin: dict[str, str],
) -> None:
    inspection_id = announce(client, writer)
    items = outbox(client, admin, inspection_id=inspection_id)["items"]

    assert sorted((i["contact_id"], i["channel"]) for i in items) == [
        ("sg-dcs", "email"),
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]
    nodes = read_nodes(engine, uuid.UUID(inspection_id))
    with Session(engine) as session:
        signer = signed_links.ack_signer(session, now=nodes["sg-lead"].notified_at)  # type: ignore[arg-type]
        for item in items:
            assert set(item) >= FIELDS
            assert (item["inspection_id"], item["purpose"], item["status"]) == (
                inspection_id,
                "drill",
                "queued",
            )
            assert item["sent_at"] is None
            contact = session.get(Contact, item["contact_id"])
            assert contact is not None
            assert item["to"] == (contact.email if item["channel"] == "email" else contact.mobile)
            tokens = LINK.findall(item["body"])
            assert tokens, item["body"]
            code = signer.code_from(tokens[0], max_age_seconds=rules.messaging.ack_max_age_seconds)
            assert code == nodes[item["contact_id"]].ack_code


def test_filters_and_paging(
    client: TestClient, tree: None, writer: dict[str, str], admin: dict[str, str]
) -> None:
    first = announce(client, writer)
    second = announce(client, writer, notes="A second rehearsal")

    everything = outbox(client, admin)
    assert len(everything["items"]) == 6 and everything["next_cursor"] is None
    assert len(outbox(client, admin, inspection_id=first)["items"]) == 3
    assert {i["inspection_id"] for i in outbox(client, admin, inspection_id=second)["items"]} == {
        second
    }
    assert {i["channel"] for i in outbox(client, admin, contact_id="sg-dcs")["items"]} == {"email"}
    assert outbox(client, admin, purpose="escalation")["items"] == []
    assert len(outbox(client, admin, status="queued")["items"]) == 6

    pages = [outbox(client, admin, limit=4)]
    pages.append(outbox(client, admin, limit=4, cursor=pages[0]["next_cursor"]))
    assert pages[1]["next_cursor"] is None
    assert [len(p["items"]) for p in pages] == [4, 2]
    assert {i["id"] for p in pages for i in p["items"]} == {i["id"] for i in everything["items"]}
    newest_first = [i["created_at"] for i in everything["items"]]
    assert newest_first == sorted(newest_first, reverse=True)


@pytest.mark.sqlite_only
def test_only_admin_keys_read_the_outbox(
    client: TestClient, auth: Callable[..., dict[str, str]], reader: dict[str, str]
) -> None:
    assert client.get("/api/v1/outbox").status_code == 401
    assert client.get("/api/v1/outbox", headers=reader).status_code == 403
    assert client.get("/api/v1/outbox", headers=auth("inspections:write")).status_code == 403
    assert client.get("/api/v1/outbox", headers=auth("admin")).status_code == 200
    bad = client.get("/api/v1/outbox", params={"limit": 0}, headers=auth("admin"))
    assert bad.status_code == 422


def test_the_apps_own_dispatcher_moves_messages_to_sent(
    database_url: str,
    engine: Engine,
    tree: None,
    make_key: Callable[..., str],
) -> None:
    settings = make_settings(database_url=database_url, public_base_url=PUBLIC)  # dispatcher on
    writer = {"Authorization": f"Bearer {make_key('inspections:write')}"}
    admin = {"Authorization": f"Bearer {make_key('admin')}"}
    with TestClient(create_app(settings, engine)) as client:
        inspection_id = announce(client, writer)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            items = outbox(client, admin, inspection_id=inspection_id)["items"]
            if items and all(i["status"] == "sent" for i in items):
                break
            time.sleep(0.05)
    assert {(i["status"], i["sent_at"] is not None) for i in items} == {("sent", True)}
    assert len(items) == 3


@pytest.mark.sqlite_only
def test_malformed_filters_get_a_422_rather_than_reaching_the_database(
    client: TestClient, admin: dict[str, str]
) -> None:
    for params in (
        {"contact_id": "\x00"},
        {"contact_id": "sg-lead\n"},
        {"contact_id": "x" * 65},
        {"status": "lost"},
        {"purpose": "drill\x00"},
        {"inspection_id": "not-an-id"},
        {"offset": -1},
    ):
        response = client.get("/api/v1/outbox", params=params, headers=admin)
        assert response.status_code == 422, params
    none = outbox(client, admin, contact_id="sg-lead", status="sent", purpose="drill")
    assert none["items"] == []
