"""GOV.UK Notify down mid-cascade: first nothing listens on its port (connection refused), then
it answers every request 500, then 429 (its per-minute limit) to every send; then it is back.
Afterwards everyone has exactly one e-mail and one text, the steering group's went first, and no
message spent an attempt on the outage.

Phases move on as soon as the running server has met each one and held the provider again
(rather than after fixed minutes), about 30 s in all instead of the two minutes of the issue: a
longer outage only repeats the same holds, each longer (at most a minute,
service/notify/outages.py), and costs no attempt either way. MESSAGE_MAX_ATTEMPTS is 3, so a
dispatcher counting outage failures against the message would mark messages failed within the
first two phases. E-mail goes through Notify too, so the outage is of every medium. SQLite
only: the holds are the dispatcher's, in memory, whatever the database; the database side of a
retry is the same statement as any other."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.db import make_engine
from service.migrate import upgrade
from service.notify.models import Message
from tests.faults.cascade import all_sent, announce, owners, per_person_by_reference
from tests.notify.fake_notify import FakeNotify
from tests.processes import Server, create_api_key, free_port, poll, server_env, servers
from tests.trees import insert_tree, tree_rows

PEOPLE = 120
"""12 in the steering group, then 24, 48 and 36 (tests/trees.py)."""
CONCURRENCY = 10
MAX_ATTEMPTS = 3
PHASE_TIMEOUT = 60.0
"""A hang guard per phase: each ends at the dispatcher's next hold, under 2 + 4 + 8 + 16 s."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _holds(server: Server) -> int:
    return server.log().count("provider_unavailable")


def _answered(notify: FakeNotify, status: int) -> int:
    return sum(1 for request in notify.requests() if request.status == status)


def _priorities(engine: sa.Engine, inspection_id: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Message.id, Message.priority).where(
                Message.inspection_id == uuid.UUID(inspection_id)
            )
        ).all()
    return {str(uuid.UUID(str(row.id))): row.priority for row in rows}


def _attempts(engine: sa.Engine, inspection_id: str) -> Counter[str]:
    """How many of the inspection's messages are in each status with each count of attempts."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Message.status, Message.attempts).where(
                Message.inspection_id == uuid.UUID(inspection_id)
            )
        ).all()
    return Counter(f"{row.status}/{row.attempts}" for row in rows)


def test_notify_refusing_then_failing_then_limiting_costs_no_attempt_and_loses_nothing(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'outage.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    insert_tree(engine, tree_rows(PEOPLE, now=datetime.now(UTC), window=0))
    notify = FakeNotify(port=free_port(), latency=0.01)  # not started: connections are refused
    env = server_env(
        database_url,
        email_channel="govuk_notify",
        sms_channel="govuk_notify",
        notify_api_key=notify.api_key,
        notify_base_url=notify.base_url,
        notify_email_template_id=notify.email_template_id,
        notify_sms_template_id=notify.sms_template_id,
        notify_rate_limit_per_minute=600_000,
        dispatch_concurrency=CONCURRENCY,
        message_max_attempts=MAX_ATTEMPTS,
    )
    try:
        with servers() as started:
            key = create_api_key(env, tmp_path, "inspections:write")
            server = Server(env, tmp_path, "server")
            started.append(server.start())
            inspection_id = announce(server, key, "outage")

            poll(lambda: _holds(server) >= 2, timeout=PHASE_TIMEOUT, what="two refused holds")
            assert "notify_unreachable" in server.log()

            notify.server_error(times=10**6, status=500)
            notify.start()
            seen = _holds(server)
            poll(
                lambda: _holds(server) > seen and _answered(notify, 500) > 0,
                timeout=PHASE_TIMEOUT,
                what="Notify answered 500 and the provider was held again",
            )
            errors = _answered(notify, 500)

            notify.reset()  # forgets the 500s still queued, and the requests it recorded
            notify.rate_limit(times=10**6)
            seen = _holds(server)
            poll(
                lambda: _holds(server) > seen and _answered(notify, 429) > 0,
                timeout=PHASE_TIMEOUT,
                what="Notify answered 429 and the provider was held again",
            )
            limited = _answered(notify, 429)
            assert notify.notifications() == []
            assert _attempts(engine, inspection_id).keys() <= {"queued/0", "sending/1"}

            notify.reset()  # Notify is back
            poll(
                lambda: all_sent(engine, inspection_id, PEOPLE),
                timeout=PHASE_TIMEOUT,
                what="every message sent once Notify was back",
                interval=0.2,
            )
            server.stop(signal.SIGTERM)
    finally:
        notify.stop()

    attempts = _attempts(engine, inspection_id)
    assert attempts == {"sent/1": 2 * PEOPLE}, attempts
    owner = owners(engine, inspection_id)
    priority = _priorities(engine, inspection_id)
    engine.dispose()

    accepted = notify.notifications()
    for kind in ("email", "sms"):
        references = [str(n.reference) for n in accepted if n.type == kind]
        per_person = per_person_by_reference(references, owner)
        assert len(per_person) == PEOPLE and set(per_person.values()) == {1}, kind

    order = [priority[str(n.reference)] for n in accepted]
    steering = [i for i, level in enumerate(order) if level == 1]
    assert len(steering) == 2 * 12
    assert order[0] == 1
    assert max(steering) < min(i for i, level in enumerate(order) if level >= 3), (
        order,
        [str(n.reference) for n in accepted][-3:],
    )
    print(f"\noutage met: {errors} answers 500, {limited} answers 429, {_holds(server)} holds")
