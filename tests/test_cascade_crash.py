"""Nothing lost, nothing doubled: a real server is SIGKILLed in the middle of a 2,000-person
cascade, started again, and the SMTP server and the fake GOV.UK Notify server count what each
person received."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.db import make_engine
from service.migrate import upgrade
from service.notify.models import Message
from tests.notify.fake_notify import FakeNotify
from tests.notify.smtp_sink import SmtpSink
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    server_env,
    servers,
)
from tests.trees import insert_tree, tree_rows

PEOPLE = 2000
CONCURRENCY = 50

pytestmark = pytest.mark.slow


def _announce(server: Server, key: str) -> str:
    response = server.http.post(
        "/api/v1/inspections",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "crash-test"},
        json={
            "framework": "sif-2013",
            "notified_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "lead_inspector": "Harriet Oyelaran",
            "drill": True,
        },
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _run_crash(database_url: str, workdir: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    insert_tree(engine, tree_rows(PEOPLE, now=datetime.now(UTC), window=0))

    with SmtpSink() as sink, FakeNotify() as notify, servers() as started:
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
        inspection_id = _announce(first, key)

        def delivered() -> int:
            return len(sink.messages) + len(notify.notifications())

        poll(lambda: delivered() >= PEOPLE // 2, timeout=120, what="a quarter of the cascade sent")
        first.stop(signal.SIGKILL)
        at_kill = delivered()
        assert at_kill < 2 * PEOPLE, "the cascade finished before the kill: nothing was tested"

        second = Server(env, workdir, "second")
        started.append(second.start())

        def all_sent() -> bool:
            with engine.connect() as connection:
                left = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(Message.inspection_id == uuid.UUID(inspection_id))
                    .where(Message.status != "sent")
                ).scalar()
            return left == 0

        poll(all_sent, timeout=180, what="every message sent after the restart", interval=0.5)
        second.stop(signal.SIGTERM)

        with engine.connect() as connection:
            owners = dict(
                connection.execute(
                    sa.select(Message.id, Message.contact_id).where(
                        Message.inspection_id == uuid.UUID(inspection_id)
                    )
                ).all()
            )
    engine.dispose()

    # SMS: every accepted notification names our message id as its reference.
    sms_per_person = Counter(owners[uuid.UUID(n.reference)] for n in notify.notifications())
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
    assert copies - PEOPLE <= CONCURRENCY, f"{copies - PEOPLE} e-mail copies after the crash"
    print(
        f"\nkilled after {at_kill} deliveries; "
        f"e-mail copies re-sent after the kill: {copies - PEOPLE}"
    )


def test_sigkill_mid_cascade_on_sqlite_loses_and_doubles_nothing(tmp_path: Path) -> None:
    _run_crash(f"sqlite:///{tmp_path / 'crash.db'}", tmp_path)


def test_sigkill_mid_cascade_on_postgresql_loses_and_doubles_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_postgres_database(postgres_url) as url:
        _run_crash(url, tmp_path)
