"""SIGTERM while a text message hangs at the provider: the process waits SHUTDOWN_DRAIN_SECONDS
for it, then hands it back (queued, in doubt) and exits, leaving nothing `sending`. Notify does
accept it in the end; the restarted server asks Notify by reference before sending, finds it,
and sends nobody a second text. (A SIGTERM whose sends all finish within the drain is
tests/faults/test_cascade_crash.py.)"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.db import make_engine
from service.migrate import upgrade
from tests.faults.cascade import all_sent, announce, messages_in, owners, per_person_by_reference
from tests.notify.fake_notify import FakeNotify
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

PEOPLE = 12
HANG_SECONDS = 6.0
DRAIN_SECONDS = 1.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _run(database_url: str, workdir: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    insert_tree(engine, tree_rows(PEOPLE, now=datetime.now(UTC), channels=("sms",)))
    notify = FakeNotify(latency=0.02)
    notify.slow(times=1, delay=HANG_SECONDS)  # the first request hangs
    with notify, servers() as started:
        env = server_env(
            database_url,
            sms_channel="govuk_notify",
            notify_api_key=notify.api_key,
            notify_base_url=notify.base_url,
            notify_sms_template_id=notify.sms_template_id,
            notify_rate_limit_per_minute=600_000,
            notify_timeout_seconds=30,
            dispatch_concurrency=4,
            shutdown_drain_seconds=DRAIN_SECONDS,
        )
        key = create_api_key(env, workdir, "inspections:write")
        first = Server(env, workdir, "first")
        started.append(first.start())
        inspection_id = announce(first, key, "drain")
        poll(lambda: notify.requests(), timeout=30, what="a text message went to Notify")
        assert first.process is not None
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(STOP_TIMEOUT) in (0, -signal.SIGTERM), first.log()
        assert "sends_handed_back" in first.log()
        assert messages_in(engine, inspection_id, "sending") == set()
        handed_back = messages_in(engine, inspection_id, "queued")
        assert handed_back, "nothing was left to hand back"
        assert notify.wait_idle(HANG_SECONDS + 5)  # Notify accepts the hung one after all
        accepted_late = {str(n.reference) for n in notify.notifications()} & handed_back
        assert accepted_late, "the hung text was never accepted: nothing was in doubt"

        second = Server(env, workdir, "second")
        started.append(second.start())
        poll(
            lambda: all_sent(engine, inspection_id, PEOPLE, media=("sms",)),
            timeout=60,
            what="every text sent after the restart",
            interval=0.2,
        )
        second.stop(signal.SIGTERM)
        assert "in_doubt_message_was_accepted" in second.log()
        owner = owners(engine, inspection_id)
    engine.dispose()
    texts = per_person_by_reference([str(n.reference) for n in notify.notifications()], owner)
    assert len(texts) == PEOPLE and set(texts.values()) == {1}, texts


def test_sigterm_with_a_send_hanging_on_sqlite_hands_it_back_and_sends_once(
    tmp_path: Path,
) -> None:
    _run(f"sqlite:///{tmp_path / 'drain.db'}", tmp_path)


def test_sigterm_with_a_send_hanging_on_postgresql_hands_it_back_and_sends_once(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run(url, tmp_path)
