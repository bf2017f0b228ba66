"""The one-click acknowledgement pages, followed from the link in a real message: opening the
link records nothing (mail scanners open links), pressing the button does, twice is harmless, and
expired or forged links get a clear page rather than an error."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.notify.models import Message
from tests.api.payloads import announce_body
from tests.builders import make_contact, read_messages, read_nodes
from tests.conftest import make_settings

PUBLIC = "https://inspections.example.org"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        ack_link_max_age_hours=1,
        dispatcher_enabled=False,
    )


def announce(
    session: Session, client: TestClient, writer: dict[str, str], *, drill: bool
) -> uuid.UUID:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead")
    session.commit()
    response = client.post("/api/v1/inspections", json=announce_body(drill=drill), headers=writer)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


@pytest.fixture
def inspection_id(session: Session, client: TestClient, writer: dict[str, str]) -> uuid.UUID:
    return announce(session, client, writer, drill=False)


def link_for(engine: Engine, inspection_id: uuid.UUID, contact_id: str) -> str:
    """The path of the acknowledgement link in the person's e-mail, as they would click it."""
    email = next(
        m
        for m in read_messages(engine, inspection_id)
        if (m.contact_id, m.medium) == (contact_id, "email")
    )
    found = re.search(re.escape(PUBLIC) + r"(/ack/[A-Za-z0-9._-]+)", email.body)
    assert found is not None, email.body
    return found.group(1)


def messages(engine: Engine, inspection_id: uuid.UUID) -> list[Message]:
    return read_messages(engine, inspection_id)


def test_opening_the_link_shows_one_button_and_records_nothing(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    before = len(messages(engine, inspection_id))
    for _ in range(3):  # a scanner, a preview pane, the person
        page = client.get(link_for(engine, inspection_id, "sg-lead"))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Harriet Oyelaran" in html
    assert html.count("<button") == 1
    assert '<form method="post">' in html  # posts back to the link itself, prefix and all
    assert "EXERCISE" not in html
    assert read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at is None
    assert len(messages(engine, inspection_id)) == before


def test_pressing_the_button_acknowledges_and_messages_the_group(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    response = client.post(link_for(engine, inspection_id, "sg-lead"))
    assert response.status_code == 200
    assert "Thank you, Harriet Oyelaran" in response.text
    node = read_nodes(engine, inspection_id)["sg-lead"]
    assert node.acknowledged_via == "link" and node.acknowledged_at is not None
    assert {m.contact_id for m in messages(engine, inspection_id)} == {"sg-lead", "people"}

    reopened = client.get(link_for(engine, inspection_id, "sg-lead"))
    assert "Thank you, Harriet Oyelaran" in reopened.text and "<button" not in reopened.text


def test_pressing_twice_is_harmless(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    link = link_for(engine, inspection_id, "sg-lead")
    assert client.post(link).status_code == 200
    first = read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at
    sent = sorted(m.dedupe_key for m in messages(engine, inspection_id))

    again = client.post(link)
    assert again.status_code == 200 and "Thank you" in again.text
    assert read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at == first
    assert sorted(m.dedupe_key for m in messages(engine, inspection_id)) == sent


def test_an_expired_link_gets_a_page_saying_so_and_records_nothing(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    link = link_for(engine, inspection_id, "sg-lead")
    with time_machine.travel(datetime.now().astimezone() + timedelta(hours=1, minutes=1)):
        for method in (client.get, client.post):
            response = method(link)
            assert response.status_code == 410
            assert "This link has expired" in response.text
            assert response.headers["content-type"].startswith("text/html")
    assert read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at is None


@pytest.mark.sqlite_only
def test_a_forged_or_damaged_link_gets_a_page_saying_it_is_not_valid(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    genuine = link_for(engine, inspection_id, "sg-lead")
    value, stamp, signature = genuine.removeprefix("/ack/").split(".")
    for forged in (
        f"/ack/{value}.{stamp}.{signature[:-2]}xx",
        f"/ack/zzzzzz.{stamp}.{signature}",  # someone else's code under Harriet's signature
        f"/ack/{value}",
        "/ack/%E2%9C%93",
    ):
        for method in (client.get, client.post):
            response = method(forged)
            assert response.status_code == 404, forged
            assert "This link is not valid" in response.text
    assert read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at is None


def test_a_drill_link_says_it_is_an_exercise(
    session: Session, client: TestClient, engine: Engine, writer: dict[str, str]
) -> None:
    drill_id = announce(session, client, writer, drill=True)
    page = client.get(link_for(engine, drill_id, "sg-lead"))
    assert page.status_code == 200
    assert "EXERCISE" in page.text


def test_a_link_for_a_closed_inspection_says_so_and_records_nothing(
    client: TestClient, engine: Engine, writer: dict[str, str], inspection_id: uuid.UUID
) -> None:
    closed = client.post(
        f"/api/v1/inspections/{inspection_id}/milestones",
        json={"key": "closed", "date": "2025-06-11"},
        headers=writer,
    )
    assert closed.status_code == 200, closed.text

    response = client.post(link_for(engine, inspection_id, "sg-lead"))
    assert response.status_code == 200
    assert "This inspection is closed" in response.text
    assert "We have recorded" not in response.text
    assert read_nodes(engine, inspection_id)["sg-lead"].acknowledged_at is None
