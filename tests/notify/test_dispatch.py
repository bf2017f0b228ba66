"""The dispatcher against a real SMTP server and the local GOV.UK Notify: every message leaves
once, the steering group first, failures are retried or escalated as the provider's answer says,
and two dispatchers sharing the outbox never send a row twice.

Time is the dispatcher's `clock`, moved by hand, so backoffs cost no waiting."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import timeline
from service.cascade import progress
from service.config import Settings
from service.db import make_engine
from service.inspections.models import Inspection
from service.main import build_handlers, on_delivery_failure, on_medium_paused
from service.notify import pauses
from service.notify.channels import build_channels, close_channels
from service.notify.channels.base import Channel, Medium, OutgoingMessage
from service.notify.channels.smtp import MESSAGE_ID_HEADER
from service.notify.dispatch import MAX_BACKOFF_SECONDS, Dispatcher, build_limiters, claim
from service.notify.models import Message, MessageStatus, Purpose
from service.rules import Rules
from service.scheduler.due import run_due
from tests.builders import london, make_contact, make_inspection, read_messages, read_nodes
from tests.conftest import make_settings
from tests.notify.fake_notify import FakeNotify
from tests.notify.smtp_sink import SmtpSink
from tests.trees import insert_tree, tree_rows

pytestmark = pytest.mark.anyio

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)
LEASE = timedelta(seconds=60)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def channel_settings(
    database_url: str, sink: SmtpSink, fake: FakeNotify, **values: object
) -> Settings:
    """E-mail through the SMTP sink, text messages through the fake Notify."""
    return make_settings(
        database_url=database_url,
        email_channel="smtp",
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_security="none",
        sms_channel="govuk_notify",
        notify_api_key=fake.api_key,
        notify_base_url=fake.base_url,
        notify_sms_template_id=fake.sms_template_id,
        **values,
    )


MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
async def make_dispatcher(
    database_url: str, engine: Engine, rules: Rules, smtp_sink: SmtpSink, fake_notify: FakeNotify
) -> AsyncIterator[MakeDispatcher]:
    """Dispatchers with their own channels; `replica=` gives one its own connection pool."""
    opened: list[dict[Medium, Channel]] = []

    def make(
        clock: Clock,
        *,
        replica: Engine | None = None,
        settings: Settings | None = None,
        **kwargs: object,
    ) -> Dispatcher:
        settings = settings or channel_settings(database_url, smtp_sink, fake_notify)
        channels = build_channels(settings)
        opened.append(channels)
        return Dispatcher(
            replica or engine,
            on_failure=on_delivery_failure(rules),
            channels=channels,
            limiters=build_limiters(settings, channels),
            clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )

    yield make
    for channels in opened:
        await close_channels(channels)


def announce(
    session: Session, engine: Engine, rules: Rules, *, drill: bool = True, at: datetime = ANNOUNCED
) -> Inspection:
    """A drill, with the groups that go at once (window 0) released as the next tick does."""
    inspection = make_inspection(session, rules, notified_at=CALL, now=at, drill=drill)
    run_due(engine, now=at, handlers=build_handlers(rules), worker="test")
    return inspection


def sms_posts(fake: FakeNotify) -> list[str]:
    return [
        r.body["reference"]
        for r in fake.requests()
        if r.method == "POST" and r.path.endswith("/sms")
    ]


def one(engine: Engine, inspection: Inspection, contact_id: str, medium: str) -> Message:
    found = [
        m
        for m in read_messages(engine, inspection.id)
        if (m.contact_id, m.medium) == (contact_id, medium) and m.purpose == Purpose.drill
    ]
    assert len(found) == 1
    return found[0]


async def test_every_message_is_sent_once_by_its_channel(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", window=0)
    make_contact(session, "sg-dcs", "Tomasz Wójcik")
    make_contact(session, "comms", "Owen Pritchard", reports_to="sg-lead")
    session.commit()
    drill = announce(session, engine, rules)
    dispatcher = make_dispatcher(Clock(ANNOUNCED + timedelta(seconds=5)))

    await dispatcher.send_all()
    await dispatcher.send_all()  # nothing left: nothing more goes

    messages = read_messages(engine, drill.id)
    assert len(messages) == 6
    assert {(m.status, m.sent_at) for m in messages} == {
        (MessageStatus.sent, ANNOUNCED + timedelta(seconds=5))
    }
    emails = {m.id: m for m in messages if m.medium == "email"}
    texts = {m.id: m for m in messages if m.medium == "sms"}
    received = smtp_sink.wait_for_messages(3)
    assert sorted(r.parse()[MESSAGE_ID_HEADER] for r in received) == sorted(str(i) for i in emails)
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(m.address for m in emails.values())
    notifications = fake_notify.notifications()
    assert sorted(n.reference for n in notifications) == sorted(str(i) for i in texts)
    assert {str(m.id): m.provider_id for m in texts.values()} == {
        n.reference: n.id for n in notifications
    }
    assert {m.provider for m in emails.values()} == {"smtp"}
    assert {m.provider for m in texts.values()} == {"govuk_notify"}
    assert dispatcher.sent == 6


class Transactions:
    """The statements of every committed transaction on `engine`, and a fault to inject: the
    next claim in a transaction that has already written outcomes fails."""

    def __init__(self, engine: Engine):
        self.committed: list[list[str]] = []
        self.fail_next_claim_after_outcomes = False
        self._open: dict[int, list[str]] = {}
        sa.event.listen(engine, "before_cursor_execute", self._execute)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)

    @staticmethod
    def kind(statement: str) -> str | None:
        flat = " ".join(statement.split())
        if flat.startswith("UPDATE message SET") and "provider_id=" in flat:
            return "outcomes"
        if flat.startswith("UPDATE message SET") and "message.attempts +" in flat:
            return "claim"
        return None

    def _execute(self, conn: sa.Connection, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        kinds = self._open.setdefault(id(conn), [])
        kind = self.kind(statement)
        if kind == "claim" and "outcomes" in kinds and self.fail_next_claim_after_outcomes:
            self.fail_next_claim_after_outcomes = False
            raise sa.exc.OperationalError(statement, {}, Exception("disk I/O error"))
        if kind:
            kinds.append(kind)

    def _commit(self, conn: sa.Connection) -> None:
        self.committed.append(self._open.pop(id(conn), []))

    def _rollback(self, conn: sa.Connection) -> None:
        self._open.pop(id(conn), None)


def twelve_watched(
    session: Session, engine: Engine, rules: Rules, make_dispatcher: MakeDispatcher
) -> tuple[Inspection, Transactions, Dispatcher]:
    """A drill of twelve people (24 messages), its transactions watched, four sends at a time."""
    for n in range(12):
        make_contact(session, f"sg-{n:02d}", f"Steering member {n}")
    session.commit()
    drill = announce(session, engine, rules)
    transactions = Transactions(engine)
    dispatcher = make_dispatcher(Clock(ANNOUNCED + timedelta(seconds=1)), concurrency=4)
    return drill, transactions, dispatcher


async def test_a_step_writes_its_outcomes_and_its_next_claim_in_one_transaction(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    """On SQLite every writing transaction queues for the file's one write lock: a step that
    wrote its outcomes and then claimed in two transactions queued twice."""
    drill, transactions, dispatcher = twelve_watched(session, engine, rules, make_dispatcher)

    await dispatcher.send_all()

    both = [kinds for kinds in transactions.committed if kinds == ["outcomes", "claim"]]
    assert both, transactions.committed
    messages = read_messages(engine, drill.id)
    assert len(messages) == 24 and {(m.status, m.attempts) for m in messages} == {
        (MessageStatus.sent, 1)
    }


async def test_a_claim_that_fails_after_outcomes_keeps_them_for_the_next_step(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    """Both or neither: the rolled-back outcomes are written by the next step, nothing is sent
    twice and no row is left `sending`."""
    drill, transactions, dispatcher = twelve_watched(session, engine, rules, make_dispatcher)
    assert await dispatcher.step() == 4
    while dispatcher._in_flight:
        await asyncio.sleep(0.01)
    transactions.fail_next_claim_after_outcomes = True

    with pytest.raises(sa.exc.OperationalError):
        await dispatcher.step()

    assert not transactions.fail_next_claim_after_outcomes  # the fault did fire
    statuses = Counter(m.status for m in read_messages(engine, drill.id))
    assert statuses == {MessageStatus.sending: 4, MessageStatus.queued: 20}
    await dispatcher.send_all()
    messages = read_messages(engine, drill.id)
    assert {(m.status, m.attempts) for m in messages} == {(MessageStatus.sent, 1)}
    emails = [r.parse()[MESSAGE_ID_HEADER] for r in smtp_sink.wait_for_messages(12)]
    assert sorted(emails) == sorted(str(m.id) for m in messages if m.medium == "email")
    texts = [n.reference for n in fake_notify.notifications()]
    assert sorted(texts) == sorted(str(m.id) for m in messages if m.medium == "sms")


async def test_the_steering_group_is_claimed_before_people_further_down_queued_earlier(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", window=0)
    make_contact(session, "head", "Priya Natarajan", reports_to="sg-lead", window=0)
    make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="head")
    session.commit()
    first = announce(session, engine, rules, at=ANNOUNCED)  # levels 1, 2 and 3 queued at once
    second = announce(session, engine, rules, at=ANNOUNCED + timedelta(minutes=1))

    now = ANNOUNCED + timedelta(minutes=2)
    rounds = [claim(engine, now=now, limit=4) for _ in range(3)]

    by_id = {m.id: m for m in read_messages(engine)}
    assert [sorted({by_id[c.id].priority for c in batch}) for batch in rounds] == [[1], [2], [3]]
    assert {by_id[c.id].inspection_id for c in rounds[0]} == {first.id, second.id}
    assert claim(engine, now=now, limit=4) == []


async def test_sending_order_follows_the_tree_level(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", window=0, channels=("email",))
    make_contact(
        session, "head", "Priya Natarajan", reports_to="sg-lead", window=0, channels=("email",)
    )
    make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="head", channels=("email",))
    session.commit()
    announce(session, engine, rules, at=ANNOUNCED)
    announce(session, engine, rules, at=ANNOUNCED + timedelta(minutes=1))
    dispatcher = make_dispatcher(Clock(ANNOUNCED + timedelta(minutes=2)), concurrency=1)

    await dispatcher.send_all()

    order = [r.rcpt_tos[0].split("@")[0] for r in smtp_sink.wait_for_messages(6)]
    assert order == ["sg-lead", "sg-lead", "head", "head", "staff", "staff"]


async def test_a_rate_limit_is_retried_after_the_dispatchers_own_backoff(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """Notify's 429 names no delay (no Retry-After), so the dispatcher's backoff decides; the
    per-minute limit is Notify's as a whole, so it costs the message no attempt."""
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock)
    fake_notify.rate_limit(1)

    await dispatcher.send_all()
    waiting = one(engine, drill, "sg-lead", "sms")
    assert (waiting.status, waiting.attempts) == (MessageStatus.queued, 0)
    assert clock.now < waiting.next_attempt_at <= clock.now + timedelta(seconds=MAX_BACKOFF_SECONDS)
    assert "429" in (waiting.last_error or "")
    assert fake_notify.notifications() == []

    clock.advance((waiting.next_attempt_at - clock.now).total_seconds())
    await dispatcher.send_all()
    sent = one(engine, drill, "sg-lead", "sms")
    assert (sent.status, sent.attempts, sent.last_error) == (MessageStatus.sent, 1, None)
    assert [n.reference for n in fake_notify.notifications()] == [str(sent.id)]


async def test_a_burst_of_server_errors_is_retried_until_the_message_goes(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock)
    fake_notify.server_error(2, status=500)
    fake_notify.server_error(1, status=503)

    for _ in range(6):
        await dispatcher.send_all()
        if one(engine, drill, "sg-lead", "sms").status == MessageStatus.sent:
            break
        clock.advance(MAX_BACKOFF_SECONDS)

    sent = one(engine, drill, "sg-lead", "sms")
    assert (sent.status, sent.attempts) == (MessageStatus.sent, 1)  # Notify's outage, not ours
    assert [n.reference for n in fake_notify.notifications()] == [str(sent.id)]


async def test_a_send_that_timed_out_but_was_accepted_is_found_by_reference_not_sent_again(
    session: Session,
    engine: Engine,
    rules: Rules,
    database_url: str,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    settings = channel_settings(database_url, smtp_sink, fake_notify, notify_timeout_seconds=0.3)
    dispatcher = make_dispatcher(clock, settings=settings)
    fake_notify.slow(1, delay=1.0)

    await dispatcher.send_all()
    waiting = one(engine, drill, "sg-lead", "sms")
    assert waiting.status == MessageStatus.queued
    assert fake_notify.wait_for(lambda fake: len(fake.notifications()) == 1)  # accepted late

    clock.advance(MAX_BACKOFF_SECONDS)
    await dispatcher.send_all()

    sent = one(engine, drill, "sg-lead", "sms")
    accepted = fake_notify.notifications()
    assert [n.reference for n in accepted] == [str(sent.id)]
    assert sms_posts(fake_notify) == [str(sent.id)]
    assert (sent.status, sent.provider_id) == (MessageStatus.sent, accepted[0].id)


async def test_rows_left_by_a_dispatcher_that_died_are_looked_up_before_sending(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    make_contact(session, "sg-dcs", "Tomasz Wójcik", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    died_at = ANNOUNCED + timedelta(seconds=1)
    held = claim(engine, now=died_at, limit=10, lease=LEASE)
    assert len(held) == 2
    got_out = next(c for c in held if c.address == one(engine, drill, "sg-lead", "sms").address)
    dead = make_dispatcher(Clock(died_at))
    await dead.channels[Medium.sms].send(
        OutgoingMessage(
            id=str(got_out.id), medium=Medium.sms, to=got_out.address, subject="", body=got_out.body
        )
    )  # ... and the process died before recording it

    before_lease_ends = make_dispatcher(Clock(died_at + LEASE - timedelta(seconds=1)))
    await before_lease_ends.send_all()
    assert len(sms_posts(fake_notify)) == 1

    successor = make_dispatcher(Clock(died_at + LEASE + timedelta(seconds=1)))
    await successor.send_all()

    posts = sms_posts(fake_notify)
    assert sorted(posts) == sorted(str(c.id) for c in held)  # each row POSTed once in all
    rows = {m.id: m for m in read_messages(engine, drill.id)}
    assert {rows[c.id].status for c in held} == {MessageStatus.sent}
    accepted = {n.reference: n.id for n in fake_notify.notifications()}
    assert rows[got_out.id].provider_id == accepted[str(got_out.id)]


async def test_a_running_dispatcher_takes_a_lapsed_lease_within_a_second_not_at_every_step(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """Lapsed leases are looked for at most once a second of the dispatcher's clock: one
    statement fewer in nearly every claim, and a dead claimer's row a second later at most."""
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    make_contact(session, "sg-dcs", "Tomasz Wójcik", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    died_at = ANNOUNCED + timedelta(seconds=1)
    [held] = claim(engine, now=died_at, limit=1, lease=LEASE)
    clock = Clock(died_at + LEASE - timedelta(seconds=0.5))
    dispatcher = make_dispatcher(clock)

    assert await dispatcher.step() == 1  # the other row; nothing lapsed yet
    while dispatcher._in_flight:
        await asyncio.sleep(0.01)
    clock.advance(0.6)  # the lease has run out, 0.6 s after the last look
    assert await dispatcher.step() == 0
    clock.advance(0.4)
    assert await dispatcher.step() == 1

    await dispatcher.send_all()
    looked_up = [r for r in fake_notify.requests() if r.method == "GET"]
    assert [r.query.get("reference") for r in looked_up] == [str(held.id)]
    rows = read_messages(engine, drill.id)
    assert sorted(sms_posts(fake_notify)) == sorted(str(m.id) for m in rows)
    assert {(m.status, m.attempts) for m in rows if m.id == held.id} == {(MessageStatus.sent, 2)}


async def test_an_invalid_number_fails_at_once_and_the_deputy_is_told(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    absent = make_contact(
        session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", email=None, channels=("sms",)
    )
    session.commit()
    drill = announce(session, engine, rules)
    fake_notify.reject_number(absent.mobile or "")
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock)

    await dispatcher.send_all()

    failed = one(engine, drill, "sg-dcs", "sms")
    assert (failed.status, failed.attempts, failed.failed_at) == (
        MessageStatus.failed,
        1,
        clock.now,
    )
    assert "Not a UK mobile number" in (failed.last_error or "")
    node = read_nodes(engine, drill.id)["sg-dcs"]
    assert node.escalated_at == clock.now and node.broken_reason is not None
    escalations = [m for m in read_messages(engine, drill.id) if m.purpose == Purpose.escalation]
    assert sorted((m.contact_id, m.medium, m.status) for m in escalations) == [
        ("sg-lead", "email", MessageStatus.sent),
        ("sg-lead", "sms", MessageStatus.sent),
    ]
    subjects = [r.parse()["Subject"] for r in smtp_sink.wait_for_messages(2)]
    assert any("Tomasz Wójcik" in subject for subject in subjects)
    assert dispatcher.failed == 1


async def test_an_smtp_refusal_fails_at_once_and_the_spare_channel_is_tried(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    person = make_contact(session, "sg-lead", "Harriet Oyelaran", channels=("email",))
    session.commit()
    drill = announce(session, engine, rules)
    smtp_sink.respond("sg-lead@example.org", "550 5.1.1 User unknown")
    dispatcher = make_dispatcher(Clock(ANNOUNCED + timedelta(seconds=1)))

    await dispatcher.send_all()

    failed = one(engine, drill, "sg-lead", "email")
    assert (failed.status, failed.attempts) == (MessageStatus.failed, 1)
    assert "550" in (failed.last_error or "")
    spare = one(engine, drill, "sg-lead", "sms")
    assert (spare.status, spare.address) == (MessageStatus.sent, person.mobile)
    assert [n.reference for n in fake_notify.notifications()] == [str(spare.id)]
    assert smtp_sink.messages == []
    assert read_nodes(engine, drill.id)["sg-lead"].broken_reason is not None


async def test_an_smtp_deferral_is_retried(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", channels=("email",))
    session.commit()
    drill = announce(session, engine, rules)
    smtp_sink.respond("sg-lead@example.org", "451 4.3.0 Try again later", times=1)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock)

    await dispatcher.send_all()
    waiting = one(engine, drill, "sg-lead", "email")
    assert (waiting.status, waiting.attempts) == (MessageStatus.queued, 1)
    assert "451" in (waiting.last_error or "")
    assert waiting.next_attempt_at > clock.now

    clock.advance(MAX_BACKOFF_SECONDS)
    await dispatcher.send_all()
    assert one(engine, drill, "sg-lead", "email").status == MessageStatus.sent
    assert len(smtp_sink.wait_for_messages(1)) == 1
    assert read_nodes(engine, drill.id)["sg-lead"].broken_reason is None


async def test_a_spent_daily_limit_pauses_sms_until_midnight_utc_without_spending_attempts(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """Notify's daily counts start again at midnight UTC (the UTC date is part of their key):
    the medium waits until then, the attempt is given back, nothing is marked failed; e-mail
    goes on, and whoever chose texts only is sent an e-mail at once."""
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    make_contact(session, "sg-dcs", "Tomasz Wójcik", channels=("sms",))
    make_contact(session, "sg-cso", "Priya Natarajan")
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, concurrency=1, on_pause=on_medium_paused(rules))
    fake_notify.configure(daily_limits={"sms": 0})

    await dispatcher.send_all()

    assert len(sms_posts(fake_notify)) == 1  # the others were held back, not sent into the limit
    midnight = datetime(2025, 3, 5, tzinfo=UTC)
    waiting = [one(engine, drill, who, "sms") for who in ("sg-lead", "sg-dcs", "sg-cso")]
    assert {m.status for m in waiting} == {MessageStatus.queued}
    assert {m.attempts for m in waiting} == {0}
    assert claim(engine, now=midnight - timedelta(seconds=1), limit=10) == []
    with Session(engine) as reading:
        [pause] = pauses.active(reading, clock.now)
    assert pause.message == "SMS paused until 00:00 UTC: Notify's daily limit"
    # e-mail carried on, and Tomasz, who chose texts only, was e-mailed at once
    assert one(engine, drill, "sg-dcs", "email").status == MessageStatus.sent
    assert one(engine, drill, "sg-cso", "email").status == MessageStatus.sent
    assert [m.status for m in read_messages(engine, drill.id) if m.status == "failed"] == []

    clock.now = midnight + timedelta(seconds=1)
    fake_notify.configure(daily_limits={"sms": 250_000})
    await dispatcher.send_all()
    assert {m.status for m in (one(engine, drill, w, "sms") for w in ("sg-lead", "sg-dcs"))} == {
        MessageStatus.sent
    }
    assert len(fake_notify.notifications()) == 3


async def test_two_dispatchers_sharing_the_outbox_send_each_row_once(
    session: Session,
    engine: Engine,
    database_url: str,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    for n in range(20):
        make_contact(session, f"sg-{n:02d}", f"Steering member {n}")
    session.commit()
    drill = announce(session, engine, rules)
    other_replica = make_engine(database_url)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    first = make_dispatcher(clock, concurrency=4)
    second = make_dispatcher(clock, replica=other_replica, concurrency=4)
    try:
        await asyncio.gather(first.send_all(), second.send_all())
    finally:
        other_replica.dispose()

    messages = read_messages(engine, drill.id)
    assert len(messages) == 40 and {m.status for m in messages} == {MessageStatus.sent}
    assert {m.attempts for m in messages} == {1}
    emails = sorted(r.parse()[MESSAGE_ID_HEADER] for r in smtp_sink.wait_for_messages(20))
    assert emails == sorted(str(m.id) for m in messages if m.medium == "email")
    texts = sorted(n.reference for n in fake_notify.notifications())
    assert texts == sorted(str(m.id) for m in messages if m.medium == "sms")
    assert first.sent + second.sent == 40
    assert first.sent > 0 and second.sent > 0


async def test_a_technical_failure_without_a_receipt_is_found_by_polling_and_escalates(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """Notify POSTs no receipt for a technical failure: after NOTIFY_STATUS_POLL_MINUTES the
    message is looked up, and the failure escalates like a permanent one."""
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(
        session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", email=None, channels=("sms",)
    )
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, status_poll=timedelta(minutes=10))
    await dispatcher.send_all()
    text = one(engine, drill, "sg-dcs", "sms")
    assert fake_notify.set_status(text.provider_id or "", "technical-failure") is None

    clock.advance(9 * 60)
    assert await dispatcher.poll_statuses() == 0  # not overdue yet
    clock.advance(2 * 60)
    assert await dispatcher.poll_statuses() == 2  # both texts; Harriet's is still in flight
    looked_up = [r for r in fake_notify.requests() if r.method == "GET"]
    assert {r.path for r in looked_up} >= {f"/v2/notifications/{text.provider_id}"}

    failed = one(engine, drill, "sg-dcs", "sms")
    assert (failed.status, failed.provider_status) == (MessageStatus.failed, "technical-failure")
    node = read_nodes(engine, drill.id)["sg-dcs"]
    assert node.escalated_at == clock.now
    escalations = [m for m in read_messages(engine, drill.id) if m.purpose == Purpose.escalation]
    assert {m.contact_id for m in escalations} == {"sg-lead"}
    # Harriet's text, still in flight at Notify, is asked about again only after another wait
    assert await dispatcher.poll_statuses() == 0
    clock.advance(11 * 60)
    assert await dispatcher.poll_statuses() == 1


async def test_a_lost_receipt_and_a_text_sent_abroad_are_settled_by_polling(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran", email=None)
    make_contact(session, "sg-dcs", "Tomasz Wójcik", email=None)
    session.commit()
    drill = announce(session, engine, rules)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, status_poll=timedelta(minutes=10))
    await dispatcher.send_all()
    delivered = one(engine, drill, "sg-lead", "sms")
    abroad = one(engine, drill, "sg-dcs", "sms")
    fake_notify.set_status(delivered.provider_id or "", "delivered")  # no callback URL set
    fake_notify.set_status(abroad.provider_id or "", "sent")

    clock.advance(11 * 60)
    assert await dispatcher.poll_statuses() == 2
    assert one(engine, drill, "sg-lead", "sms").status == MessageStatus.delivered
    settled = one(engine, drill, "sg-dcs", "sms")
    assert (settled.status, settled.provider_status) == (MessageStatus.sent, "sent")
    clock.advance(60 * 60)
    assert await dispatcher.poll_statuses() == 0  # `sent` is final: nothing more to ask


async def test_on_postgresql_only_the_leading_replica_sends(
    session: Session,
    engine: Engine,
    database_url: str,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """One rate limit for the service: two replicas running, one sends everything; when it
    stops, the other takes over."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one process, which always leads")
    for n in range(6):
        make_contact(session, f"sg-{n:02d}", f"Steering member {n}")
    session.commit()
    drill = announce(session, engine, rules)
    other_replica = make_engine(database_url)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    first = make_dispatcher(clock)
    second = make_dispatcher(clock, replica=other_replica)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running = [asyncio.create_task(first.run(stop_first, idle_seconds=0.05))]
    try:
        while first.sent < 12:
            await asyncio.sleep(0.05)
        running.append(asyncio.create_task(second.run(stop_second, idle_seconds=0.05)))
        await asyncio.sleep(0.3)
        make_contact(session, "sg-late", "Aisha Rahman")
        session.commit()
        late = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
        for _ in range(100):
            if first.sent >= 26:
                break
            await asyncio.sleep(0.05)
        assert (first.sent, second.sent) == (26, 0)  # 7 people by e-mail and text
        stop_first.set()
        await running[0]
        third = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
        for _ in range(200):
            if second.sent >= 14:
                break
            await asyncio.sleep(0.05)
        assert second.sent == 14  # the other replica took over within seconds
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(*running)
        other_replica.dispose()
    assert {m.status for m in read_messages(engine, drill.id)} == {MessageStatus.sent}
    assert {m.status for m in read_messages(engine, late.id)} == {MessageStatus.sent}
    assert {m.status for m in read_messages(engine, third.id)} == {MessageStatus.sent}


async def test_a_drill_meeting_the_daily_sms_limit_reaches_everyone_by_e_mail(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
) -> None:
    """The 10,000-person drill of bench/daily_limit.py, at 240 people and a limit of 60 texts a
    day: no one dropped, SMS paused, e-mail carries on, escalations go out, the pause is shown."""
    insert_tree(engine, tree_rows(240, now=ANNOUNCED, steering=12, depth=3, window=15))
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, on_pause=on_medium_paused(rules), concurrency=20)
    fake_notify.configure(daily_limits={"sms": 60})

    await dispatcher.send_all()
    for _ in range(3):  # each level's window closes unacknowledged: escalate, message the next
        clock.advance(16 * 60)
        run_due(engine, now=clock.now, handlers=build_handlers(rules), worker="test")
        await dispatcher.send_all()

    nodes = read_nodes(engine, drill.id)
    assert len(nodes) == 240 and all(n.notified_at is not None for n in nodes.values())
    messages = read_messages(engine, drill.id)
    assert [m for m in messages if m.status == MessageStatus.failed] == []
    announced = {(m.contact_id, m.medium): m for m in messages if m.purpose == Purpose.drill}
    assert {announced[(cid, "email")].status for cid in nodes} == {MessageStatus.sent}
    texts = [m for m in messages if m.medium == "sms"]
    assert (
        sum(m.status == MessageStatus.sent for m in texts) == 60 == fake_notify.daily_count("sms")
    )
    assert {m.status for m in texts} == {MessageStatus.sent, MessageStatus.queued}
    escalations = [m for m in messages if m.purpose == Purpose.escalation and m.medium == "email"]
    assert escalations and {m.status for m in escalations} == {MessageStatus.sent}
    with Session(engine) as reading:
        shown = progress.progress(reading, drill, now=clock.now).paused
    assert [p.message for p in shown] == ["SMS paused until 00:00 UTC: Notify's daily limit"]


async def test_every_text_in_flight_when_the_daily_limit_is_met_reaches_its_person_by_e_mail(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    fake_notify: FakeNotify,
    smtp_sink: SmtpSink,
) -> None:
    """Many texts are in flight when Notify answers "Exceeded send limits (sms: 5) for today":
    their answers come back in several batches, and each batch's texts wait for midnight. Every
    one of those people (texts only, an e-mail address to spare) is e-mailed the drill exactly
    once, whichever batch their text came back in, and nothing is marked failed."""
    insert_tree(
        engine, tree_rows(40, now=ANNOUNCED, steering=40, depth=1, window=15, channels=("sms",))
    )
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, on_pause=on_medium_paused(rules), concurrency=16)
    fake_notify.configure(daily_limits={"sms": 5})
    fake_notify.latency = 0.02  # answers overlap, as over the internet
    try:
        await dispatcher.send_all()
    finally:
        fake_notify.latency = 0.0

    messages = read_messages(engine, drill.id)
    assert [m for m in messages if m.status == MessageStatus.failed] == []
    texts = {m.contact_id: m for m in messages if m.medium == "sms" and m.purpose == Purpose.drill}
    assert len(texts) == 40
    sent = {who for who, m in texts.items() if m.status == MessageStatus.sent}
    waiting = {who for who, m in texts.items() if m.status == MessageStatus.queued}
    assert len(sent) == 5 == fake_notify.daily_count("sms") and len(waiting) == 35
    e_mails = Counter(
        m.contact_id for m in messages if m.medium == "email" and m.purpose == Purpose.drill
    )
    assert e_mails == dict.fromkeys(waiting, 1)
    assert {m.status for m in messages if m.medium == "email"} == {MessageStatus.sent}
    received = smtp_sink.wait_for_messages(35)
    assert sorted(r.rcpt_tos for r in received) == sorted((f"{w}@example.org",) for w in waiting)
    with Session(engine) as reading:
        told = [e for e in timeline.entries(reading, drill.id) if e.kind == "cascade_medium_paused"]
    assert sum(e.data["reached"] for e in told) == 35 and all(e.data["reached"] for e in told)


async def test_no_more_rows_wait_for_a_rate_limit_than_it_lets_go_in_a_second(
    session: Session,
    engine: Engine,
    rules: Rules,
    make_dispatcher: MakeDispatcher,
    database_url: str,
    smtp_sink: SmtpSink,
    fake_notify: FakeNotify,
) -> None:
    """DISPATCH_CONCURRENCY far above what the providers' limits let go: the rows claimed to wait
    for a limit stay within a second's sends (600 a minute: 9), so a steering-group message queued
    later waits behind those, not behind everything that could be in flight."""
    insert_tree(engine, tree_rows(12, now=ANNOUNCED, steering=12, depth=1, window=15))
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    settings = channel_settings(
        database_url,
        smtp_sink,
        fake_notify,
        notify_rate_limit_per_minute=600,
        smtp_rate_limit_per_minute=600,
    )
    clock = Clock(ANNOUNCED + timedelta(seconds=1))
    dispatcher = make_dispatcher(clock, settings=settings, concurrency=150)

    assert await dispatcher.step() == 9
    assert await dispatcher.step() == 0  # all nine still wait for the limit
    await dispatcher.send_all()

    messages = read_messages(engine, drill.id)
    assert len(messages) == 24
    assert {m.status for m in messages} == {MessageStatus.sent}
    assert len(smtp_sink.wait_for_messages(12)) == 12
    assert len(sms_posts(fake_notify)) == 12
