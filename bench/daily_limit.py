"""Notify's daily SMS limit met in the middle of a 10,000-person drill, on a real
`inspection-week serve` process: e-mail to a real SMTP server on loopback, SMS to the fake
GOV.UK Notify (its own process) with its daily SMS limit set to 2,000 and its rate limit at
Notify's default 3,000 a minute.

The tree (tests/trees.py): 12 in the steering group, depth 4, every window 0 so the whole tree
goes at once, except one person in `--window-every` at the bottom, whose one-minute window
closes unacknowledged while SMS is paused (an escalation: their deputy is told). One person in
`--texts-only-every` chose texts only and has an e-mail address on file: when SMS pauses, the
ones still waiting must be sent the drill by e-mail at once.

Prints: people reached, SMS accepted (at most the limit), SMS paused (waiting for midnight UTC),
e-mails sent, people reached by e-mail instead of a paused text, escalations sent, rows failed
(none), whether the cascade API and the dashboard page show the pause, and a PASS or MISS line
for each of "no one dropped, SMS paused, e-mail carries on, escalations go out, dashboard shows
the pause".

    .venv/bin/python bench/daily_limit.py [--people 10000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import record  # noqa: E402
from bench.cascade import (  # noqa: E402
    DISPATCH_CONCURRENCY,
    LATENCY_MS,
    NOTIFY_LIMIT,
    announce,
    database,
    fake_notify_process,
    peak_memory_mb,
    postgres_answers,
    sending_env,
)
from bench.pages import signed_in_client  # noqa: E402
from service.cascade.models import CascadeNode  # noqa: E402
from service.contacts.models import Contact  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.notify.models import MediumPause, Message, MessageStatus, Purpose  # noqa: E402
from tests.notify.fake_notify import FakeNotifyControl  # noqa: E402
from tests.notify.smtp_sink import SmtpSink  # noqa: E402
from tests.processes import Server, create_api_key  # noqa: E402
from tests.trees import insert_tree, tree_rows  # noqa: E402

DAILY_SMS_LIMIT = 2_000
SMTP_PER_MINUTE = 6_000
"""The service's default SMTP_RATE_LIMIT_PER_MINUTE."""
PAUSE_TEXT = "SMS paused until 00:00 UTC: Notify&#39;s daily limit"
"""As the dashboard page writes it (HTML-escaped)."""
ANNOUNCING = (Purpose.announcement, Purpose.drill)
ACCEPTED = (MessageStatus.sent, MessageStatus.delivered)


def drill_tree(
    people: int, *, window: int, window_every: int, texts_only_every: int
) -> list[dict[str, Any]]:
    rows = tree_rows(people, now=datetime.now(UTC), window=0)
    bottom = rows[-1]["role"]
    for n, row in enumerate(rows):
        if n % texts_only_every == 0:
            row["channels"] = ["sms"]
        if row["role"] == bottom and n % window_every == 0:
            row["ack_window_minutes"] = window
    return rows


def settled(engine: sa.Engine, inspection_id: uuid.UUID, people: int) -> tuple[bool, str]:
    """Everyone notified, every window closed, nothing left to send but texts that wait while
    SMS is paused (the ones that met the limit, and the ones never tried since)."""
    with engine.connect() as connection:
        notified, open_windows = connection.execute(
            sa.select(
                sa.func.count(CascadeNode.notified_at),
                sa.func.count().filter(
                    CascadeNode.window_minutes > 0, CascadeNode.escalated_at.is_(None)
                ),
            ).where(CascadeNode.inspection_id == inspection_id)
        ).one()
        sms_paused = connection.execute(
            sa.select(MediumPause.medium).where(
                MediumPause.medium == "sms", MediumPause.paused_until > datetime.now(UTC)
            )
        ).first()
        unsent = Message.status.in_([MessageStatus.queued, MessageStatus.sending])
        if sms_paused:
            unsent = sa.and_(
                unsent, sa.not_(sa.and_(Message.medium == "sms", Message.status == "queued"))
            )
        to_send = connection.execute(
            sa.select(sa.func.count()).where(Message.inspection_id == inspection_id, unsent)
        ).scalar_one()
    return (
        notified == people and open_windows == 0 and to_send == 0,
        f"notified {notified}/{people}, windows open {open_windows}, still to send {to_send}"
        + (", SMS paused" if sms_paused else ""),
    )


@dataclass
class Figures:
    people: int
    reached: int
    notified: int
    sms_accepted: int
    sms_accepted_by_fake: int
    sms_paused: int
    emails_sent: int
    emails_after_pause: int
    texts_only_waiting: int
    texts_only_emailed_once: int
    texts_only_emailed_twice: int
    escalated: int
    escalations_sent: int
    escalations_waiting: int
    told: int
    failed: int
    pause_after_s: float | None
    last_email_s: float
    seconds: float
    refused_429: int
    api_shows: bool
    page_shows: bool
    peak_mb: float


def figures(engine: sa.Engine, inspection_id: uuid.UUID, started: datetime) -> dict[str, Any]:
    """What the database says happened."""
    with engine.connect() as connection:
        messages = connection.execute(
            sa.select(
                Message.contact_id,
                Message.medium,
                Message.purpose,
                Message.status,
                Message.sent_at,
                Message.dedupe_key,
            ).where(Message.inspection_id == inspection_id)
        ).all()
        nodes = connection.execute(
            sa.select(
                CascadeNode.contact_id,
                CascadeNode.notified_at,
                CascadeNode.escalated_at,
                CascadeNode.deputy_id,
                CascadeNode.parent_id,
            ).where(CascadeNode.inspection_id == inspection_id)
        ).all()
        channels = dict(connection.execute(sa.select(Contact.id, Contact.channels)).all())
        pause = connection.execute(
            sa.select(MediumPause.since).where(MediumPause.medium == "sms")
        ).scalar_one_or_none()
    announcing = [m for m in messages if m.purpose in ANNOUNCING]
    reached = {m.contact_id for m in announcing if m.status in ACCEPTED}
    texts_only = {cid for cid, chosen in channels.items() if list(chosen) == ["sms"]}
    waiting_texts = {
        m.contact_id
        for m in announcing
        if m.medium == "sms" and m.status == MessageStatus.queued and m.contact_id in texts_only
    }
    e_mailed = Counter(m.contact_id for m in announcing if m.medium == "email")
    escalations = [m for m in messages if m.purpose == Purpose.escalation]
    escalated = [n for n in nodes if n.escalated_at is not None]
    # who was told about: an escalation's dedupe key is "inspection:stand-in:escalation:who:medium"
    told_about = {m.dedupe_key.split(":")[-2] for m in escalations if m.status in ACCEPTED}
    emails = [m for m in messages if m.medium == "email" and m.status in ACCEPTED]
    return {
        "reached": len(reached),
        "notified": sum(n.notified_at is not None for n in nodes),
        "sms_accepted": sum(m.medium == "sms" and m.status in ACCEPTED for m in messages),
        "sms_paused": sum(m.medium == "sms" and m.status == MessageStatus.queued for m in messages),
        "emails_sent": len(emails),
        "emails_after_pause": sum(pause is not None and m.sent_at > pause for m in emails),
        "texts_only_waiting": len(waiting_texts),
        "texts_only_emailed_once": sum(e_mailed[c] == 1 for c in waiting_texts),
        "texts_only_emailed_twice": sum(n > 1 for n in e_mailed.values()),
        "escalated": len(escalated),
        "escalations_sent": sum(m.status in ACCEPTED for m in escalations),
        "escalations_waiting": sum(m.status == MessageStatus.queued for m in escalations),
        "told": sum(n.contact_id in told_about for n in escalated),
        "failed": sum(m.status == MessageStatus.failed for m in messages),
        "pause_after_s": (pause - started).total_seconds() if pause else None,
        "last_email_s": max((m.sent_at for m in emails), default=started).timestamp()
        - started.timestamp(),
    }


def run_drill(args: argparse.Namespace, sink: SmtpSink, notify: dict[str, str]) -> Figures:
    control = FakeNotifyControl(notify["base_url"])
    control.configure(daily_limits={"sms": args.daily_sms_limit})
    with (
        tempfile.TemporaryDirectory(prefix="bench-daily-limit-") as folder,
        database(args.backend, Path(folder)) as url,
    ):
        workdir = Path(folder)
        engine = make_engine(url)
        upgrade(engine)
        insert_tree(
            engine,
            drill_tree(
                args.people,
                window=args.window_minutes,
                window_every=args.window_every,
                texts_only_every=args.texts_only_every,
            ),
        )
        env = sending_env(
            url,
            sink,
            notify,
            args.concurrency,
            notify_per_minute=NOTIFY_LIMIT,
            smtp_per_minute=SMTP_PER_MINUTE,
        )
        key = create_api_key(env, workdir, "inspections:write")
        server = Server(env, workdir, "daily-limit").start()
        try:
            inspection_id, started, _ = announce(server, key)
            clock = time.monotonic()
            deadline = clock + args.timeout
            shown = clock
            while True:
                done, state = settled(engine, uuid.UUID(inspection_id), args.people)
                if done:
                    break
                if time.monotonic() > deadline:
                    print(f"not settled after {args.timeout:g} s: {state}")
                    break
                if time.monotonic() - shown >= 15:
                    print(f"  {time.monotonic() - clock:5.0f} s: {state}", flush=True)
                    shown = time.monotonic()
                time.sleep(1)
            seconds = time.monotonic() - clock
            progress = server.http.get(
                f"/api/v1/inspections/{inspection_id}/cascade",
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            progress.raise_for_status()
            api_shows = any(
                p["message"] == "SMS paused until 00:00 UTC: Notify's daily limit"
                for p in progress.json()["paused"]
            )
            browser = signed_in_client(server, workdir)
            try:
                page = browser.get(f"/inspections/{inspection_id}", timeout=60)
                page_shows = page.status_code == 200 and PAUSE_TEXT in page.text
            finally:
                browser.close()
            peak = peak_memory_mb(server.pid)
            found = figures(engine, uuid.UUID(inspection_id), started)
        finally:
            server.stop(signal.SIGTERM)
            server.close()
            engine.dispose()
    texts = [n for n in control.notifications() if n["api"].get("type") == "sms"]
    refused = sum(r["status"] == 429 for r in control.requests() if r["method"] == "POST")
    control.close()
    return Figures(
        people=args.people,
        sms_accepted_by_fake=len(texts),
        seconds=seconds,
        refused_429=refused,
        api_shows=api_shows,
        page_shows=page_shows,
        peak_mb=peak,
        **found,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--concurrency", type=int, default=DISPATCH_CONCURRENCY, help="DISPATCH_CONCURRENCY"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=LATENCY_MS,
        help="added by the fake Notify to every answer: the round trip to the real service",
    )
    parser.add_argument(
        "--daily-sms-limit",
        type=int,
        default=DAILY_SMS_LIMIT,
        help="the fake's daily SMS limit (keep it under the texts the tree needs)",
    )
    parser.add_argument("--window-minutes", type=int, default=1)
    parser.add_argument(
        "--window-every",
        type=int,
        default=10,
        help="one person in this many at the bottom of the tree has a window (and is escalated)",
    )
    parser.add_argument(
        "--texts-only-every",
        type=int,
        default=3,
        help="one person in this many chose texts only (an e-mail address on file)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait at most")
    args = parser.parse_args()
    if args.backend == "postgresql" and not postgres_answers():
        print("PostgreSQL does not answer: nothing run")
        return 1

    with fake_notify_process(args.latency_ms, NOTIFY_LIMIT) as notify, SmtpSink() as sink:
        f = run_drill(args, sink, notify)

    print(
        f"drill of {f.people:,} people on {args.backend}: fake Notify's daily SMS limit "
        f"{args.daily_sms_limit:,}, rate limit {NOTIFY_LIMIT:,} a minute, answers after "
        f"{args.latency_ms:g} ms"
    )
    print(f"settled after {f.seconds:.1f} s; server peak memory {f.peak_mb:.0f} MB")
    if f.pause_after_s is not None:
        print(f"SMS paused {f.pause_after_s:.1f} s after the announce")
    rows = [
        ("people notified (cascade)", f.notified),
        ("people reached (an announcement accepted)", f.reached),
        ("SMS accepted (service's rows)", f.sms_accepted),
        ("SMS accepted (fake Notify's count)", f.sms_accepted_by_fake),
        ("SMS paused until midnight UTC", f.sms_paused),
        ("429 answers from the fake (either limit)", f.refused_429),
        ("e-mails sent", f.emails_sent),
        ("  of them after the pause began", f.emails_after_pause),
        ("texts-only people whose SMS waits", f.texts_only_waiting),
        ("  e-mailed the drill instead, exactly once", f.texts_only_emailed_once),
        ("people e-mailed the drill more than once", f.texts_only_emailed_twice),
        ("people escalated (window closed)", f.escalated),
        ("  their deputy told (an escalation accepted)", f.told),
        ("escalations sent", f.escalations_sent),
        ("escalations waiting for SMS", f.escalations_waiting),
        ("rows failed", f.failed),
    ]
    for label, value in rows:
        print(f"{label:<48}{value:>8,}")
    print(f"{'cascade API shows the pause':<48}{'yes' if f.api_shows else 'no':>8}")
    print(f"{'dashboard page shows the pause':<48}{'yes' if f.page_shows else 'no':>8}")
    print(f"{'last e-mail accepted after':<48}{f.last_email_s:>7.1f}s")
    print()
    verdicts = [
        (
            "no one dropped: everyone notified and reached, nothing failed",
            f.notified == f.people == f.reached and f.failed == 0,
        ),
        (
            f"SMS paused: at most {args.daily_sms_limit:,} accepted, the rest waiting, none failed",
            f.sms_accepted == f.sms_accepted_by_fake <= args.daily_sms_limit
            and f.sms_paused > 0
            and f.failed == 0,
        ),
        (
            "e-mail carries on: e-mails accepted after the pause, texts-only people e-mailed once",
            f.emails_after_pause > 0
            and f.texts_only_emailed_once == f.texts_only_waiting
            and f.texts_only_emailed_twice == 0,
        ),
        (
            "escalations go out: every escalated person's deputy told",
            f.escalated > 0 and f.told == f.escalated,
        ),
        ("dashboard shows the pause (page and cascade API)", f.api_shows and f.page_shows),
    ]
    for label, ok in verdicts:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    backend = args.backend
    record(
        "daily_limit", backend, f"people reached of {f.people:,}", f.reached, "", target=f.people
    )
    record(
        "daily_limit",
        backend,
        "last e-mail accepted after",
        f.last_email_s,
        "s",
        higher_is_better=False,
    )
    for label, ok in verdicts:
        short, _, detail = label.partition(":")
        record(
            "daily_limit",
            backend,
            short.split(" (")[0],
            1.0 if ok else 0.0,
            "met",
            target=1.0,
            why="" if ok else detail.strip() or label,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
