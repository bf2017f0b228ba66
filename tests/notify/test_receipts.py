"""Delivery receipts from GOV.UK Notify (the fake's own callback bodies) move our rows on; Notify
repeats a callback it thinks failed, so the same receipt twice must change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.inspections.models import Inspection
from service.main import on_delivery_failure
from service.notify.channels import build_channels, close_channels
from service.notify.channels.base import Medium, OutgoingMessage
from service.notify.channels.govuk_notify import NotifyChannel
from service.notify.channels.notify_callbacks import DeliveryReceipt
from service.notify.dispatch import Dispatcher, build_limiters, claim
from service.notify.models import Message, MessageStatus, Purpose
from service.notify.receipts import apply_receipt
from service.rules import Rules
from tests.builders import london, make_contact, make_inspection, read_messages, read_nodes
from tests.conftest import make_settings
from tests.notify.fake_notify import FakeNotify

pytestmark = pytest.mark.anyio

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)
SENT_AT = ANNOUNCED + timedelta(seconds=5)


@pytest.fixture
def drill(session: Session, rules: Rules) -> Inspection:
    """Tomasz can only be texted; Harriet is his deputy."""
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(
        session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", email=None, channels=("sms",)
    )
    session.commit()
    return make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)


@pytest.fixture
async def sent(
    database_url: str, engine: Engine, rules: Rules, fake_notify: FakeNotify, drill: Inspection
) -> AsyncIterator[Message]:
    """Everything sent through the fake Notify; returns Tomasz's text message."""
    settings = make_settings(
        database_url=database_url,
        email_channel="govuk_notify",
        sms_channel="govuk_notify",
        notify_api_key=fake_notify.api_key,
        notify_base_url=fake_notify.base_url,
        notify_email_template_id=fake_notify.email_template_id,
        notify_sms_template_id=fake_notify.sms_template_id,
    )
    channels = build_channels(settings)
    dispatcher = Dispatcher(
        engine,
        on_failure=on_delivery_failure(rules),
        channels=channels,
        limiters=build_limiters(settings, channels),
        clock=lambda: SENT_AT,
    )
    await dispatcher.send_all()
    await close_channels(channels)
    yield texts_to(engine, drill, "sg-dcs")[0]


def texts_to(engine: Engine, drill: Inspection, contact_id: str) -> list[Message]:
    return [
        m
        for m in read_messages(engine, drill.id)
        if (m.contact_id, m.medium) == (contact_id, "sms")
    ]


def apply(engine: Engine, rules: Rules, body: dict, now: datetime) -> str:
    with Session(engine) as session:
        outcome = apply_receipt(
            session,
            DeliveryReceipt.model_validate(body),
            on_failure=on_delivery_failure(rules),
            now=now,
        )
        session.commit()
    return outcome


def moment(seconds_after_send: float) -> float:
    return (SENT_AT + timedelta(seconds=seconds_after_send)).timestamp()


async def test_a_delivered_receipt_marks_the_message_delivered_once(
    engine: Engine, rules: Rules, fake_notify: FakeNotify, drill: Inspection, sent: Message
) -> None:
    assert sent.status == MessageStatus.sent and sent.provider_id is not None
    body = fake_notify.set_status(sent.provider_id, "delivered", at=moment(40))

    assert apply(engine, rules, body, SENT_AT + timedelta(minutes=1)) == MessageStatus.delivered
    delivered = texts_to(engine, drill, "sg-dcs")[0]
    assert (delivered.status, delivered.provider_status) == (MessageStatus.delivered, "delivered")
    assert delivered.delivered_at == SENT_AT + timedelta(seconds=40)

    assert apply(engine, rules, body, SENT_AT + timedelta(minutes=6)) == "unchanged"
    again = texts_to(engine, drill, "sg-dcs")[0]
    assert again.model_dump() == delivered.model_dump()


async def test_an_in_flight_receipt_is_recorded_and_a_late_one_never_undoes_delivery(
    engine: Engine, rules: Rules, fake_notify: FakeNotify, drill: Inspection, sent: Message
) -> None:
    assert sent.provider_id is not None
    # Notify POSTs no receipt for `sending`; the body is the record's fields at that moment
    assert fake_notify.set_status(sent.provider_id, "sending", at=moment(1)) is None
    sending = fake_notify.receipt(sent.provider_id)
    delivered = fake_notify.set_status(sent.provider_id, "delivered", at=moment(30))
    assert delivered is not None

    assert apply(engine, rules, sending, SENT_AT + timedelta(seconds=10)) == MessageStatus.sent
    assert texts_to(engine, drill, "sg-dcs")[0].provider_status == "sending"
    assert (
        apply(engine, rules, delivered, SENT_AT + timedelta(seconds=40)) == MessageStatus.delivered
    )
    assert apply(engine, rules, sending, SENT_AT + timedelta(seconds=50)) == "unchanged"
    assert texts_to(engine, drill, "sg-dcs")[0].status == MessageStatus.delivered


async def test_a_permanent_failure_receipt_escalates_to_the_deputy_once(
    engine: Engine, rules: Rules, fake_notify: FakeNotify, drill: Inspection, sent: Message
) -> None:
    assert sent.provider_id is not None
    body = fake_notify.set_status(sent.provider_id, "permanent-failure", at=moment(20))
    later = SENT_AT + timedelta(minutes=1)

    assert apply(engine, rules, body, later) == MessageStatus.failed
    assert apply(engine, rules, body, later + timedelta(minutes=5)) == "unchanged"

    failed = texts_to(engine, drill, "sg-dcs")[0]
    assert (failed.status, failed.last_error) == (
        MessageStatus.failed,
        "GOV.UK Notify: permanent-failure",
    )
    node = read_nodes(engine, drill.id)["sg-dcs"]
    assert node.escalated_at == later
    escalations = [m for m in read_messages(engine, drill.id) if m.purpose == Purpose.escalation]
    assert sorted((m.contact_id, m.medium) for m in escalations) == [
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]


async def test_a_receipt_for_a_message_we_do_not_know_changes_nothing(
    engine: Engine, rules: Rules, fake_notify: FakeNotify, drill: Inspection, sent: Message
) -> None:
    assert sent.provider_id is not None
    body = fake_notify.set_status(sent.provider_id, "delivered", at=moment(40))
    stranger = {**body, "id": "0f8e2a4c-6b1d-4e3f-9a7c-5d2b8e1f0a6c", "reference": "someone-else"}
    assert apply(engine, rules, stranger, SENT_AT + timedelta(minutes=1)) == "unknown"
    assert texts_to(engine, drill, "sg-dcs")[0].status == MessageStatus.sent


async def test_a_receipt_for_a_row_left_in_doubt_completes_it_and_nothing_is_resent(
    database_url: str,
    engine: Engine,
    rules: Rules,
    fake_notify: FakeNotify,
    drill: Inspection,
) -> None:
    """The dispatcher died after Notify took the text: the receipt still tells us it was sent
    (and when), so the dashboard counts the person as reached and nobody sends it again."""
    held = [c for c in claim(engine, now=SENT_AT, limit=10) if c.medium is Medium.sms]
    text = next(c for c in held if c.address == texts_to(engine, drill, "sg-dcs")[0].address)
    channel = NotifyChannel(
        api_key=fake_notify.api_key,
        base_url=fake_notify.base_url,
        sms_template_id=fake_notify.sms_template_id,
    )
    accepted = await channel.send(
        OutgoingMessage(
            id=str(text.id), medium=Medium.sms, to=text.address, subject="", body=text.body
        )
    )
    await channel.aclose()
    assert accepted.provider_id is not None
    body = fake_notify.set_status(accepted.provider_id, "delivered", at=moment(30))

    assert apply(engine, rules, body, SENT_AT + timedelta(minutes=1)) == MessageStatus.delivered

    row = texts_to(engine, drill, "sg-dcs")[0]
    assert (row.status, row.provider_id) == (MessageStatus.delivered, accepted.provider_id)
    assert row.sent_at is not None and row.sent_at <= row.delivered_at  # type: ignore[operator]
    after_lease = claim(engine, now=SENT_AT + timedelta(hours=1), limit=10)
    assert text.id not in {c.id for c in after_lease}
    assert (
        texts_to(engine, drill, "sg-lead")[0].status == MessageStatus.sending
    )  # untouched by the receipt
