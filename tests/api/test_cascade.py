"""The cascade's progress and the rehearsal report over HTTP, for an inspection announced over
HTTP: the shape the intranet relies on, the numbers behind it, and who may read it."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.db import utcnow
from service.main import on_delivery_failure
from service.notify.channels.base import Accepted
from service.notify.dispatch import Outcome, claim, record
from service.rules import Rules
from tests.api.payloads import announce_body
from tests.builders import make_contact, read_messages
from tests.conftest import make_settings

CONTRACT = {
    "total",
    "by_status",
    "levels",
    "broken",
    "steering_group_reached_at",
    "everyone_reached_at",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No dispatcher: what has been sent is decided by each test."""
    return make_settings(database_url=database_url, dispatcher_enabled=False)


@pytest.fixture
def drill_id(session: Session, client: TestClient, writer: dict[str, str]) -> str:
    """Harriet leads; Priya reports to her; Kwame has no address at all."""
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead")
    make_contact(session, "kwame", "Kwame Mensah", reports_to="sg-lead", email=None, mobile=None)
    session.commit()
    response = client.post("/api/v1/inspections", json=announce_body(drill=True), headers=writer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_progress_right_after_the_announce(
    client: TestClient, reader: dict[str, str], drill_id: str
) -> None:
    response = client.get(f"/api/v1/inspections/{drill_id}/cascade", headers=reader)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= CONTRACT
    assert body["paused"] == []  # no medium waiting for a daily limit
    assert body["total"] == 3
    assert body["by_status"] == {"waiting": 2, "notified": 1, "acknowledged": 0, "broken": 0}
    assert [(level["level"], level["total"], level["notified"]) for level in body["levels"]] == [
        (1, 1, 1),
        (2, 2, 0),
    ]
    assert body["broken"] == []
    assert body["steering_group_reached_at"] is None  # nothing has left yet
    assert body["everyone_reached_at"] is None


def test_progress_shows_who_is_broken_and_when_the_steering_group_was_reached(
    client: TestClient, engine: Engine, rules: Rules, reader: dict[str, str], drill_id: str
) -> None:
    sent_at = utcnow()
    record(
        engine,
        [
            Outcome(c.id, "outbox", accepted=Accepted(), at=sent_at)
            for c in claim(engine, now=sent_at, limit=10)
        ],
        on_failure=on_delivery_failure(rules),
        max_attempts=12,
        now=sent_at,
    )
    link = next(
        m.body for m in read_messages(engine, uuid.UUID(drill_id)) if m.contact_id == "sg-lead"
    )
    path = re.search(r"/ack/\S+", link)
    assert path is not None
    assert client.post(path.group(0)).status_code == 200  # Harriet acknowledges: her group goes

    body = client.get(f"/api/v1/inspections/{drill_id}/cascade", headers=reader).json()
    assert body["by_status"] == {"waiting": 0, "notified": 1, "acknowledged": 1, "broken": 1}
    assert [(b["contact_id"], b["reason"]) for b in body["broken"]] == [
        ("kwame", "has no e-mail address or mobile number to message")
    ]
    assert datetime.fromisoformat(body["steering_group_reached_at"]) == sent_at
    assert body["everyone_reached_at"] is None  # Priya's and Kwame's messages have not gone


def test_rehearsal_report_counts_acknowledgements(
    client: TestClient, engine: Engine, reader: dict[str, str], drill_id: str
) -> None:
    link = next(
        m.body for m in read_messages(engine, uuid.UUID(drill_id)) if m.contact_id == "sg-lead"
    )
    path = re.search(r"/ack/\S+", link)
    assert path is not None
    client.post(path.group(0))

    response = client.get(f"/api/v1/inspections/{drill_id}/cascade/report", headers=reader)
    assert response.status_code == 200
    report = response.json()
    assert report["drill"] is True
    assert (report["people"], report["steering_group_size"], report["acknowledged"]) == (3, 1, 1)
    # Announced and acknowledged moments ago: one of three within every mark.
    assert report["acknowledged_percent"] == {
        "15_minutes": 33.3,
        "30_minutes": 33.3,
        "60_minutes": 33.3,
    }
    assert report["seconds_until_steering_group_acknowledged"] >= 0
    assert [b["contact_id"] for b in report["broken"]] == ["kwame"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("suffix", ["/cascade", "/cascade/report"])
def test_who_may_read_the_cascade(
    client: TestClient, auth, reader: dict[str, str], drill_id: str, suffix: str
) -> None:
    url = f"/api/v1/inspections/{drill_id}{suffix}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer iw_not-a-key"}).status_code == 401
    assert client.get(url, headers=auth("contacts:read")).status_code == 403
    assert client.get(url, headers=reader).status_code == 200
    unknown = f"/api/v1/inspections/{uuid.uuid4()}{suffix}"
    assert client.get(unknown, headers=reader).status_code == 404
    assert client.get(f"/api/v1/inspections/not-an-id{suffix}", headers=reader).status_code == 422
