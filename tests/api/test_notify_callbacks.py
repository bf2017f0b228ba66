"""GOV.UK Notify's callbacks over HTTP: only with our bearer token, a receipt twice changes
nothing, a permanent failure escalates once, a body we cannot read is kept and answered 200, and a
text back acknowledges its sender only when it says so."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.config import Settings
from service.inspections.models import Inspection
from service.main import on_delivery_failure
from service.notify.channels.base import Accepted
from service.notify.dispatch import Outcome, claim, record
from service.notify.models import Message, MessageStatus, Purpose, UnreadCallback
from service.rules import Rules
from tests.builders import (
    UNLISTED_MOBILE,
    london,
    make_contact,
    make_inspection,
    read_messages,
    read_nodes,
)
from tests.conftest import make_settings

TOKEN = "notify-callback-7f3c9e2a1b"
CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)
RECEIPTS = "/api/v1/notify/receipts"
INBOUND = "/api/v1/notify/inbound-sms"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url=database_url, notify_callback_token=TOKEN, dispatcher_enabled=False
    )


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def drill(session: Session, engine: Engine, rules: Rules) -> Inspection:
    """Tomasz can only be texted, and his text went to Notify; Harriet is his deputy."""
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(
        session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", email=None, channels=("sms",)
    )
    session.commit()
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    sent_at = ANNOUNCED + timedelta(seconds=5)
    record(
        engine,
        [
            Outcome(
                c.id,
                "govuk_notify",
                accepted=Accepted(provider_id=f"{n:08d}-5c1f-4b9e-8d6a-2a1f0e9c8b7d"),
                at=sent_at,
            )
            for n, c in enumerate(claim(engine, now=sent_at, limit=10))
        ],
        on_failure=on_delivery_failure(rules),
        max_attempts=12,
        now=sent_at,
    )
    return drill


def text_to(engine: Engine, drill: Inspection, contact_id: str) -> Message:
    return next(
        m
        for m in read_messages(engine, drill.id)
        if (m.contact_id, m.medium, m.purpose) == (contact_id, "sms", Purpose.drill)
    )


def receipt(message: Message, status: str) -> dict[str, object]:
    """The body Notify POSTs to the delivery-status callback."""
    return {
        "id": message.provider_id,
        "reference": str(message.id),
        "to": message.address,
        "status": status,
        "created_at": "2025-03-04T10:02:05.000000Z",
        "completed_at": "2025-03-04T10:02:41.000000Z",
        "sent_at": "2025-03-04T10:02:06.000000Z",
        "notification_type": "sms",
        "template_id": "7e2d4a1b-5c3f-4b9e-8d6a-2a1f0e9c8b7d",
        "template_version": 1,
    }


def test_a_delivery_receipt_marks_the_message_delivered_and_a_repeat_changes_nothing(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = receipt(text_to(engine, drill, "sg-dcs"), "delivered")

    first = client.post(RECEIPTS, json=body, headers=bearer())
    assert (first.status_code, first.json()) == (200, {"result": MessageStatus.delivered})
    delivered = text_to(engine, drill, "sg-dcs")
    assert delivered.status == MessageStatus.delivered
    assert delivered.delivered_at == london(2025, 3, 4, 10, 2) + timedelta(seconds=41)

    again = client.post(RECEIPTS, json=body, headers=bearer())
    assert (again.status_code, again.json()) == (200, {"result": "unchanged"})
    assert text_to(engine, drill, "sg-dcs").model_dump() == delivered.model_dump()


def test_a_permanent_failure_receipt_escalates_once(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = receipt(text_to(engine, drill, "sg-dcs"), "permanent-failure")

    assert client.post(RECEIPTS, json=body, headers=bearer()).json() == {
        "result": MessageStatus.failed
    }
    assert client.post(RECEIPTS, json=body, headers=bearer()).json() == {"result": "unchanged"}

    assert read_nodes(engine, drill.id)["sg-dcs"].escalated_at is not None
    escalations = [m for m in read_messages(engine, drill.id) if m.purpose == Purpose.escalation]
    assert sorted((m.contact_id, m.medium) for m in escalations) == [
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]


@pytest.mark.sqlite_only
def test_callbacks_without_our_token_are_refused_before_anything_is_read(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = receipt(text_to(engine, drill, "sg-dcs"), "permanent-failure")
    for headers in (
        {},
        bearer("a-guess"),
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        for path, payload in ((RECEIPTS, body), (INBOUND, {"not": "a callback"})):
            response = client.post(path, json=payload, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert text_to(engine, drill, "sg-dcs").status != MessageStatus.failed


@pytest.mark.sqlite_only
def test_callbacks_are_refused_when_no_token_is_configured(
    database_url: str, engine: Engine, drill: Inspection
) -> None:
    from service.main import create_app

    unset = make_settings(database_url=database_url, dispatcher_enabled=False)
    with TestClient(create_app(unset, engine)) as client:
        body = receipt(text_to(engine, drill, "sg-dcs"), "delivered")
        assert client.post(RECEIPTS, json=body, headers=bearer()).status_code == 401
        assert client.post(RECEIPTS, json=body, headers=bearer("")).status_code == 401


@pytest.mark.sqlite_only
def test_a_receipt_we_cannot_read_is_kept_and_answered_200_never_a_4xx(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    """Notify drops a callback answered with a 4xx and retries only after a 5xx or 429: a body
    we cannot read is logged, kept as it came, and answered 200."""
    for raw in (
        json.dumps({"id": "x", "status": "lost-in-the-post"}).encode(),
        b"{not json",
        rb'{"id": "\u0000"}',
        b"\xff\xfe",
    ):
        response = client.post(
            RECEIPTS, content=raw, headers={**bearer(), "Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()) == (200, {"result": "unread"}), raw
    with Session(engine) as session:
        kept = session.exec(select(UnreadCallback).order_by(col(UnreadCallback.received_at))).all()
    assert [k.kind for k in kept] == ["receipt"] * 4
    assert "lost-in-the-post" in kept[0].body and "status" in kept[0].problem
    assert kept[1].body == "{not json"


def test_a_receipt_time_without_an_offset_is_taken_as_utc_never_a_500(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = receipt(text_to(engine, drill, "sg-dcs"), "delivered")
    body["completed_at"] = "2025-03-04T10:05:00.123456"  # no Z, no offset
    body["created_at"] = "2025-03-04T10:04:00"
    response = client.post(RECEIPTS, json=body, headers=bearer())
    assert (response.status_code, response.json()) == (200, {"result": "delivered"})
    delivered = text_to(engine, drill, "sg-dcs").delivered_at
    assert delivered is not None and delivered.utcoffset() == timedelta(0)
    assert delivered.hour == 10


@pytest.mark.parametrize("when", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_receipt_time_outside_the_calendar_in_utc_is_kept_unread_naming_the_field(
    client: TestClient, engine: Engine, drill: Inspection, when: str
) -> None:
    """Not a 500: the body is kept with the field named, answered 200 as any unreadable one."""
    message = text_to(engine, drill, "sg-dcs")
    body = {**receipt(message, "delivered"), "completed_at": when}
    response = client.post(RECEIPTS, json=body, headers=bearer())
    assert (response.status_code, response.json()) == (200, {"result": "unread"})
    with Session(engine) as session:
        [kept] = session.exec(select(UnreadCallback)).all()
    assert kept.problem.startswith("completed_at:") and "UTC" in kept.problem
    assert text_to(engine, drill, "sg-dcs").status == message.status


def test_a_text_back_time_outside_the_calendar_in_utc_is_kept_unread(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = {
        "id": "3f1c9e2a-5c1f-4b9e-8d6a-2a1f0e9c8b7d",
        "source_number": "447700900123",
        "destination_number": "07700900999",
        "message": "OK",
        "date_received": "0001-01-01T00:00:00+01:00",
    }
    response = client.post(INBOUND, json=body, headers=bearer())
    assert response.status_code == 200 and response.json()["result"] == "unread"
    with Session(engine) as session:
        [kept] = session.exec(select(UnreadCallback)).all()
    assert kept.kind == "inbound_sms" and kept.problem.startswith("date_received:")


def test_a_text_back_acknowledges_its_sender(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    mobile = text_to(engine, drill, "sg-dcs").address  # +447700900xxx
    body = {
        "id": "b1a7c0de-3f2e-4d5c-9b8a-7e6f5d4c3b2a",
        "source_number": mobile.removeprefix("+"),  # Notify sends 447700900xxx
        "destination_number": "07700900000",
        "message": " ok ",
        "date_received": "2025-03-04T10:05:00.000000Z",
    }
    response = client.post(INBOUND, json={**body, "message": "Got it"}, headers=bearer())
    assert response.json() == {"result": "read", "acknowledged": 0, "kept": 1}
    assert read_nodes(engine, drill.id)["sg-dcs"].acknowledged_at is None
    body["id"] = str(uuid.uuid4())
    response = client.post(INBOUND, json=body, headers=bearer())
    assert (response.status_code, response.json()) == (
        200,
        {"result": "read", "acknowledged": 1, "kept": 1},
    )
    node = read_nodes(engine, drill.id)["sg-dcs"]
    assert node.acknowledged_via == "sms reply" and node.acknowledged_at is not None

    again = client.post(INBOUND, json=body, headers=bearer())  # Notify's retry
    assert again.json() == {"result": "read", "acknowledged": 0, "kept": 0}
    assert read_nodes(engine, drill.id)["sg-dcs"].acknowledged_at == node.acknowledged_at


def test_a_text_from_an_unknown_number_acknowledges_nobody(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    body = {
        "id": "c2b8d1ef-4a3f-4e6d-8c9b-8f7a6e5d4c3b",
        "source_number": UNLISTED_MOBILE.removeprefix("+"),
        "destination_number": "07700900000",
        "message": "Who is this?",
        "date_received": "2025-03-04T10:05:00.000000Z",
    }
    assert client.post(INBOUND, json=body, headers=bearer()).json() == {
        "result": "read",
        "acknowledged": 0,
        "kept": 0,
    }
    assert all(n.acknowledged_at is None for n in read_nodes(engine, drill.id).values())


def test_a_receipt_naming_no_message_of_ours_is_answered_not_an_error(
    client: TestClient, engine: Engine, drill: Inspection
) -> None:
    """Notify retries a callback until it gets a 2xx: a receipt we cannot place is "unknown"."""
    body = receipt(text_to(engine, drill, "sg-dcs"), "delivered")
    for changes in (
        {"id": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "reference": None},
        {"id": "\x00", "reference": "\x00"},
        {"id": "not-a-notify-id", "reference": "not-ours"},
    ):
        response = client.post(RECEIPTS, json={**body, **changes}, headers=bearer())
        assert (response.status_code, response.json()) == (200, {"result": "unknown"}), changes
    assert text_to(engine, drill, "sg-dcs").status != MessageStatus.delivered
