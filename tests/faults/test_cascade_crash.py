"""Nothing lost, nothing doubled: a real server is SIGKILLed in the middle of a cascade, started
again, and the SMTP server and the fake GOV.UK Notify server count what each person received.

The kill is made to land mid-cascade every time: the SMTP server sends it itself, at the moment
it has taken the KILL_AT-th e-mail and before it answers, while the fake Notify (which answers
after NOTIFY_LATENCY, like the real service over the internet) still holds text messages it will
accept after the sender is gone. So the restarted server always finds e-mail and SMS in doubt
(taken by the provider, not recorded as sent): SMS must be looked up by reference, not sent
again; e-mail is sent again with the same Message-ID."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.db import make_engine
from service.migrate import upgrade
from tests.faults.cascade import (
    all_sent,
    announce,
    emails_per_person,
    message_id,
    messages_in,
    owners,
    per_person_by_reference,
)
from tests.notify.fake_notify import FakeNotify
from tests.notify.smtp_sink import SmtpSink
from tests.processes import (
    STOP_TIMEOUT,
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    server_env,
    servers,
)
from tests.trees import insert_tree, tree_rows

PEOPLE = 200
CONCURRENCY = 50
KILL_AT = PEOPLE // 4
"""E-mails taken before the kill (more if no text message is in flight at that moment)."""
NOTIFY_LATENCY = 0.1

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class Trigger:
    """`sig` for the first server, from inside the SMTP server, once KILL_AT e-mails are taken
    and the fake Notify is holding at least one text message."""

    def __init__(self, notify: FakeNotify, sig: signal.Signals = signal.SIGKILL):
        self.notify = notify
        self.sig = sig
        self.pid: int | None = None
        self.fired = threading.Event()
        self.emails = self.texts = 0

    def on_message(self, taken: int) -> None:
        if self.pid is None or self.fired.is_set() or taken < KILL_AT:
            return
        if self.notify.in_flight() == 0:
            return
        os.kill(self.pid, self.sig)
        self.emails, self.texts = taken, len(self.notify.notifications())
        self.fired.set()


def _run_crash(database_url: str, workdir: Path, sig: signal.Signals = signal.SIGKILL) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    insert_tree(engine, tree_rows(PEOPLE, now=datetime.now(UTC), window=0))

    notify = FakeNotify(latency=NOTIFY_LATENCY)
    trigger = Trigger(notify, sig)
    with SmtpSink(on_message=trigger.on_message) as sink, notify, servers() as started:
        env = server_env(
            database_url,
            email_channel="smtp",
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_security="none",
            sms_channel="govuk_notify",
            notify_api_key=notify.api_key,
            notify_base_url=notify.base_url,
            notify_sms_template_id=notify.sms_template_id,
            notify_rate_limit_per_minute=600_000,
            smtp_rate_limit_per_minute=600_000,
            dispatch_concurrency=CONCURRENCY,
            dispatch_lease_seconds=3,
        )
        key = create_api_key(env, workdir, "inspections:write")
        first = Server(env, workdir, "first")
        started.append(first.start())
        trigger.pid = first.pid
        inspection_id = announce(first, key)

        assert trigger.fired.wait(60), "the signal never came: the cascade stalled or finished"
        assert first.process is not None
        if sig is signal.SIGTERM:
            _drained(first, engine, inspection_id)
            return _finish_after_drain(engine, inspection_id, env, workdir, started, notify, sink)
        assert first.process.wait(10) == -signal.SIGKILL
        # What the fake Notify still held is accepted now, as Notify would; only then may the
        # second server ask about it.
        assert notify.wait_idle(10)
        in_doubt = messages_in(engine, inspection_id, "sending")
        texts_in_doubt = {n.reference for n in notify.notifications()} & in_doubt
        emails_in_doubt = {message_id(m.parse()["Message-ID"]) for m in sink.messages} & in_doubt
        assert texts_in_doubt and emails_in_doubt, "nothing was in doubt: nothing was tested"
        assert trigger.emails + trigger.texts < 2 * PEOPLE

        second = Server(env, workdir, "second")
        started.append(second.start())

        poll(
            lambda: all_sent(engine, inspection_id, PEOPLE),
            timeout=120,
            what="every message sent after the restart",
            interval=0.2,
        )
        second.stop(signal.SIGTERM)

        owner = owners(engine, inspection_id)
    engine.dispose()

    # SMS: every accepted notification names our message id as its reference.
    sms_per_person = Counter(owner[uuid.UUID(n.reference)] for n in notify.notifications())
    assert len(sms_per_person) == PEOPLE
    assert set(sms_per_person.values()) == {1}, [p for p, c in sms_per_person.items() if c > 1]

    # E-mail: a copy re-sent after the crash carries the same Message-ID, which mail systems
    # treat as the same message; count distinct Message-IDs per person, and bound the copies.
    ids_per_person: dict[str, set[str]] = {}
    copies = 0
    for received in sink.messages:
        parsed = received.parse()
        person = str(parsed["To"]).split("@")[0].split("<")[-1]
        ids_per_person.setdefault(person, set()).add(str(parsed["Message-ID"]))
        copies += 1
    assert len(ids_per_person) == PEOPLE
    assert {len(ids) for ids in ids_per_person.values()} == {1}
    assert len(emails_in_doubt) <= copies - PEOPLE <= CONCURRENCY, f"{copies - PEOPLE} copies"
    print(
        f"\nkilled after {trigger.emails} e-mails and {trigger.texts} text messages; in doubt: "
        f"{len(emails_in_doubt)} e-mails, {len(texts_in_doubt)} text messages taken; "
        f"e-mail copies re-sent after the kill: {copies - PEOPLE}"
    )


def test_sigkill_mid_cascade_on_sqlite_loses_and_doubles_nothing(tmp_path: Path) -> None:
    _run_crash(f"sqlite:///{tmp_path / 'crash.db'}", tmp_path)


def test_sigkill_mid_cascade_on_postgresql_loses_and_doubles_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run_crash(url, tmp_path)


def _drained(first: Server, engine: sa.Engine, inspection_id: str) -> None:
    """A SIGTERM mid-cascade: the process finishes or hands back what it was sending, records
    it, and exits; nothing is left `sending`, and the cascade is not over."""
    assert first.process is not None
    assert first.process.wait(STOP_TIMEOUT) in (0, -signal.SIGTERM), first.log()
    assert "scheduler_stopped" in first.log()
    assert messages_in(engine, inspection_id, "sending") == set()
    assert not all_sent(engine, inspection_id, PEOPLE), "the cascade ended before the signal"


def _finish_after_drain(
    engine: sa.Engine,
    inspection_id: str,
    env: dict[str, str],
    workdir: Path,
    started: list[Server],
    notify: FakeNotify,
    sink: SmtpSink,
) -> None:
    """After a drain nothing is in doubt: the restarted server sends the rest, and every person
    has exactly one text (by reference) and exactly one e-mail (one copy, not only one
    Message-ID)."""
    second = Server(env, workdir, "second")
    started.append(second.start())
    poll(
        lambda: all_sent(engine, inspection_id, PEOPLE),
        timeout=120,
        what="every message sent after the restart",
        interval=0.2,
    )
    second.stop(signal.SIGTERM)
    owner = owners(engine, inspection_id)
    engine.dispose()
    texts = per_person_by_reference([str(n.reference) for n in notify.notifications()], owner)
    assert len(texts) == PEOPLE
    assert set(texts.values()) == {1}, [p for p, c in texts.items() if c > 1]
    emails, copies = emails_per_person(sink.messages)
    assert len(emails) == PEOPLE
    assert {len(ids) for ids in emails.values()} == {1}
    assert copies == PEOPLE, f"{copies - PEOPLE} e-mails sent twice after a graceful stop"


def test_sigterm_mid_cascade_on_sqlite_drains_and_sends_the_rest_once(tmp_path: Path) -> None:
    _run_crash(f"sqlite:///{tmp_path / 'drain.db'}", tmp_path, signal.SIGTERM)


def test_sigterm_mid_cascade_on_postgresql_drains_and_sends_the_rest_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run_crash(url, tmp_path, signal.SIGTERM)
