"""The GOV.UK Notify channel against a real local HTTP server that checks requests as Notify does
(tests/notify/fake_notify/), and that fake checked in turn against Notify's own Python client."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from pydantic import ValidationError
from structlog.testing import capture_logs

from service.notify.channels.base import (
    ChannelError,
    DailyLimitError,
    Medium,
    OutgoingMessage,
    PermanentError,
    ProviderUnavailable,
    RetryableError,
)
from service.notify.channels.govuk_notify import (
    MAX_ANSWER_BYTES,
    NotifyChannel,
    ProviderConfigurationError,
    make_jwt,
    mask_recipient,
    parse_api_key,
)
from service.notify.channels.notify_callbacks import (
    DeliveryReceipt,
    InboundSms,
    callback_token_matches,
    map_notify_status,
)
from tests.conftest import make_settings
from tests.notify.fake_notify import (
    CLOCK_MESSAGE,
    FakeNotify,
)
from tests.notify.fake_notify.callbacks import RECEIPT_STATUSES

pytestmark = pytest.mark.anyio

HARRIET = "harriet.oyelaran@example.org"
TOMASZ_MOBILE = "+447700900123"


def channel_for(fake: FakeNotify, **overrides: object) -> NotifyChannel:
    values: dict[str, object] = {
        "api_key": fake.api_key,
        "base_url": fake.base_url,
        "email_template_id": fake.email_template_id,
        "sms_template_id": fake.sms_template_id,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return NotifyChannel(**values)  # type: ignore[arg-type]


def email(message_id: str | None = None, to: str = HARRIET) -> OutgoingMessage:
    return OutgoingMessage(
        id=message_id or str(uuid.uuid4()),
        medium=Medium.email,
        to=to,
        subject="Ofsted ILACS inspection: week 1 starts Monday",
        body="Ofsted called at 10:05. Please acknowledge: https://iw.example.org/a/abc",
    )


def sms(
    message_id: str | None = None, to: str = TOMASZ_MOBILE, body: str | None = None
) -> OutgoingMessage:
    return OutgoingMessage(
        id=message_id or str(uuid.uuid4()),
        medium=Medium.sms,
        to=to,
        subject="",
        body=body or "Ofsted inspection notified. Reply ACK or open https://iw.example.org/a/abc",
    )


def api_requests(fake: FakeNotify) -> list:
    return [r for r in fake.requests() if r.path.startswith("/v2/")]


# --- API key and token ----------------------------------------------------------------------------


def test_parse_api_key_takes_service_id_and_secret_from_the_end():
    service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    assert parse_api_key(f"council-live-key-2026-{service_id}-{secret}") == (service_id, secret)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "just-a-name",
        f"{uuid.uuid4()}-{uuid.uuid4()}",  # no key name
        f"name-{uuid.uuid4()}-not-a-uuid-at-all-0000000000000000",
        f"name-{uuid.uuid4()}",
    ],
)
def test_parse_api_key_names_the_setting_when_malformed(key):
    with pytest.raises(ValueError, match="NOTIFY_API_KEY"):
        parse_api_key(key)


def test_make_jwt_signs_iss_and_iat_with_hs256():
    secret = str(uuid.uuid4())
    token = make_jwt("5c1f0b9e-8a47-4d6e-b2c3-7e9d1a0f4b21", secret, 1_795_000_123.9)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"iss": "5c1f0b9e-8a47-4d6e-b2c3-7e9d1a0f4b21", "iat": 1_795_000_123}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, str(uuid.uuid4()), algorithms=["HS256"])


# --- sending --------------------------------------------------------------------------------------


async def test_email_goes_to_the_email_endpoint_with_subject_and_body_as_personalisation(
    fake_notify,
):
    message = email()
    async with channel_for(fake_notify) as channel:
        accepted = await channel.send(message)

    [request] = api_requests(fake_notify)
    assert (request.method, request.path) == ("POST", "/v2/notifications/email")
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "email_address": HARRIET,
        "template_id": fake_notify.email_template_id,
        "personalisation": {"subject": message.subject, "body": message.body},
        "reference": message.id,
    }
    [notification] = fake_notify.notifications()
    assert accepted.provider_id == notification.id
    assert accepted.detail["reference"] == message.id
    assert notification.api["subject"] == message.subject
    assert notification.api["body"] == message.body


async def test_sms_goes_to_the_sms_endpoint_with_body_as_personalisation(fake_notify):
    message = sms()
    async with channel_for(fake_notify) as channel:
        accepted = await channel.send(message)

    [request] = api_requests(fake_notify)
    assert (request.method, request.path) == ("POST", "/v2/notifications/sms")
    assert request.body == {
        "phone_number": TOMASZ_MOBILE,
        "template_id": fake_notify.sms_template_id,
        "personalisation": {"body": message.body},
        "reference": message.id,
    }
    [notification] = fake_notify.notifications()
    assert accepted.provider_id == notification.id
    assert notification.reference == message.id
    assert notification.api["body"] == message.body
    assert notification.normalised_to == "447700900123"


async def test_every_request_carries_a_token_made_at_that_moment(fake_notify):
    moments = iter([time.time() - 20, time.time() - 5, time.time()])
    async with channel_for(fake_notify, clock=lambda: next(moments)) as channel:
        await channel.send(email())
        await channel.send(sms())
        await channel.find_by_reference("anything")

    requests = api_requests(fake_notify)
    assert [r.status for r in requests] == [201, 201, 200]
    iats = []
    for request in requests:
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = jwt.decode(
            token, fake_notify.secret, algorithms=["HS256"], options={"verify_iat": False}
        )
        assert claims["iss"] == fake_notify.service_id
        iats.append(claims["iat"])
    assert len(set(iats)) == 3
    assert iats == sorted(iats)


async def test_one_kept_alive_connection_serves_consecutive_sends(fake_notify):
    async with channel_for(fake_notify) as channel:
        for _ in range(5):
            await channel.send(sms())

    clients = {r.client for r in api_requests(fake_notify)}
    assert len(clients) == 1


async def test_sms_of_uk_mobiles_written_many_ways_are_accepted(fake_notify):
    numbers = ["07700 900123", "+44 7700 900123", "0044 (0)7700-900123", "+447700900999"]
    async with channel_for(fake_notify) as channel:
        for number in numbers:
            await channel.send(sms(to=number))

    assert [n.normalised_to for n in fake_notify.notifications()] == [
        "447700900123",
        "447700900123",
        "447700900123",
        "447700900999",
    ]


# --- errors ---------------------------------------------------------------------------------------


async def test_rate_limit_is_retryable_and_notify_names_no_delay(fake_notify):
    """At 6 requests a minute Notify's bucket lets 2 through at once; its 429 names no delay."""
    fake_notify.configure(rate_limit_per_minute=6)
    async with channel_for(fake_notify, clock=fake_notify.now) as channel:
        await channel.send(sms())
        await channel.send(sms())
        with pytest.raises(RetryableError) as raised:
            await channel.send(sms())
        fake_notify.advance_clock(60)
        accepted = await channel.send(sms())

    assert type(raised.value) is ProviderUnavailable
    assert raised.value.retry_after is None
    assert "RateLimitError" in raised.value.message
    assert "of 6 requests per 60 seconds" in raised.value.message
    assert accepted.provider_id is not None


async def test_rate_limit_without_retry_after_leaves_the_delay_to_the_dispatcher(fake_notify):
    fake_notify.rate_limit()
    async with channel_for(fake_notify) as channel:
        with pytest.raises(RetryableError) as raised:
            await channel.send(email())
    assert raised.value.retry_after is None


async def test_daily_limit_is_a_daily_limit_error(fake_notify):
    fake_notify.daily_limit()
    async with channel_for(fake_notify) as channel:
        with pytest.raises(DailyLimitError) as raised:
            await channel.send(sms())
    assert "TooManyRequestsError" in raised.value.message
    assert fake_notify.notifications() == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retryable(fake_notify, status):
    fake_notify.server_error(times=2, status=status)
    async with channel_for(fake_notify) as channel:
        for _ in range(2):
            with pytest.raises(RetryableError) as raised:
                await channel.send(email())
            assert type(raised.value) is ProviderUnavailable
            assert raised.value.retry_after is None  # Notify sends no Retry-After
            assert str(status) in raised.value.message
        await channel.send(email())
    assert len(fake_notify.notifications()) == 1


async def test_a_timeout_is_retryable_and_the_reference_then_shows_whether_it_was_accepted(
    fake_notify,
):
    message = sms()
    fake_notify.slow(times=1, delay=1.0)
    async with channel_for(fake_notify, timeout_seconds=0.2) as channel:
        with pytest.raises(RetryableError) as raised:
            await channel.send(message)
        assert "reference" in raised.value.message
        assert fake_notify.wait_for(lambda f: len(f.by_reference(message.id)) == 1)
        found = await channel.find_by_reference(message.id)

    assert found is not None
    assert found["id"] == fake_notify.by_reference(message.id)[0].id


async def test_a_refused_connection_is_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the send: nobody listens there
    api_key = f"test-{uuid.uuid4()}-{uuid.uuid4()}"
    async with NotifyChannel(
        api_key=api_key, base_url=f"http://127.0.0.1:{port}", sms_template_id=str(uuid.uuid4())
    ) as channel:
        with pytest.raises(RetryableError) as raised:
            await channel.send(sms())
    assert "could not be reached" in raised.value.message


@pytest.mark.parametrize(
    ("number", "notify_says"),
    [
        ("077234", "phone_number Not enough digits"),
        ("+4477009001234", "phone_number Too many digits"),
        ("0207 946 0000", "InvalidPhoneError: Not a UK mobile number"),
        ("07700 9001x3", "phone_number Must not contain letters or symbols"),
        ("07600 123456", "phone_number Number is not valid – double check the phone number"),
    ],
)
async def test_an_invalid_mobile_number_is_permanent(fake_notify, number, notify_says):
    async with channel_for(fake_notify) as channel:
        with pytest.raises(PermanentError) as raised:
            await channel.send(sms(to=number))
    assert notify_says in raised.value.message
    assert fake_notify.notifications() == []


@pytest.mark.parametrize(
    "address", ["harriet.oyelaran", "with(brackets)@example.org", "a..b@example.org", "x@example"]
)
async def test_an_invalid_email_address_is_permanent(fake_notify, address):
    async with channel_for(fake_notify) as channel:
        with pytest.raises(PermanentError) as raised:
            await channel.send(email(to=address))
    assert "email_address Not a valid email address" in raised.value.message


async def test_a_refused_recipient_is_permanent_and_never_logged_in_full(fake_notify):
    fake_notify.reject_number("07700 900456")
    with capture_logs() as logs:
        async with channel_for(fake_notify) as channel:
            with pytest.raises(PermanentError) as raised:
                await channel.send(sms(to="+447700900456"))
            await channel.send(sms(to=TOMASZ_MOBILE))

    text = json.dumps(logs, default=str, ensure_ascii=False) + raised.value.message
    assert "7700900456" not in text and "7700900123" not in text
    assert mask_recipient("+447700900456") in text
    assert [e["event"] for e in logs] == ["notify_refused", "notify_accepted"]


async def test_an_international_number_is_the_services_settings_not_a_permanent_failure(
    fake_notify,
):
    """validators.py: a BadRequestError "Cannot send to international mobile numbers" when the
    service may not text abroad. Every such number would fail alike until the permission (or the
    contact) changes: retried slowly, never counted as one person's permanent failure."""
    async with channel_for(fake_notify) as channel:
        with pytest.raises(ProviderConfigurationError) as raised:
            await channel.send(sms(to="+33 6 12 34 56 78"))
    assert "Cannot send to international mobile numbers" in raised.value.message
    fake_notify.configure(permissions={"email", "sms", "international_sms"})
    async with channel_for(fake_notify) as channel:
        await channel.send(sms(to="+33 6 12 34 56 78"))


@pytest.mark.parametrize(
    ("error", "message", "kind"),
    [
        ("ValidationError", "Template personalisation is not allowed here", PermanentError),
        ("InvalidPhoneError", "trial mode team-only api key", PermanentError),
        ("BadRequestError", "phone_number Not a UK mobile number", ProviderConfigurationError),
        ("BadRequestError", "something new Notify says", ProviderConfigurationError),
    ],
)
async def test_errors_are_classified_by_notifys_error_type_not_its_words(
    fake_notify, error, message, kind
):
    fake_notify.reject_recipient("07700 900456", message=message, error=error)
    async with channel_for(fake_notify) as channel:
        with pytest.raises(ChannelError) as raised:
            await channel.send(sms(to="07700 900456"))
    assert type(raised.value) is kind


async def test_a_wrong_secret_is_a_configuration_error_that_names_the_setting(fake_notify):
    wrong_key = f"{fake_notify.key_name}-{fake_notify.service_id}-{uuid.uuid4()}"
    async with channel_for(fake_notify, api_key=wrong_key) as channel:
        with pytest.raises(ProviderConfigurationError) as raised:
            await channel.send(email())
    assert isinstance(raised.value, RetryableError)
    assert raised.value.retry_after == 300
    assert "Invalid token: API key not found" in raised.value.message
    assert "NOTIFY_API_KEY" in raised.value.message
    assert api_requests(fake_notify)[0].status == 403


async def test_a_server_clock_45_seconds_ahead_is_a_configuration_error_about_the_clock(
    fake_notify,
):
    fake_notify.set_clock_offset(45)
    async with channel_for(fake_notify) as channel:
        with pytest.raises(ProviderConfigurationError) as raised:
            await channel.send(sms())
    assert CLOCK_MESSAGE in raised.value.message
    assert "clock" in raised.value.message.split(CLOCK_MESSAGE)[1]


async def test_a_template_id_unknown_to_notify_is_a_configuration_error(fake_notify):
    async with channel_for(fake_notify, sms_template_id=str(uuid.uuid4())) as channel:
        with pytest.raises(ProviderConfigurationError) as raised:
            await channel.send(sms())
    assert "Template not found" in raised.value.message
    assert "NOTIFY_SMS_TEMPLATE_ID" in raised.value.message


async def test_a_template_expecting_other_placeholders_is_a_configuration_error(fake_notify):
    template_id = fake_notify.add_template(
        "email", "Dear ((name)), ((body))", subject="((subject))"
    )
    async with channel_for(fake_notify, email_template_id=template_id) as channel:
        with pytest.raises(ProviderConfigurationError) as raised:
            await channel.send(email())
    assert "Missing personalisation: name" in raised.value.message


async def test_an_sms_over_918_characters_is_refused_before_any_request(fake_notify):
    async with channel_for(fake_notify) as channel:
        with pytest.raises(PermanentError, match="919 characters"):
            await channel.send(sms(body="x" * 919))
    assert api_requests(fake_notify) == []


async def test_a_medium_without_a_template_is_a_configuration_error(fake_notify):
    async with channel_for(fake_notify, sms_template_id=None) as channel:
        assert channel.media == frozenset({Medium.email})
        with pytest.raises(ProviderConfigurationError, match="NOTIFY_SMS_TEMPLATE_ID"):
            await channel.send(sms())


# --- looking messages up --------------------------------------------------------------------------


async def test_find_by_reference_returns_the_latest_accepted_or_none(fake_notify):
    message = sms()
    async with channel_for(fake_notify) as channel:
        assert await channel.find_by_reference(message.id) is None
        first = await channel.send(message)
        await channel.send(sms())  # another reference
        second = await channel.send(message)  # a resend under the same reference
        found = await channel.find_by_reference(message.id)

    assert found is not None
    assert found["id"] == second.provider_id != first.provider_id
    assert found["reference"] == message.id
    assert found["status"] == "created"


async def test_get_notification_follows_its_status(fake_notify):
    async with channel_for(fake_notify) as channel:
        accepted = await channel.send(email())
        assert accepted.provider_id is not None
        fake_notify.set_status(accepted.provider_id, "delivered")
        record = await channel.get_notification(accepted.provider_id)
        assert await channel.get_notification(str(uuid.uuid4())) is None

    assert record is not None
    assert record["status"] == "delivered"
    assert record["completed_at"] is not None


# --- settings -------------------------------------------------------------------------------------


async def test_as_many_requests_are_under_way_at_once_as_messages_may_be_in_flight(fake_notify):
    """While Notify is slow to answer, the connection pool is no second, smaller limit than
    DISPATCH_CONCURRENCY: every message the dispatcher has in flight is a request under way."""
    settings = make_settings(
        sms_channel="govuk_notify",
        notify_api_key=fake_notify.api_key,
        notify_base_url=fake_notify.base_url,
        notify_sms_template_id=fake_notify.sms_template_id,
        dispatch_concurrency=30,
    )
    fake_notify.slow(times=30, delay=1.5)
    async with NotifyChannel.from_settings(settings) as channel, anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(channel.send, sms())
        under_way = await anyio.to_thread.run_sync(
            lambda: fake_notify.wait_for(lambda f: f.in_flight() == 30, timeout=10.0)
        )
    assert under_way
    assert len(fake_notify.notifications()) == 30


async def test_from_settings_uses_key_url_templates_and_timeout(fake_notify):
    settings = make_settings(
        email_channel="govuk_notify",
        sms_channel="govuk_notify",
        notify_api_key=fake_notify.api_key,
        notify_base_url=fake_notify.base_url + "/",
        notify_email_template_id=fake_notify.email_template_id,
        notify_sms_template_id=fake_notify.sms_template_id,
        notify_timeout_seconds=0.3,
    )
    fake_notify.slow(delay=1.0)
    async with NotifyChannel.from_settings(settings) as channel:
        assert channel.name == "govuk_notify"
        assert channel.media == frozenset({Medium.email, Medium.sms})
        with pytest.raises(RetryableError):
            await channel.send(sms())  # the slow one: 0.3 s is the limit
        await channel.send(email())
    assert [r.path for r in api_requests(fake_notify)] == [
        "/v2/notifications/sms",
        "/v2/notifications/email",
    ]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"sms_channel": "govuk_notify"}, "NOTIFY_API_KEY"),
        (
            {"sms_channel": "govuk_notify", "notify_api_key": f"k-{uuid.uuid4()}-{uuid.uuid4()}"},
            "NOTIFY_SMS_TEMPLATE_ID",
        ),
        (
            {
                "email_channel": "govuk_notify",
                "notify_api_key": f"k-{uuid.uuid4()}-{uuid.uuid4()}",
                "notify_sms_template_id": str(uuid.uuid4()),
            },
            "NOTIFY_EMAIL_TEMPLATE_ID",
        ),
        (
            {
                "notify_api_key": f"k-{uuid.uuid4()}-{uuid.uuid4()}",
                "notify_sms_template_id": "sms-tpl",
            },
            "NOTIFY_SMS_TEMPLATE_ID",
        ),
        (
            {"notify_api_key": "not-a-notify-key", "notify_sms_template_id": str(uuid.uuid4())},
            "NOTIFY_API_KEY",
        ),
        (
            {
                "email_channel": "govuk_notify",
                "notify_api_key": f"k-{uuid.uuid4()}-{uuid.uuid4()}",
                "notify_email_template_id": str(uuid.uuid4()),
                "mail_reply_to": "inspection.team@example.org",
            },
            "NOTIFY_EMAIL_REPLY_TO_ID",
        ),
        (
            {
                "email_channel": "govuk_notify",
                "notify_api_key": f"k-{uuid.uuid4()}-{uuid.uuid4()}",
                "notify_email_template_id": str(uuid.uuid4()),
                "notify_email_reply_to_id": "inspection.team@example.org",
            },
            "NOTIFY_EMAIL_REPLY_TO_ID",
        ),
    ],
)
def test_from_settings_names_the_missing_or_malformed_setting(values, named):
    with pytest.raises(ValueError, match=named):
        NotifyChannel.from_settings(make_settings(**values))


async def test_mail_reply_to_goes_to_notify_as_its_reply_to_id(fake_notify):
    """Notify sends replies to a reply-to address set up on its settings page, named by id."""
    reply_to_id = fake_notify.add_reply_to()
    settings = make_settings(
        email_channel="govuk_notify",
        notify_api_key=fake_notify.api_key,
        notify_base_url=fake_notify.base_url,
        notify_email_template_id=fake_notify.email_template_id,
        mail_reply_to="inspection.team@example.org",
        notify_email_reply_to_id=reply_to_id,
    )
    async with NotifyChannel.from_settings(settings) as channel:
        await channel.send(email())
    assert fake_notify.notifications()[0].request_body["email_reply_to_id"] == reply_to_id


# --- callbacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify_status", "ours", "final", "worth_resending"),
    [
        ("created", "sent", False, False),
        ("sending", "sent", False, False),
        ("pending", "sent", False, False),
        ("sent", "sent", True, False),
        ("delivered", "delivered", True, False),
        ("permanent-failure", "failed", True, False),
        ("temporary-failure", "failed", True, True),
        ("technical-failure", "failed", True, True),
    ],
)
async def test_delivery_receipts_map_notifys_statuses_to_ours(
    fake_notify, notify_status, ours, final, worth_resending
):
    message = email()
    async with channel_for(fake_notify) as channel:
        accepted = await channel.send(message)
    assert accepted.provider_id is not None
    body = fake_notify.set_status(accepted.provider_id, notify_status)
    # Notify POSTs receipts for these three only; the others are read from the record's fields
    assert (body is not None) is (notify_status in RECEIPT_STATUSES)
    body = body or fake_notify.receipt(accepted.provider_id)

    receipt = DeliveryReceipt.model_validate_json(json.dumps(body))
    assert receipt.id == accepted.provider_id
    assert receipt.reference == message.id
    assert receipt.notification_type == "email"
    assert receipt.our_status == ours == map_notify_status(notify_status)
    assert receipt.is_final is final
    assert receipt.worth_resending is worth_resending
    assert receipt.created_at.tzinfo is not None
    assert (receipt.completed_at is not None) is final
    assert HARRIET not in repr(receipt)


def test_a_receipt_with_a_status_notify_does_not_send_is_refused():
    body = {
        "id": str(uuid.uuid4()),
        "reference": "m-1",
        "to": HARRIET,
        "status": "virus-scan-failed",
        "created_at": "2026-11-18T09:47:10.123456Z",
        "completed_at": None,
        "sent_at": None,
        "notification_type": "email",
    }
    with pytest.raises(ValidationError):
        DeliveryReceipt.model_validate(body)
    with pytest.raises(ValueError, match="virus-scan-failed"):
        map_notify_status("virus-scan-failed")


def test_inbound_sms_gives_the_sender_in_e164_and_hides_it_in_repr(fake_notify):
    body = fake_notify.inbound_sms("07700 900123", "ACK 4821")
    assert body["source_number"] == "447700900123"

    inbound = InboundSms.model_validate_json(json.dumps(body))
    assert inbound.source_e164 == TOMASZ_MOBILE
    assert inbound.message == "ACK 4821"
    assert inbound.date_received.tzinfo is not None
    assert "900123" not in repr(inbound) and "4821" not in repr(inbound)


@pytest.mark.parametrize(
    ("source", "e164"),
    [
        ("447700900123", "+447700900123"),
        ("07700900123", "+447700900123"),
        ("+447700900123", "+447700900123"),
    ],
)
def test_inbound_sender_numbers_in_notifys_forms_become_e164(source, e164):
    inbound = InboundSms(
        id=str(uuid.uuid4()),
        source_number=source,
        destination_number="07700900000",
        message="ACK",
        date_received="2026-11-18T09:47:10.000000Z",
    )
    assert inbound.source_e164 == e164


def test_callback_token_must_match_exactly():
    assert callback_token_matches("Bearer cascade-callback-token-1", "cascade-callback-token-1")
    assert not callback_token_matches("Bearer cascade-callback-token-2", "cascade-callback-token-1")
    assert not callback_token_matches("Basic cascade-callback-token-1", "cascade-callback-token-1")
    assert not callback_token_matches(None, "cascade-callback-token-1")
    assert not callback_token_matches("Bearer ", "")


def test_mask_recipient_keeps_enough_to_tell_people_apart():
    assert mask_recipient("harriet.oyelaran@example.org") == "h***@example.org"
    assert mask_recipient("+447700900123") == "+44***123"


# --- the fake, checked against Notify's own client ------------------------------------------------


def test_official_client_is_accepted_by_the_fake_and_sends_what_we_send(fake_notify):
    """Notify's own Python client, pointed at the fake: both must be accepted, with the same JSON
    fields and the same token claims, or the fake (or we) have drifted from Notify."""
    official = NotificationsAPIClient(fake_notify.api_key, base_url=fake_notify.base_url)
    ours_email, ours_sms = email(), sms()
    official.send_email_notification(
        email_address=HARRIET,
        template_id=fake_notify.email_template_id,
        personalisation={"subject": ours_email.subject, "body": ours_email.body},
        reference=ours_email.id,
    )
    official.send_sms_notification(
        phone_number=TOMASZ_MOBILE,
        template_id=fake_notify.sms_template_id,
        personalisation={"body": ours_sms.body},
        reference=ours_sms.id,
    )

    async def send_ours() -> None:
        async with channel_for(fake_notify) as channel:
            await channel.send(ours_email)
            await channel.send(ours_sms)

    anyio.run(send_ours)

    requests = api_requests(fake_notify)
    assert [r.status for r in requests] == [201, 201, 201, 201]
    official_email, official_sms, our_email, our_sms = requests
    assert official_email.headers["user-agent"].startswith("NOTIFY-API-PYTHON-CLIENT")
    assert (our_email.path, our_email.body) == (official_email.path, official_email.body)
    assert (our_sms.path, our_sms.body) == (official_sms.path, official_sms.body)
    for theirs, mine in [(official_email, our_email), (official_sms, our_sms)]:
        assert mine.jwt_header == theirs.jwt_header
        assert set(mine.jwt_claims) == set(theirs.jwt_claims) == {"iss", "iat"}
        assert mine.jwt_claims["iss"] == theirs.jwt_claims["iss"]
        assert abs(mine.jwt_claims["iat"] - theirs.jwt_claims["iat"]) <= 5

    listed = official.get_all_notifications(reference=ours_sms.id)["notifications"]
    assert [n["reference"] for n in listed] == [ours_sms.id, ours_sms.id]
    one = official.get_notification_by_id(listed[0]["id"])
    assert one["phone_number"] == TOMASZ_MOBILE


def test_official_client_reads_the_fakes_errors(fake_notify):
    wrong = NotificationsAPIClient(
        f"{fake_notify.key_name}-{fake_notify.service_id}-{uuid.uuid4()}",
        base_url=fake_notify.base_url,
    )
    with pytest.raises(HTTPError) as raised:
        wrong.send_sms_notification(
            phone_number=TOMASZ_MOBILE, template_id=fake_notify.sms_template_id
        )
    assert raised.value.status_code == 403
    assert raised.value.message == [
        {"error": "AuthError", "message": "Invalid token: API key not found"}
    ]


def test_official_client_meets_notifys_limits_and_refusals_as_http_errors(fake_notify):
    """What Notify's own client raises for the fake's 429s and 400s: its HTTPError, with the
    status code and Notify's error list, and never a Retry-After to go on."""
    official = NotificationsAPIClient(fake_notify.api_key, base_url=fake_notify.base_url)
    team = NotificationsAPIClient(fake_notify.add_api_key("team"), base_url=fake_notify.base_url)

    def text(client: NotificationsAPIClient, number: str = TOMASZ_MOBILE) -> dict:
        return client.send_sms_notification(
            phone_number=number,
            template_id=fake_notify.sms_template_id,
            personalisation={"body": "Ofsted inspection notified."},
        )

    fake_notify.rate_limit()
    fake_notify.daily_limit()
    refusals = []
    for client, number in [
        (official, TOMASZ_MOBILE),
        (official, TOMASZ_MOBILE),
        (team, TOMASZ_MOBILE),
        (official, "07600 123456"),
    ]:
        with pytest.raises(HTTPError) as raised:
            text(client, number)
        assert "retry-after" not in {h.lower() for h in raised.value.response.headers}
        refusals.append((raised.value.status_code, raised.value.message))

    assert refusals == [
        (
            429,
            [
                {
                    "error": "RateLimitError",
                    "message": "Exceeded rate limit for key type LIVE of 3000 requests per 60 "
                    "seconds",
                }
            ],
        ),
        (
            429,
            [
                {
                    "error": "TooManyRequestsError",
                    "message": "Exceeded send limits (sms: 250000) for today",
                }
            ],
        ),
        (
            400,
            [
                {
                    "error": "BadRequestError",
                    "message": "Can’t send to this recipient using a team-only API key",
                }
            ],
        ),
        (
            400,
            [
                {
                    "error": "ValidationError",
                    "message": "phone_number Number is not valid – double check the phone "
                    "number you entered",
                }
            ],
        ),
    ]
    smoke = text(official, "07700 900111")
    with pytest.raises(HTTPError) as not_stored:
        official.get_notification_by_id(smoke["id"])
    assert not_stored.value.status_code == 404
    assert fake_notify.notifications() == []


def test_a_channel_closed_at_the_end_of_one_event_loop_sends_again_from_another(fake_notify):
    """A session's connections belong to the loop that opened them; `aclose()` before that loop
    ends closes them, and a later loop (a CLI command after another) opens its own."""
    channel = channel_for(fake_notify)

    async def send_and_close() -> None:
        await channel.send(sms())
        await channel.aclose()

    asyncio.run(send_and_close())
    asyncio.run(send_and_close())
    assert len(fake_notify.notifications()) == 2


@contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A plain HTTP server on loopback, not Notify, for what only a non-Notify answer shows."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _HugeAnswer(http.server.BaseHTTPRequestHandler):
    """Not Notify: a proxy answering 400 with 40 MB of HTML, chunked, counting what it wrote."""

    written = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(400)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        try:
            for _ in range(640):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                type(self).written += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


async def test_a_huge_answer_is_read_only_up_to_the_bound_and_still_classified():
    """An answer far larger than any of Notify's is cut off at MAX_ANSWER_BYTES rather than held
    in memory: the server manages to write only that and what the sockets buffer."""
    with _serving(_HugeAnswer) as base_url:
        async with NotifyChannel(
            api_key=f"test-{uuid.uuid4()}-{uuid.uuid4()}",
            base_url=base_url,
            sms_template_id=str(uuid.uuid4()),
        ) as channel:
            with pytest.raises(ProviderConfigurationError) as raised:
                await channel.send(sms())
        assert "400" in raised.value.message and len(raised.value.message) < 1000
        time.sleep(0.5)  # the handler sees the closed connection
        assert _HugeAnswer.written < 40 * 1024 * 1024 // 2
        assert _HugeAnswer.written >= MAX_ANSWER_BYTES


class _Proxy(http.server.BaseHTTPRequestHandler):
    """An outgoing web proxy, as a council's network may require: it sees the absolute address
    of each request and answers as Notify would."""

    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(self.path)
        body = json.dumps({"id": str(uuid.uuid4()), "reference": sent["reference"]}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


async def test_requests_go_through_the_proxy_the_environment_names(monkeypatch):
    """HTTP(S)_PROXY is honoured, as by any HTTP client a council's network team would expect."""
    with _serving(_Proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with NotifyChannel(
            api_key=f"test-{uuid.uuid4()}-{uuid.uuid4()}",
            base_url="http://notify.example.invalid",
            sms_template_id=str(uuid.uuid4()),
        ) as channel:
            accepted = await channel.send(sms())
        assert accepted.provider_id
        assert _Proxy.seen == ["http://notify.example.invalid/v2/notifications/sms"]


async def test_no_proxy_naming_notifys_host_sends_straight_to_it(fake_notify, monkeypatch):
    """The environment is read once, when the session is made, as aiohttp reads it."""
    with _serving(_Proxy) as proxy_url:
        _Proxy.seen = []
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with channel_for(fake_notify) as channel:
            await channel.send(sms("m-1"))
            await channel.send(sms("m-2"))
    assert _Proxy.seen == []
    assert [r.body["reference"] for r in api_requests(fake_notify)] == ["m-1", "m-2"]


async def test_a_netrc_entry_for_notifys_host_does_not_break_its_requests(
    fake_notify, monkeypatch, tmp_path
):
    """aiohttp's `trust_env` also read ~/.netrc: a login there for Notify's host made it refuse
    every request (ValueError: an Authorization header and a login together)."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-for-notify\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    async with channel_for(fake_notify) as channel:
        accepted = await channel.send(sms())
    [request] = api_requests(fake_notify)
    assert request.headers["authorization"].startswith("Bearer ")
    assert accepted.provider_id == fake_notify.notifications()[0].id
