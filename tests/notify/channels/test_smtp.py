"""The SMTP channel against a real SMTP server on loopback (tests/notify/smtp_sink.py): every
message is parsed back from the bytes the server received."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from structlog.testing import LogCapture

import service.notify.channels.smtp as smtp_module
from service.config import SmtpSecurity
from service.notify.channels.base import (
    ChannelError,
    Medium,
    OutgoingMessage,
    PermanentError,
    RetryableError,
)
from service.notify.channels.smtp import MESSAGE_ID_HEADER, SmtpChannel
from tests.conftest import make_settings
from tests.notify.smtp_sink import SmtpSink
from tests.processes import free_port

pytestmark = pytest.mark.anyio

MAIL_FROM = "Inspection Week <inspection-week@example.org>"
HARRIET = "harriet.oyelaran@example.org"
TOMASZ = "tomasz.wojcik@example.org"


def email_message(
    message_id: str = "3f9a6c1e-8b2d-4e7a-9c1f-5d2b7a8e4f10",
    *,
    to: str = HARRIET,
    subject: str = "Ofsted ILACS inspection announced",
    body: str = "The inspection starts tomorrow. Please acknowledge.",
    html_body: str | None = None,
    reply_to: str | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        id=message_id,
        medium=Medium.email,
        to=to,
        subject=subject,
        body=body,
        html_body=html_body,
        reply_to=reply_to,
    )


@asynccontextmanager
async def open_channel(sink: SmtpSink, **overrides: Any) -> AsyncIterator[SmtpChannel]:
    values: dict[str, Any] = {
        "mail_from": MAIL_FROM,
        "host": sink.host,
        "port": sink.port,
        "security": SmtpSecurity.none,
        "timeout": 5.0,
    }
    values.update(overrides)
    channel = SmtpChannel(**values)
    try:
        yield channel
    finally:
        await channel.aclose()


def only_message(sink: SmtpSink) -> EmailMessage:
    messages = sink.wait_for_messages(1)
    assert len(messages) == 1
    return messages[0].parse()


# The message itself.


async def test_headers_survive_the_trip_through_a_real_server(smtp_sink: SmtpSink) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    async with open_channel(smtp_sink, reply_to="ofsted-coordinator@example.org") as channel:
        await channel.send(email_message(to="Zoë Ní Bhriain <zoe.nibhriain@example.org>"))

    received = smtp_sink.wait_for_messages(1)[0]
    parsed = received.parse()
    assert received.mail_from == "inspection-week@example.org"
    assert received.rcpt_tos == ("zoe.nibhriain@example.org",)
    assert str(parsed["From"]) == MAIL_FROM
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë Ní Bhriain", "zoe.nibhriain@example.org")
    assert parsed["Subject"] == "Ofsted ILACS inspection announced"
    assert parsed["Message-ID"] == "<3f9a6c1e-8b2d-4e7a-9c1f-5d2b7a8e4f10@example.org>"
    assert parsed[MESSAGE_ID_HEADER] == "3f9a6c1e-8b2d-4e7a-9c1f-5d2b7a8e4f10"
    assert parsed["Reply-To"] == "ofsted-coordinator@example.org"
    sent_at = parsed["Date"].datetime
    assert before <= sent_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_non_ascii_subject_and_body_arrive_intact_over_7bit(smtp_sink: SmtpSink) -> None:
    subject = "Inspection call — Tomasz Wójcik to brief Zoë Ní Bhriain"
    body = "Dear Zoë,\n\nTomasz Wójcik will call you at 09:15.\n.\nA line with only a dot.\n"
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message(subject=subject, body=body))

    received = smtp_sink.wait_for_messages(1)[0]
    assert received.data.isascii(), "headers and body must be encoded for any relay"
    parsed = received.parse()
    assert parsed["Subject"] == subject
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == body  # CRLF is SMTP's line end


async def test_html_body_makes_a_multipart_alternative_with_text_first(
    smtp_sink: SmtpSink,
) -> None:
    text = "Dear Tomasz Wójcik,\nplease acknowledge: https://example.org/ack/xyz\n"
    html = (
        '<p>Dear Tomasz Wójcik,</p><p><a href="https://example.org/ack/xyz">Acknowledge</a></p>\n'
    )
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message(to=TOMASZ, body=text, html_body=html))

    parsed = only_message(smtp_sink)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    contents = [part.get_content().replace("\r\n", "\n") for part in parts]
    assert contents == [text, html]
    assert parsed.get_body(preferencelist=("html",)) is parts[1]


async def test_message_reply_to_wins_over_the_configured_one(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink, reply_to="ofsted-coordinator@example.org") as channel:
        await channel.send(
            email_message(reply_to="Harriet Oyelaran <harriet.oyelaran@example.org>")
        )

    parsed = only_message(smtp_sink)
    assert parsed["Reply-To"].addresses[0].addr_spec == HARRIET


async def test_no_reply_to_header_when_none_is_configured(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message())

    assert "Reply-To" not in only_message(smtp_sink)


async def test_a_resend_carries_the_same_message_id(smtp_sink: SmtpSink) -> None:
    """A copy re-sent after a crash must be recognisable as the same message."""
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("outbox-41"))
        await channel.send(email_message("outbox-41"))
        await channel.send(email_message("outbox-42"))

    ids = [m.parse()["Message-ID"] for m in smtp_sink.wait_for_messages(3)]
    assert ids[0] == ids[1] == "<outbox-41@example.org>"
    assert ids[2] == "<outbox-42@example.org>"


async def test_an_odd_message_id_still_makes_a_valid_message_id_header(
    smtp_sink: SmtpSink,
) -> None:
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("row 17/ä@x"))

    parsed = only_message(smtp_sink)
    message_id = parsed["Message-ID"]
    assert message_id == channel.message_id_for("row 17/ä@x")
    assert " " not in message_id and message_id.count("@") == 1
    assert message_id.startswith("<") and message_id.endswith("@example.org>")
    assert parsed[MESSAGE_ID_HEADER] == "row 17/ä@x"


async def test_a_line_break_in_the_subject_cannot_add_headers(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink) as channel:
        await channel.send(
            email_message(subject="Inspection call\r\nBcc: tomasz.wojcik@example.org")
        )

    received = smtp_sink.wait_for_messages(1)[0]
    parsed = received.parse()
    assert received.rcpt_tos == (HARRIET,)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Inspection call Bcc: tomasz.wojcik@example.org"


@pytest.mark.parametrize(
    "to", ["harriet", "harriet@localhost", f"{HARRIET}, {TOMASZ}", "zoë@example.org", "a\r\nb"]
)
async def test_a_recipient_that_is_not_one_address_is_permanent_and_never_reaches_the_server(
    smtp_sink: SmtpSink, to: str
) -> None:
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(PermanentError):
            await channel.send(email_message(to=to))
    assert smtp_sink.connections_opened == 0


async def test_an_sms_is_refused_as_permanent(smtp_sink: SmtpSink) -> None:
    sms = OutgoingMessage(id="s-1", medium=Medium.sms, to="+447700900123", subject="", body="Hi")
    async with open_channel(smtp_sink) as channel:
        assert channel.media == frozenset({Medium.email})
        with pytest.raises(PermanentError):
            await channel.send(sms)
    assert smtp_sink.connections_opened == 0


# Settings, TLS and login.


async def test_from_settings_uses_host_sender_and_reply_to(smtp_sink: SmtpSink) -> None:
    settings = make_settings(
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        smtp_timeout_seconds=3,
        mail_from="Hartshire Children's Services <inspection-week@hartshire.example.org>",
        mail_reply_to="ofsted-coordinator@hartshire.example.org",
    )
    channel = SmtpChannel.from_settings(settings)
    assert (channel.name, channel.timeout, channel.pool_size) == ("smtp", 3, 4)
    try:
        await channel.send(email_message("outbox-7"))
    finally:
        await channel.aclose()

    parsed = only_message(smtp_sink)
    assert parsed["From"].addresses[0].display_name == "Hartshire Children's Services"
    assert parsed["Reply-To"] == "ofsted-coordinator@hartshire.example.org"
    assert parsed["Message-ID"] == "<outbox-7@hartshire.example.org>"
    assert smtp_sink.messages[0].mail_from == "inspection-week@hartshire.example.org"


async def test_starttls_and_login_from_settings() -> None:
    with SmtpSink(
        tls="starttls", require_starttls=True, credentials={"relay-user": "corr3ct-h0rse"}
    ) as sink:
        settings = make_settings(
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_security="starttls",
            smtp_username="relay-user",
            smtp_password=SecretStr("corr3ct-h0rse"),
        )
        channel = SmtpChannel.from_settings(settings, tls_context=sink.client_tls_context())
        try:
            await channel.send(email_message())
        finally:
            await channel.aclose()
        received = sink.wait_for_messages(1)[0]
    assert received.tls is True
    assert received.login == "relay-user"


async def test_implicit_tls() -> None:
    with SmtpSink(tls="implicit", credentials={"relay-user": "corr3ct-h0rse"}) as sink:
        async with open_channel(
            sink,
            security="tls",
            tls_context=sink.client_tls_context(),
            username="relay-user",
            password="corr3ct-h0rse",
        ) as channel:
            await channel.send(email_message())
        received = sink.wait_for_messages(1)[0]
    assert (received.tls, received.login) == (True, "relay-user")


async def test_a_wrong_password_is_permanent() -> None:
    with SmtpSink(tls="starttls", credentials={"relay-user": "corr3ct-h0rse"}) as sink:
        async with open_channel(
            sink,
            security="starttls",
            tls_context=sink.client_tls_context(),
            username="relay-user",
            password="wrong",
        ) as channel:
            with pytest.raises(PermanentError, match="535"):
                await channel.send(email_message())
        assert sink.failed_logins >= 1  # the client may try PLAIN, then LOGIN
        assert sink.messages == []


async def test_an_untrusted_certificate_stops_the_message() -> None:
    """Without the relay's CA the system trust store is used, and a self-signed certificate fails
    it: the message must not go out in the clear instead."""
    with SmtpSink(tls="starttls") as sink:
        async with open_channel(sink, security="starttls") as channel:
            with pytest.raises(ChannelError, match="(?i)certificate"):
                await channel.send(email_message())
        assert sink.messages == []


async def test_starttls_required_but_not_offered_stops_the_message(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink, security="starttls") as channel:
        with pytest.raises(ChannelError, match="STARTTLS"):
            await channel.send(email_message())
    assert smtp_sink.messages == []


def test_username_without_password_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="together"):
        SmtpChannel(mail_from=MAIL_FROM, username="relay-user")


@pytest.mark.parametrize("mail_from", ["inspection-week", "a@b@example.org", ""])
def test_an_invalid_mail_from_is_a_configuration_error(mail_from: str) -> None:
    with pytest.raises(ValueError, match="MAIL_FROM"):
        SmtpChannel(mail_from=mail_from)


def test_pool_size_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="pool_size"):
        SmtpChannel(mail_from=MAIL_FROM, pool_size=0)


# Failures and how they map.


@pytest.mark.parametrize(
    "reply",
    [
        "421 4.7.0 Try again later, closing connection",
        "450 4.2.0 <{to}>: Recipient address rejected: mailbox busy",
        "451 4.3.0 Local error in processing",
        "452 4.2.2 Mailbox full",
    ],
)
async def test_a_4xx_refusal_of_the_recipient_is_retryable(smtp_sink: SmtpSink, reply: str) -> None:
    smtp_sink.respond(HARRIET, reply.format(to=HARRIET))
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(RetryableError) as caught:
            await channel.send(email_message())
    assert reply[:3] in caught.value.message
    assert HARRIET not in caught.value.message
    assert caught.value.retry_after is None
    assert smtp_sink.messages == []


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 <{to}>: Recipient address rejected: User unknown",
        "551 5.1.6 User not local; please try <h.oyelaran@example.org>",
        "553 5.1.3 Mailbox name not allowed",
        "554 5.7.1 <{to}>: Relay access denied",
    ],
)
async def test_a_5xx_refusal_of_the_recipient_is_permanent_with_the_reply(
    smtp_sink: SmtpSink, reply: str
) -> None:
    smtp_sink.respond(HARRIET, reply.format(to=HARRIET))
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(PermanentError) as caught:
            await channel.send(email_message())
    code, _, text = reply.partition(" ")
    assert f"{code} " in caught.value.message
    assert text.split(" ")[0] in caught.value.message  # the enhanced status code is kept
    assert HARRIET not in caught.value.message, "addresses in the reply are masked"
    assert "h.oyelaran@example.org" not in caught.value.message
    assert smtp_sink.messages == []


async def test_a_5xx_refusal_of_the_sender_is_permanent(smtp_sink: SmtpSink) -> None:
    smtp_sink.respond("inspection-week@example.org", "553 5.7.1 Sender not permitted", at="mail")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(PermanentError, match="refused the sender: 553"):
            await channel.send(email_message())


async def test_a_5xx_refusal_of_the_sender_on_a_kept_open_connection_is_permanent(
    smtp_sink: SmtpSink,
) -> None:
    """A kept-open connection sends MAIL itself (smtp._mail); its refusals read the same."""
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("m-1"))
        smtp_sink.respond(
            "inspection-week@example.org", "553 5.7.1 Sender not permitted", at="mail"
        )
        with pytest.raises(PermanentError, match="refused the sender: 553"):
            await channel.send(email_message("m-2"))
    assert len(smtp_sink.wait_for_messages(1)) == 1
    assert smtp_sink.connections_opened == 1


async def test_a_5xx_at_end_of_data_is_permanent(smtp_sink: SmtpSink) -> None:
    smtp_sink.respond(HARRIET, "554 5.7.1 Message content rejected", at="data")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(PermanentError, match="refused the message: 554"):
            await channel.send(email_message())
    assert smtp_sink.messages == []


async def test_a_4xx_at_end_of_data_is_retryable(smtp_sink: SmtpSink) -> None:
    smtp_sink.respond(HARRIET, "451 4.7.1 Greylisted, try again in 300 seconds", at="data")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(RetryableError, match="451"):
            await channel.send(email_message())
    assert smtp_sink.messages == []


async def test_the_connection_is_kept_after_a_refusal(smtp_sink: SmtpSink) -> None:
    """One unknown recipient must not cost the next message a new connection and login."""
    smtp_sink.respond(TOMASZ, "550 5.1.1 User unknown")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(PermanentError):
            await channel.send(email_message("m-1", to=TOMASZ))
        await channel.send(email_message("m-2"))
    assert [m.rcpt_tos for m in smtp_sink.wait_for_messages(1)] == [(HARRIET,)]
    assert smtp_sink.connections_opened == 1


async def test_a_421_reply_retires_the_connection(smtp_sink: SmtpSink) -> None:
    smtp_sink.respond(TOMASZ, "421 4.3.2 Service shutting down")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(RetryableError):
            await channel.send(email_message("m-1", to=TOMASZ))
        await channel.send(email_message("m-2"))
    assert len(smtp_sink.wait_for_messages(1)) == 1
    assert smtp_sink.connections_opened == 2


async def test_a_refused_connection_is_retryable() -> None:
    port = free_port()  # nothing listens there
    channel = SmtpChannel(mail_from=MAIL_FROM, host="127.0.0.1", port=port, security="none")
    try:
        started = time.monotonic()
        with pytest.raises(RetryableError):
            await channel.send(email_message())
        assert time.monotonic() - started < 5
    finally:
        await channel.aclose()


@pytest.mark.parametrize("at", ["rcpt", "data"])
async def test_a_dropped_connection_is_retryable(smtp_sink: SmtpSink, at: str) -> None:
    smtp_sink.drop(HARRIET, at=at)  # type: ignore[arg-type]
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(RetryableError):
            await channel.send(email_message())
    assert smtp_sink.messages == []


@pytest.mark.parametrize("at", ["mail", "rcpt", "data"])
async def test_a_stalled_server_is_retryable_within_the_timeout(
    smtp_sink: SmtpSink, at: str
) -> None:
    address = "inspection-week@example.org" if at == "mail" else HARRIET
    smtp_sink.stall(address, 30, at=at)  # type: ignore[arg-type]
    async with open_channel(smtp_sink, timeout=0.5) as channel:
        started = time.monotonic()
        with pytest.raises(RetryableError, match="did not answer within 0.5 s"):
            await channel.send(email_message())
        elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.5


async def test_a_server_that_never_greets_is_retryable_within_the_timeout(
    smtp_sink: SmtpSink,
) -> None:
    smtp_sink.greeting_delay = 30
    async with open_channel(smtp_sink, timeout=0.5) as channel:
        started = time.monotonic()
        with pytest.raises(RetryableError):
            await channel.send(email_message())
        assert time.monotonic() - started < 1.5


async def test_a_slow_but_answering_server_is_waited_for(smtp_sink: SmtpSink) -> None:
    smtp_sink.stall(HARRIET, 0.3, at="data")
    async with open_channel(smtp_sink, timeout=2) as channel:
        await channel.send(email_message())
    assert len(smtp_sink.wait_for_messages(1)) == 1


# The pool of kept-open connections.


async def test_sequential_sends_reuse_one_connection(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink) as channel:
        for number in range(10):
            await channel.send(email_message(f"m-{number}"))
        assert channel.open_connections == 1
    assert len(smtp_sink.wait_for_messages(10)) == 10
    assert smtp_sink.connections_opened == 1
    assert {m.connection for m in smtp_sink.messages} == {1}


async def test_a_connection_the_server_closed_is_replaced_without_losing_the_message(
    smtp_sink: SmtpSink,
) -> None:
    """Relays close idle connections; the next message must not fail because of it."""
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("m-1"))
        assert smtp_sink.close_connections() == 1
        await channel.send(email_message("m-2"))  # no pause: the client may not know yet
        await asyncio.sleep(0.05)
        assert smtp_sink.close_connections() == 1
        await asyncio.sleep(0.2)  # now the client has seen the close
        await channel.send(email_message("m-3"))

    messages = smtp_sink.wait_for_messages(3)
    assert [m.parse()[MESSAGE_ID_HEADER] for m in messages] == ["m-1", "m-2", "m-3"]
    assert [m.connection for m in messages] == [1, 2, 3]


async def test_a_421_on_a_kept_open_connection_reconnects_once(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("m-1"))
        smtp_sink.respond(
            "inspection-week@example.org", "421 4.4.2 Idle timeout", at="mail", times=1
        )
        await channel.send(email_message("m-2"))
    assert len(smtp_sink.wait_for_messages(2)) == 2
    assert smtp_sink.connections_opened == 2


async def test_a_421_on_a_new_connection_is_retryable(smtp_sink: SmtpSink) -> None:
    smtp_sink.respond("inspection-week@example.org", "421 4.3.2 Try later", at="mail")
    async with open_channel(smtp_sink) as channel:
        with pytest.raises(RetryableError, match="421"):
            await channel.send(email_message())
    assert smtp_sink.connections_opened == 1


async def test_200_concurrent_sends_arrive_exactly_once_over_the_pool(
    smtp_sink: SmtpSink,
) -> None:
    ids = [f"cascade-{number:03d}" for number in range(200)]
    async with open_channel(smtp_sink) as channel:
        results = await asyncio.gather(
            *(channel.send(email_message(i, to=f"staff{n}@example.org")) for n, i in enumerate(ids))
        )
        assert channel.open_connections == 4
    assert all(result.detail["reply"].startswith("250") for result in results)

    messages = smtp_sink.wait_for_messages(200)
    assert len(messages) == 200
    received = Counter(m.parse()[MESSAGE_ID_HEADER] for m in messages)
    assert set(received) == set(ids)
    assert set(received.values()) == {1}
    for message in messages:
        number = int(message.parse()[MESSAGE_ID_HEADER].removeprefix("cascade-"))
        assert message.rcpt_tos == (f"staff{number}@example.org",)
    assert smtp_sink.connections_opened == 4
    assert smtp_sink.max_open_connections == 4


async def test_pool_size_bounds_the_connections(smtp_sink: SmtpSink) -> None:
    async with open_channel(smtp_sink, pool_size=2) as channel:
        await asyncio.gather(*(channel.send(email_message(f"m-{n}")) for n in range(20)))
    assert len(smtp_sink.wait_for_messages(20)) == 20
    assert smtp_sink.connections_opened == 2


async def test_failures_during_a_burst_do_not_leak_connections(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("dropped@example.org")
    smtp_sink.respond("unknown@example.org", "550 5.1.1 User unknown")
    recipients = ["dropped@example.org", "unknown@example.org", HARRIET] * 10
    async with open_channel(smtp_sink) as channel:
        outcomes = await asyncio.gather(
            *(channel.send(email_message(f"m-{n}", to=to)) for n, to in enumerate(recipients)),
            return_exceptions=True,
        )
        assert channel.open_connections <= 4
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"RetryableError": 10, "PermanentError": 10, "Accepted": 10}
    assert len(smtp_sink.wait_for_messages(10)) == 10
    assert smtp_sink.max_open_connections <= 4


async def test_aclose_quits_every_connection(smtp_sink: SmtpSink) -> None:
    channel = SmtpChannel(
        mail_from=MAIL_FROM, host=smtp_sink.host, port=smtp_sink.port, security="none"
    )
    await asyncio.gather(*(channel.send(email_message(f"m-{n}")) for n in range(8)))
    assert smtp_sink.open_connections == 4
    await channel.aclose()
    assert channel.open_connections == 0
    deadline = time.monotonic() + 5
    while smtp_sink.open_connections and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert smtp_sink.open_connections == 0
    with pytest.raises(RetryableError, match="closed"):
        await channel.send(email_message("m-late"))


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_one_channel_serves_successive_event_loops(smtp_sink: SmtpSink) -> None:
    """A command that runs `asyncio.run` per batch must not trip over last batch's connections.
    (The connection left behind by a finished loop can no longer be closed through it; the
    garbage collector reclaims it, hence the warnings filtered here.)"""
    channel = SmtpChannel(
        mail_from=MAIL_FROM, host=smtp_sink.host, port=smtp_sink.port, security="none"
    )
    asyncio.run(channel.send(email_message("m-1")))
    asyncio.run(channel.send(email_message("m-2")))
    asyncio.run(channel.aclose())
    gc.collect()
    messages = smtp_sink.wait_for_messages(2)
    assert [m.connection for m in messages] == [1, 2]


# Logs.


async def test_logs_never_hold_a_full_address(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = LogCapture()
    monkeypatch.setattr(
        smtp_module,
        "log",
        structlog.wrap_logger(
            None,
            processors=[capture],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            cache_logger_on_first_use=False,
        ),
    )
    smtp_sink.respond(TOMASZ, f"550 5.1.1 <{TOMASZ}>: Recipient address rejected")
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message("m-1"))
        with pytest.raises(PermanentError):
            await channel.send(email_message("m-2", to=TOMASZ))

    events = {entry["event"]: entry for entry in capture.entries}
    assert events["smtp.sent"]["to"] == "h***@example.org"
    assert events["smtp.failed"]["to"] == "t***@example.org"
    assert "t***@example.org" in events["smtp.failed"]["error"]
    logged = repr(capture.entries)
    assert HARRIET not in logged
    assert TOMASZ not in logged


# The direct writer of plain messages.

_PLAIN_CASES = [
    email_message(),
    email_message(to=f"Harriet Oyelaran <{HARRIET}>", reply_to="lead@example.org"),
    email_message(
        subject="EXERCISE: Ofsted ILACS inspection (drill) - please acknowledge!",
        body="Dear Tomasz,\n\nA long line that goes well past seventy-six characters, with = signs"
        " and trailing spaces   \n\tand a tab, café, naïve, 東京 and an emoji 🙂.\r\nEnd\n\n",
        html_body="<p>Dear Tomasz,</p>\n<p>" + "x" * 200 + " <a href='https://x.test/a?b=c'>ack"
        "</a></p>",
    ),
    email_message(body="", html_body=""),
    email_message(body="no newline at the end", html_body="<b>é</b>\r\n"),
    email_message(body=".\n.leading dots\nFrom the start\n"),
]


@pytest.mark.parametrize("message", _PLAIN_CASES)
def test_plain_messages_are_written_byte_for_byte_as_the_email_package_writes_them(
    message: OutgoingMessage,
) -> None:
    from email import policy

    from service.notify.channels.smtp import parse_address

    channel = SmtpChannel(mail_from=MAIL_FROM, reply_to="Council Team <team@example.org>")
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    fast = channel._plain_bytes(message, parse_address(message.to), now=now)
    assert fast is not None
    slow = channel.build_message(message, now=now).as_bytes(policy=policy.SMTP)
    if message.html_body is not None:
        boundary = re.search(rb'boundary="([^"]+)"', fast)
        assert boundary is not None
        slow = re.sub(rb"=_iw_[0-9a-f]{32}", boundary.group(1), slow)
    assert fast == slow


@pytest.mark.parametrize("subject", ["Plain subject", "Café opens"])
async def test_lines_that_start_with_a_dot_arrive_as_written(
    smtp_sink: SmtpSink, subject: str
) -> None:
    """DATA doubles a line's leading dot and the server takes it off again, whether the message
    was written directly (a plain subject) or by the email package (one that is not)."""
    body = ".\n..\n.leading dot\nmiddle . dot\n...three\n"
    html = ".<p>first</p>\n.<p>second</p>\n"
    async with open_channel(smtp_sink) as channel:
        await channel.send(email_message(subject=subject, body=body, html_body=html))

    parsed = only_message(smtp_sink)
    assert parsed["Subject"] == subject
    plain, rich = (part.get_content().replace("\r\n", "\n") for part in parsed.iter_parts())
    assert (plain, rich) == (body, html)


@pytest.mark.parametrize(
    "message",
    [
        email_message(subject="Café opens"),
        email_message(subject="=?utf-8?q?x?="),
        email_message(subject="Two  spaces"),
        email_message(
            subject="A subject long enough that its header line must be folded by the writer"
        ),
        email_message(to=f'"O. Brien" <{HARRIET}>'),
        email_message(to=f"Zoë Ní Bhriain <{HARRIET}>"),
        email_message("odd id/with@signs"),
    ],
)
def test_messages_with_headers_that_are_not_plain_are_left_to_the_email_package(
    message: OutgoingMessage,
) -> None:
    from service.notify.channels.smtp import parse_address

    channel = SmtpChannel(mail_from=MAIL_FROM)
    assert channel._plain_bytes(message, parse_address(message.to)) is None


@pytest.mark.parametrize(
    "value",
    [
        "p00004@example.org",
        "Harriet.O+x@Example.ORG",
        "a_b-c@sub.do-main.co.uk",
        "x@xn--bcher-kva.org",
    ],
)
def test_a_bare_address_reads_as_the_header_parser_reads_it(value: str) -> None:
    from email import policy

    from service.notify.channels.smtp import parse_address

    parsed = policy.default.header_factory("To", value).addresses[0]
    address = parse_address(value)
    assert (address.display_name, address.username, address.domain) == (
        parsed.display_name,
        parsed.username,
        parsed.domain,
    )


@pytest.mark.parametrize("value", ["a..b@example.org", ".a@example.org", "a@example", "a@-.."])
def test_an_address_that_is_not_plain_still_goes_through_the_header_parser(value: str) -> None:
    from service.notify.channels.smtp import parse_address

    with pytest.raises(ValueError):
        parse_address(value)
