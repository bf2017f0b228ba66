"""The fake GOV.UK Notify (tests/notify/fake_notify/) checked against the Notify it copies: one test
per behaviour, each naming the code or page it follows. A fake kinder than Notify would hide the
failures that matter, so these pin its limits and its silences as much as its successes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from service.notify.channels.base import Medium, OutgoingMessage, RetryableError
from service.notify.channels.govuk_notify import NotifyChannel, make_jwt
from tests.notify.fake_notify import (
    CLOCK_MESSAGE,
    FakeNotify,
    FakeNotifyControl,
    measure_ceiling,
)
from tests.notify.fake_notify.ceiling import measure_ceiling_processes

pytestmark = pytest.mark.anyio

MOBILE = "07700 900123"
ADDRESS = "harriet.oyelaran@example.org"


def send(
    fake: FakeNotify,
    to: str = MOBILE,
    *,
    api_key: str | None = None,
    reference: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """POST one notification with a token made on the fake's clock by `api_key`'s secret."""
    key = api_key or fake.api_key
    kind = "email" if "@" in to else "sms"
    token = make_jwt(key[-73:-37], key[-36:], fake.now())
    body: dict[str, Any] = {
        "email_address" if kind == "email" else "phone_number": to,
        "template_id": fake.email_template_id if kind == "email" else fake.sms_template_id,
        "personalisation": {"subject": "Ofsted called", "body": "Week 1 starts Monday"}
        if kind == "email"
        else {"body": "Ofsted inspection notified."},
        **extra,
    }
    if reference is not None:
        body["reference"] = reference
    return httpx.post(
        f"{fake.base_url}/v2/notifications/{kind}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def get(fake: FakeNotify, path: str, api_key: str | None = None, **params: str) -> httpx.Response:
    key = api_key or fake.api_key
    token = make_jwt(key[-73:-37], key[-36:], fake.now())
    return httpx.get(
        f"{fake.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e["error"], e["message"]) for e in response.json()["errors"]]


class CallbackReceiver:
    """A service's callback endpoint on loopback that answers with the statuses it is given."""

    def __init__(self, answers: list[int] | None = None):
        self.answers = list(answers or [])
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(
                    (dict(self.headers), json.loads(self.rfile.read(length) or b"null"))
                )
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify/receipts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def socket_nobody_listens_on() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}/notify/receipts"  # closed again: nobody listens there


@pytest.fixture
def receiver(fake_notify: FakeNotify) -> Iterator[CallbackReceiver]:
    """Receipts from the shared fake go here, with the bearer token "cb-token-4821"."""
    receiving = CallbackReceiver()
    fake_notify.set_delivery_callback(receiving.url, "cb-token-4821")
    yield receiving
    receiving.close()


@pytest.fixture
def quick_retries() -> Iterator[FakeNotify]:
    """A fake of its own whose callback retries come 50 ms apart instead of Notify's 300 s."""
    with FakeNotify(callback_retry_delay=0.05) as fake:
        yield fake


# --- tokens and keys (app/authentication/auth.py, notifications_python_client/authentication.py) --


def _post_sms_with_token(fake: FakeNotify, token: str | None) -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    return httpx.post(
        f"{fake.base_url}/v2/notifications/sms",
        json={
            "phone_number": "07700 900123",
            "template_id": fake.sms_template_id,
            "personalisation": {"body": "x"},
        },
        headers=headers,
    )


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-31, 403), (-29, 201), (29, 201), (32, 403)],
)
def test_tokens_are_accepted_only_within_30_seconds(fake_notify, offset, status):
    """notifications_python_client/authentication.py `validate_jwt_token` (__bound__ = 30)."""
    token = make_jwt(fake_notify.service_id, fake_notify.secret, time.time() + offset)
    response = _post_sms_with_token(fake_notify, f"Bearer {token}")
    assert response.status_code == status
    if status == 403:
        assert response.json() == {
            "status_code": 403,
            "errors": [{"error": "AuthError", "message": CLOCK_MESSAGE}],
        }


@pytest.mark.parametrize(
    ("authorization", "status", "message"),
    [
        (None, 401, "Unauthorized: authentication token must be provided"),
        ("Basic abc", 401, "Unauthorized: authentication bearer scheme must be used"),
        ("Bearer not-a-jwt", 403, "Invalid token: make sure your API token matches"),
        ("other-service", 403, "Invalid token: service not found"),
        ("no-iss", 403, "Invalid token: iss field not provided"),
        ("not-a-uuid", 403, "Invalid token: service id is not the right data type"),
    ],
)
def test_tokens_are_refused_in_notifys_words(fake_notify, authorization, status, message):
    """app/authentication/auth.py `requires_auth`, `_get_auth_token`, `_get_token_issuer`."""
    if authorization == "other-service":
        authorization = "Bearer " + make_jwt(str(uuid.uuid4()), fake_notify.secret, time.time())
    elif authorization == "no-iss":
        authorization = "Bearer " + jwt.encode(
            {"iat": int(time.time())}, fake_notify.secret, algorithm="HS256"
        )
    elif authorization == "not-a-uuid":
        authorization = "Bearer " + make_jwt("council", fake_notify.secret, time.time())
    response = _post_sms_with_token(fake_notify, authorization)
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error["error"] == "AuthError"
    assert error["message"].startswith(message)
    assert fake_notify.notifications() == []


def test_each_key_of_the_service_is_tried_and_a_revoked_one_is_refused(fake_notify):
    """auth.py `_decode_jwt_token`: every key's secret is tried; "API key revoked" only for the
    key that signed the token; keys are `{name}-{service id}-{secret}` (tech docs, "API keys")."""
    team_key = fake_notify.add_api_key("team", name="council-team-key")
    test_key = fake_notify.add_api_key("test")
    assert team_key.startswith(f"council-team-key-{fake_notify.service_id}-")

    assert send(fake_notify, api_key=test_key).status_code == 201
    fake_notify.revoke_api_key(test_key)
    revoked = send(fake_notify, api_key=test_key)
    unknown = send(fake_notify, api_key=f"x-{fake_notify.service_id}-{uuid.uuid4()}")

    assert (revoked.status_code, errors(revoked)) == (
        403,
        [("AuthError", "Invalid token: API key revoked")],
    )
    assert errors(unknown) == [("AuthError", "Invalid token: API key not found")]
    assert send(fake_notify).status_code == 201  # the live key still works


# --- the request (app/schema_validation/__init__.py, notification_schemas.py) ---------------------


def test_schema_errors_come_together_without_quotes(fake_notify):
    """`build_error_message` lists every error and takes the quotes out of jsonschema's words."""
    token = make_jwt(fake_notify.service_id, fake_notify.secret, time.time())
    response = httpx.post(
        f"{fake_notify.base_url}/v2/notifications/email",
        json={"template_id": "nope", "subject": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert {e["message"] for e in response.json()["errors"]} == {
        "email_address is a required property",
        "Additional properties are not allowed (subject was unexpected)",
        "template_id is not a valid UUID",
    }


def test_an_unknown_reply_to_id_is_refused(fake_notify):
    """validators.py `check_service_email_reply_to_id`."""
    unknown = str(uuid.uuid4())
    refused = send(fake_notify, ADDRESS, email_reply_to_id=unknown)
    known = send(fake_notify, ADDRESS, email_reply_to_id=fake_notify.add_reply_to())

    assert errors(refused) == [
        (
            "BadRequestError",
            f"email_reply_to_id {unknown} does not exist in database for service id "
            f"{fake_notify.service_id}",
        )
    ]
    assert known.status_code == 201


# --- phone numbers (notifications-utils recipient_validation/phone_number.py) --------------------


@pytest.mark.parametrize(
    ("number", "normalised"),
    [
        ("07700 900123", "447700900123"),
        ("+44 (0)7700-900123", "447700900123"),
        ("0044 7700 900123", "447700900123"),
        ("\u200b07723 456789\ufeff", "447723456789"),
        ("07797 292290", "447797292290"),  # Jersey: +44 but not GB, no permission needed
    ],
)
def test_uk_mobiles_are_accepted_and_normalised_as_libphonenumber_does(
    fake_notify, number, normalised
):
    """`PhoneNumber` parses with `phonenumbers` (region GB); `normalised_to` is E.164 less "+"."""
    assert send(fake_notify, number).status_code == 201
    assert fake_notify.notifications()[-1].normalised_to == normalised


@pytest.mark.parametrize(
    ("number", "error"),
    [
        (
            "07600 123456",  # a pager: libphonenumber's PAGER is not in ALLOW_LIST
            (
                "ValidationError",
                "phone_number Number is not valid – double check the phone number you entered",
            ),
        ),
        ("077234", ("ValidationError", "phone_number Not enough digits")),
        ("07723 456789 10", ("ValidationError", "phone_number Too many digits")),
        ("07700 9001x3", ("ValidationError", "phone_number Must not contain letters or symbols")),
        ("0207 946 0000", ("InvalidPhoneError", "Not a UK mobile number")),
        ("+33 6 12 34 56 78", ("BadRequestError", "Cannot send to international mobile numbers")),
    ],
)
def test_numbers_notify_will_not_text_are_refused_in_its_words(fake_notify, number, error):
    """errors.py LEGACY_V2_API_ERROR_MESSAGES; the schema allows landlines and other countries,
    then validators.py `validate_and_return_extended_phone_number_info` applies the service's
    permissions (InvalidPhoneError, or "Cannot send to international mobile numbers")."""
    response = send(fake_notify, number)
    assert (response.status_code, errors(response)) == (400, [error])
    assert fake_notify.notifications() == []


def test_landlines_and_other_countries_need_the_services_permission(fake_notify):
    """Service permissions `sms_to_uk_landlines` and `international_sms`; texts abroad also count
    against their own daily limit (DEFAULT_SERVICE_INTERNATIONAL_SMS_LIMIT = 100)."""
    fake_notify.configure(permissions={"sms", "email", "sms_to_uk_landlines", "international_sms"})
    assert send(fake_notify, "0207 946 0000").status_code == 201
    assert send(fake_notify, "+33 6 12 34 56 78").status_code == 201
    assert fake_notify.daily_count("international_sms") == 1

    fake_notify.configure(daily_limits={"international_sms": 1})
    refused = send(fake_notify, "+33 6 12 34 56 79")
    assert errors(refused) == [
        ("TooManyRequestsError", "Exceeded send limits (international_sms: 1) for today")
    ]


# --- limits (app/notifications/validators.py, notifications-utils redis_client.py) ----------------


def test_the_rate_limit_is_a_token_bucket_per_key_type_with_no_retry_after(fake_notify):
    """`token_bucket_rate_limit_exceeded`: bucket_max = ceil(limit / 3) + 1 tokens, refilled at
    limit / 60 a second, a request refused when fewer than 1 remains; one bucket per key type;
    app/v2/errors.py RateLimitError, and no Retry-After header."""
    fake_notify.configure(rate_limit_per_minute=30)  # 11 tokens: 10 requests at once
    team_key = fake_notify.add_api_key("team")
    fake_notify.configure(team=[MOBILE])
    answers = [send(fake_notify).status_code for _ in range(11)]
    refused = send(fake_notify)
    assert answers == [201] * 10 + [429]
    assert errors(refused) == [
        ("RateLimitError", "Exceeded rate limit for key type LIVE of 30 requests per 60 seconds")
    ]
    assert "retry-after" not in refused.headers
    assert send(fake_notify, api_key=team_key).status_code == 201  # a bucket of its own

    fake_notify.advance_clock(2)  # 30 a minute: one token back every 2 seconds
    assert send(fake_notify).status_code == 429  # refused requests cost a token too, down to -1
    fake_notify.advance_clock(6)  # from -1: three tokens back, one taken, one left
    assert send(fake_notify).status_code == 201


def test_only_sends_meet_the_limits(fake_notify):
    """`check_rate_limiting` is called by the POST handlers alone: a forced 429 waits for a send."""
    accepted = send(fake_notify, reference="ref-1")
    fake_notify.rate_limit()
    assert get(fake_notify, "/v2/notifications", reference="ref-1").status_code == 200
    assert get(fake_notify, f"/v2/notifications/{accepted.json()['id']}").status_code == 200
    assert send(fake_notify).status_code == 429
    assert fake_notify.pending_faults() == 0


def test_daily_limits_count_each_type_and_start_again_at_midnight_utc(fake_notify):
    """`check_service_over_daily_message_limit`: refused when one more would pass the limit,
    `TooManyRequestsError` "Exceeded send limits (sms: N) for today"; the count's key holds the
    UTC date (`daily_limit_cache_key`)."""
    fake_notify.set_clock(datetime(2026, 11, 18, 23, 59, 50, tzinfo=UTC))
    fake_notify.configure(daily_limits={"sms": 2, "email": 5})
    assert [send(fake_notify).status_code for _ in range(2)] == [201, 201]
    refused = send(fake_notify)
    assert (refused.status_code, errors(refused)) == (
        429,
        [("TooManyRequestsError", "Exceeded send limits (sms: 2) for today")],
    )
    assert "retry-after" not in refused.headers
    assert send(fake_notify, ADDRESS).status_code == 201  # e-mails have their own count

    fake_notify.advance_clock(15)  # 00:00:05 UTC the next day
    assert send(fake_notify).status_code == 201
    assert fake_notify.daily_count("sms") == 1


def test_test_keys_are_counted_apart_and_a_trial_service_has_50_a_day(fake_notify):
    """Tech docs, "API keys": test-key messages do not count against the allowance (counted under
    their own key here); config DEFAULT_SERVICE_LIMIT = 50 for a service in trial mode."""
    fake_notify.configure(trial_mode=True, team=[MOBILE])
    assert fake_notify.settings.daily_limits["sms"] == 50
    test_key = fake_notify.add_api_key("test")
    fake_notify.configure(daily_limits={"sms": 1})
    assert send(fake_notify).status_code == 201
    assert send(fake_notify).status_code == 429
    assert send(fake_notify, "07700 900456", api_key=test_key).status_code == 201
    assert (fake_notify.daily_count("sms"), fake_notify.daily_count("sms", "test")) == (1, 1)


# --- who can be sent to (validators.py `service_can_send_to_recipient`, service/utils.py) --------


def test_team_keys_and_trial_mode_send_only_to_the_team_and_guest_list(fake_notify):
    """A team key, or a live key while the service is in trial mode, sends only to team members
    and the guest list, compared as `format_recipient` formats them."""
    team_key = fake_notify.add_api_key("team")
    fake_notify.configure(team=["+447700900123"], guest_list=["Harriet.Oyelaran@example.org"])

    assert send(fake_notify, "07700 900123", api_key=team_key).status_code == 201
    assert send(fake_notify, ADDRESS, api_key=team_key).status_code == 201
    outsider = send(fake_notify, "07700 900456", api_key=team_key)
    assert errors(outsider) == [
        ("BadRequestError", "Can’t send to this recipient using a team-only API key")
    ]
    assert send(fake_notify, "07700 900456").status_code == 201  # a live service's live key

    fake_notify.configure(trial_mode=True)
    trial = send(fake_notify, "07700 900456")
    assert errors(trial) == [
        (
            "BadRequestError",
            "Can’t send to this recipient when service is in trial mode – see "
            "https://www.notifications.service.gov.uk/trial-mode",
        )
    ]


@pytest.mark.parametrize(
    "recipient",
    [
        "07700 900000",
        "+447700900111",
        "07700900222",
        "simulate-delivered-2@notifications.service.gov.uk",
    ],
)
def test_smoke_test_recipients_are_answered_and_never_stored(fake_notify, receiver, recipient):
    """config.py SIMULATED_SMS_NUMBERS / SIMULATED_EMAIL_ADDRESSES; `persist_notification(...,
    simulated=True)` stores nothing, so no receipt and nothing found by id or reference."""
    response = send(fake_notify, recipient, reference="smoke-1")
    assert response.status_code == 201
    notification_id = response.json()["id"]

    assert get(fake_notify, f"/v2/notifications/{notification_id}").status_code == 404
    assert get(fake_notify, "/v2/notifications", reference="smoke-1").json()["notifications"] == []
    assert fake_notify.notifications() == []
    assert [s["id"] for s in fake_notify.simulated()] == [notification_id]
    assert fake_notify.daily_count("sms") == fake_notify.daily_count("email") == 0
    time.sleep(0.2)
    assert receiver.received == []


@pytest.mark.parametrize(
    ("recipient", "status"),
    [
        ("07700900003", "temporary-failure"),
        ("+447700900002", "permanent-failure"),
        ("07700 900456", "delivered"),
        ("temp-fail@simulator.notify", "temporary-failure"),
        ("perm-fail@simulator.notify", "permanent-failure"),
        (ADDRESS, "delivered"),
    ],
)
def test_test_key_messages_end_as_their_recipient_says(fake_notify, receiver, recipient, status):
    """research_mode_tasks.py (and the tech docs' "API keys" table): a test key's message is
    never sent; it ends as delivered, or as the failure its recipient stands for, with a receipt."""
    test_key = fake_notify.add_api_key("test")
    response = send(fake_notify, recipient, api_key=test_key)
    assert response.status_code == 201
    assert fake_notify.wait_for(lambda _: len(receiver.received) == 1)

    record = get(fake_notify, f"/v2/notifications/{response.json()['id']}").json()
    assert record["status"] == status
    assert receiver.received[0][1]["status"] == status


def test_lists_show_only_what_keys_of_the_callers_type_sent(fake_notify):
    """get_notifications.py passes `key_type=api_user.key_type`; by id there is no such filter."""
    test_key = fake_notify.add_api_key("test")
    live = send(fake_notify, reference="both").json()["id"]
    test = send(fake_notify, api_key=test_key, reference="both").json()["id"]

    listed = get(fake_notify, "/v2/notifications", reference="both").json()["notifications"]
    listed_by_test = get(fake_notify, "/v2/notifications", api_key=test_key, reference="both")
    assert [n["id"] for n in listed] == [live]
    assert [n["id"] for n in listed_by_test.json()["notifications"]] == [test]
    assert get(fake_notify, f"/v2/notifications/{test}").status_code == 200


# --- receipts (service_callback_tasks.py, nightly_tasks.py) --------------------------------------


def test_receipts_are_posted_only_for_delivered_and_the_two_failures(fake_notify, receiver):
    """`send_delivery_status_to_service`: exactly its ten fields, with the service's bearer token;
    none for `sending`, `pending`, `sent` or `technical-failure` (callbacks.RECEIPT_STATUSES)."""
    ids = [send(fake_notify, reference=f"m-{n}").json()["id"] for n in range(6)]
    silent = ["sending", "pending", "sent", "technical-failure"]
    for notification_id, status in zip(ids, silent, strict=False):
        assert fake_notify.set_status(notification_id, status) is None
    body = fake_notify.set_status(ids[4], "delivered")
    fake_notify.set_status(ids[5], "permanent-failure")

    assert fake_notify.wait_for(lambda _: len(receiver.received) == 2)
    time.sleep(0.1)
    assert [b["status"] for _, b in receiver.received] == ["delivered", "permanent-failure"]
    headers, posted = receiver.received[0]
    assert posted == body
    assert headers["Authorization"] == "Bearer cb-token-4821"
    assert headers["Content-Type"] == "application/json"
    assert set(posted) == {
        "id",
        "reference",
        "to",
        "status",
        "created_at",
        "completed_at",
        "sent_at",
        "notification_type",
        "template_id",
        "template_version",
    }
    assert (posted["id"], posted["reference"], posted["to"]) == (ids[4], "m-4", MOBILE)
    assert posted["completed_at"] is not None and posted["sent_at"] is not None


def test_a_message_left_unanswered_times_out_72_hours_later_with_a_receipt(fake_notify, receiver):
    """nightly_tasks.py `timeout_notifications` (00:05 each night) moves what was created more than
    SENDING_NOTIFICATIONS_TIMEOUT_PERIOD (259,200 s) before to temporary-failure, and queues its
    receipt; one that got a final status is left alone."""
    fake_notify.set_clock(datetime(2026, 11, 16, 9, 30, tzinfo=UTC))
    waiting = send(fake_notify).json()["id"]
    answered = send(fake_notify).json()["id"]
    fake_notify.set_status(answered, "delivered")

    fake_notify.advance_clock(timedelta(hours=72).total_seconds())
    assert fake_notify.notification(waiting).status == "created"  # the 00:05 run is still ahead
    fake_notify.advance_clock(timedelta(hours=15).total_seconds())

    timed_out = fake_notify.notification(waiting).api
    assert timed_out["status"] == "temporary-failure"
    assert timed_out["completed_at"] == "2026-11-20T00:05:00.000000Z"
    assert fake_notify.wait_for(lambda _: len(receiver.received) == 2)
    assert [(b["id"], b["status"]) for _, b in receiver.received] == [
        (answered, "delivered"),
        (waiting, "temporary-failure"),
    ]


@pytest.mark.parametrize(
    ("answers", "attempts"),
    [([500, 502, 200], 3), ([429, 200], 2), ([400], 1), ([404], 1), ([503] * 6, 6)],
)
def test_callbacks_are_retried_only_after_a_5xx_or_429_five_times_at_most(
    quick_retries, answers, attempts
):
    """`_send_data_to_service_callback_api`: retried when `not isinstance(e, HTTPError) or
    status >= 500 or status == 429`, never after another 4xx; `max_retries=5` (the first try and
    five more), `default_retry_delay=300` seconds (50 ms here)."""
    receiving = CallbackReceiver(answers)
    quick_retries.set_delivery_callback(receiving.url, "cb-token-4821")
    try:
        notification_id = send(quick_retries).json()["id"]
        quick_retries.set_status(notification_id, "delivered")
        assert quick_retries.wait_for(lambda f: len(f.callback_attempts()) == attempts)
        time.sleep(0.2)
        made = quick_retries.callback_attempts()
    finally:
        receiving.close()
    assert [a.attempt for a in made] == list(range(attempts))
    assert [a.status for a in made] == answers[:attempts]
    assert [a.retried for a in made] == [True] * (attempts - 1) + [False]


def test_a_callback_url_that_does_not_answer_is_retried(quick_retries):
    """A network error is a `requests.RequestException` that is not an HTTPError: retried."""
    with socket_nobody_listens_on() as url:
        quick_retries.set_delivery_callback(url, "cb-token-4821")
        notification_id = send(quick_retries).json()["id"]
        quick_retries.set_status(notification_id, "temporary-failure")
        assert quick_retries.wait_for(lambda f: len(f.callback_attempts()) == 6)
    made = quick_retries.callback_attempts()
    assert all(a.status is None and a.error for a in made)
    assert [a.retried for a in made] == [True] * 5 + [False]


def test_received_texts_go_to_the_inbound_callback(fake_notify):
    """`send_inbound_sms_to_service`: id, source_number (447700900123), destination_number,
    message, date_received."""
    receiving = CallbackReceiver()
    fake_notify.set_inbound_callback(receiving.url, "inbound-token")
    try:
        body = fake_notify.inbound_sms("07700 900123", "ACK 4821")
        assert fake_notify.wait_for(lambda _: len(receiving.received) == 1)
    finally:
        receiving.close()
    headers, posted = receiving.received[0]
    assert posted == body
    assert set(posted) == {"id", "source_number", "destination_number", "message", "date_received"}
    assert posted["source_number"] == "447700900123"
    assert headers["Authorization"] == "Bearer inbound-token"


# --- no Retry-After anywhere (app/v2/errors.py) ---------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_carry_no_retry_after(fake_notify, status):
    """Notify's error handlers return `jsonify(...)` and a status; nothing sets Retry-After."""
    fake_notify.server_error(status=status)
    response = send(fake_notify)
    assert response.status_code == status
    assert "retry-after" not in response.headers
    if status == 500:
        assert errors(response) == [("Exception", "Internal server error")]


# --- the fake as a tool ---------------------------------------------------------------------------


async def test_ceiling_counts_only_accepted_sends(fake_notify):
    fake_notify.configure(rate_limit_per_minute=6_000_000)  # the fake's speed, not Notify's limit
    result = await measure_ceiling(
        fake_notify.base_url,
        fake_notify.api_key,
        fake_notify.sms_template_id,
        seconds=0.3,
        concurrency=4,
    )
    assert result.refused == 0
    assert result.accepted == len(fake_notify.notifications()) > 0
    assert result.per_second == pytest.approx(result.accepted / result.seconds)


FAKE_SCRIPT = Path(__file__).parent / "fake_notify.py"


@pytest.fixture
def fake_notify_process() -> Iterator[dict]:
    process = subprocess.Popen(
        [sys.executable, str(FAKE_SCRIPT), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
async def test_fake_as_a_process_is_driven_through_its_control_api(fake_notify_process):
    info = fake_notify_process
    with FakeNotifyControl(info["base_url"]) as control:
        deadline = time.monotonic() + 10
        while True:
            try:
                control.health()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        control.rate_limit(times=1)
        message = OutgoingMessage(
            id=str(uuid.uuid4()),
            medium=Medium.sms,
            to="+447700900123",
            subject="",
            body="Ofsted inspection notified.",
        )
        async with NotifyChannel(
            api_key=info["api_key"],
            base_url=info["base_url"],
            sms_template_id=info["sms_template_id"],
        ) as channel:
            with pytest.raises(RetryableError) as raised:
                await channel.send(message)
            accepted = await channel.send(message)
        recorded = control.notifications()
        receipt = control.set_status(accepted.provider_id or "", "delivered")

    assert raised.value.retry_after is None
    assert "RateLimitError" in raised.value.message
    assert [n["api"]["id"] for n in recorded] == [accepted.provider_id]
    assert recorded[0]["api"]["reference"] == message.id
    assert receipt is not None and receipt["status"] == "delivered"


def test_ceiling_from_processes_counts_only_accepted_sends(fake_notify):
    """The benchmarks' ceiling: worker processes of plain loops, every send checked by the fake."""
    fake_notify.configure(rate_limit_per_minute=6_000_000)
    result = measure_ceiling_processes(
        fake_notify.base_url,
        fake_notify.api_key,
        fake_notify.sms_template_id,
        seconds=0.5,
        processes=2,
        connections=4,
    )
    assert result.refused == 0
    assert result.accepted == len(fake_notify.notifications()) > 0
