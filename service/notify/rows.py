"""The outbox rows' side of dispatch, in the database: claiming due rows highest priority first
(and rows whose claimer's lease ran out, as in doubt), recording each send's outcome (sent, a
retry after backoff, a provider held after an outage, a medium paused at its daily limit, a
permanent failure turned into an escalation), and handing back what a stopping process did not
finish. `service.notify.dispatch` runs the sends in the event loop around these."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from service.notify import pauses
from service.notify.channels.base import (
    Accepted,
    ChannelError,
    DailyLimitError,
    Medium,
    PermanentError,
    ProviderUnavailable,
    RetryableError,
)
from service.notify.models import (
    DeliveryFailed,
    MediumPause,
    MediumPaused,
    Message,
    MessageStatus,
)

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 900.0


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; never sooner than `retry_after` (a configuration error's
    long wait: GOV.UK Notify itself never sends Retry-After)."""
    ceiling = min(MAX_BACKOFF_SECONDS, 2.0 * 2 ** max(0, attempts - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    medium: Medium
    address: str
    subject: str
    body: str
    html_body: str | None
    attempts: int
    in_doubt: bool
    """An earlier attempt may have reached the provider (it timed out, failed oddly, or its
    process died holding the row): ask the provider by reference before sending again. A row
    with a `last_error` was tried, even when an outage gave its attempt back."""


@dataclass(frozen=True)
class Outcome:
    message_id: uuid.UUID
    provider: str
    accepted: Accepted | None = None
    error: ChannelError | None = None
    at: datetime | None = None
    medium: Medium | None = None
    retry_at: datetime | None = None
    """When the provider is tried again after an outage (one moment for every message held)."""


def claim(
    engine: Engine, *, now: datetime, limit: int, lease: timedelta = timedelta(seconds=60)
) -> list[Claimed]:
    """Take up to `limit` rows that are due, or whose claimer's lease ran out, highest priority
    first, in a transaction of their own."""
    with Session(engine) as session:
        claimed = _claim_in(session, now=now, limit=limit, lease=lease)
        session.commit()
    return claimed


def record_and_claim(
    engine: Engine,
    outcomes: list[Outcome],
    *,
    on_failure: DeliveryFailed,
    max_attempts: int,
    now: datetime,
    on_pause: MediumPaused | None = None,
    limit: int,
    lease: timedelta = timedelta(seconds=60),
    expired: bool = True,
) -> list[Claimed]:
    """`record` then `claim` in one transaction: on SQLite every transaction that writes first
    waits its turn for the file's one write lock, and that wait, not the SQL, was most of a
    dispatcher step. Both or neither: a claim that fails leaves the outcomes to be written
    again. `expired`: also look for rows whose claimer's lease ran out."""
    with Session(engine, expire_on_commit=False) as session:
        _record_in(
            session,
            outcomes,
            on_failure=on_failure,
            max_attempts=max_attempts,
            now=now,
            on_pause=on_pause,
        )
        claimed = (
            _claim_in(session, now=now, limit=limit, lease=lease, expired=expired)
            if limit > 0
            else []
        )
        session.commit()
    return claimed


CLAIMED_COLUMNS = ("id", "attempts", "medium", "address", "subject", "body")
CLAIMED_COLUMNS += ("html_body", "priority", "next_attempt_at", "last_error")


@functools.cache
def _claim_statement(*, expired: bool, locking: bool) -> sa.Update:
    """One statement that picks and takes the rows, built and compiled once: the ORM's select
    then update, with the paused media read apart, cost about a fifth of the dispatcher's time
    under a cascade. The pick is an ordered walk of `ix_message_due` (one `status` each)."""
    table: sa.Table = Message.__table__  # type: ignore[attr-defined]
    paused: sa.Table = MediumPause.__table__  # type: ignore[attr-defined]
    c = table.c
    now = sa.bindparam("now")
    if expired:  # a claimer died holding them
        status, due = MessageStatus.sending, c.claimed_until < now
    else:
        status, due = MessageStatus.queued, c.next_attempt_at <= now
    pick = (
        sa.select(c.id)
        .where(c.status == status, due)
        .where(c.medium.not_in(sa.select(paused.c.medium).where(paused.c.paused_until > now)))
        .order_by(c.priority, c.next_attempt_at)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if locking:
        taken = sa.and_(c.id.in_(pick.with_for_update(skip_locked=True)), c.status == status)
    else:
        # On SQLite the UPDATE itself holds the one write lock until the commit, so the rows
        # picked cannot change before they are taken. A second `status` term here made SQLite
        # walk every row of that status through its index to test each against the pick (16 ms
        # a claim with 20,000 queued against 1.3 by primary key: tests/notify/test_rows.py).
        taken = c.id.in_(pick)
    return (
        sa.update(table)
        .where(taken)
        .values(status=MessageStatus.sending, claimed_until=sa.bindparam("until"))
        .values(attempts=c.attempts + 1)
        .returning(*(c[name] for name in CLAIMED_COLUMNS))
    )


def _claim_in(
    session: Session, *, now: datetime, limit: int, lease: timedelta, expired: bool = True
) -> list[Claimed]:
    """Rows whose claimer's lease ran out first (`expired`: there are never more than a
    dispatcher's slots of them, so a caller may look for them less often), then queued rows due,
    highest priority first."""
    connection = session.connection()
    locking = connection.dialect.name == "postgresql"
    params = {"now": now, "until": now + lease}
    claimed: list[Claimed] = []
    for lapsed in (True, False) if expired else (False,):
        if len(claimed) >= limit:
            break
        statement = _claim_statement(expired=lapsed, locking=locking)
        rows = connection.execute(statement, {**params, "limit": limit - len(claimed)}).all()
        rows.sort(key=lambda row: (row.priority, row.next_attempt_at))
        # A row that was sending (its claimer died) or was tried before may have been accepted.
        claimed += [
            Claimed(
                id=row.id,
                medium=Medium(row.medium),
                address=row.address,
                subject=row.subject,
                body=row.body,
                html_body=row.html_body,
                attempts=row.attempts,
                in_doubt=lapsed or row.attempts > 1 or row.last_error is not None,
            )
            for row in rows
        ]
    return claimed


def release_in_doubt(engine: Engine, *, now: datetime) -> int:
    """On SQLite one dispatcher runs, so at its start every `sending` row belonged to a process
    that is gone: make them claimable now rather than when their lease runs out."""
    with Session(engine) as session:
        result = session.execute(
            sa.update(Message)
            .where(Message.status == MessageStatus.sending)
            .values(claimed_until=now)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def hand_back(engine: Engine, ids: list[uuid.UUID], now: datetime) -> int:
    """Rows a stopping process did not finish sending: queued and due now. Their attempt stays
    counted, so the next claimer asks the provider about them before sending again."""
    with Session(engine) as session:
        result = session.execute(
            sa.update(Message)
            .where(col(Message.id).in_(ids), Message.status == MessageStatus.sending)
            .values(status=MessageStatus.queued, next_attempt_at=now, claimed_until=None)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record(
    engine: Engine,
    outcomes: list[Outcome],
    *,
    on_failure: DeliveryFailed,
    max_attempts: int,
    now: datetime,
    on_pause: MediumPaused | None = None,
) -> None:
    """Write outcomes in one transaction; permanent failures escalate in that same transaction,
    and a spent daily limit pauses its medium in it."""
    record_and_claim(
        engine,
        outcomes,
        on_failure=on_failure,
        max_attempts=max_attempts,
        now=now,
        on_pause=on_pause,
        limit=0,
    )


def _record_in(
    session: Session,
    outcomes: list[Outcome],
    *,
    on_failure: DeliveryFailed,
    max_attempts: int,
    now: datetime,
    on_pause: MediumPaused | None,
) -> None:
    accepted = [o for o in outcomes if o.accepted is not None]
    limited: dict[Medium, DailyLimitError] = {}
    if accepted:  # the common case, in one statement
        table = Message.__table__
        session.execute(
            sa.update(table)
            .where(
                table.c.id == sa.bindparam("message_id"),
                table.c.status == MessageStatus.sending,
            )
            .values(
                status=MessageStatus.sent,
                provider=sa.bindparam("channel"),
                provider_id=sa.bindparam("reference"),
                sent_at=sa.bindparam("at"),
                claimed_until=None,
                last_error=None,
            ),
            [
                {
                    "message_id": o.message_id,
                    "channel": o.provider,
                    "reference": o.accepted.provider_id if o.accepted else None,
                    "at": o.at or now,
                }
                for o in accepted
            ],
        )
    for outcome in outcomes:
        if outcome.accepted is not None:
            continue
        message = session.get(Message, outcome.message_id)
        if message is None or message.status != MessageStatus.sending:
            continue  # a receipt or another claimer got there first
        message.provider = outcome.provider
        message.claimed_until = None
        if isinstance(outcome.error, DailyLimitError):
            _wait_for_the_limit(message, now=now)
            limited.setdefault(Medium(message.medium), outcome.error)
        elif isinstance(outcome.error, ProviderUnavailable):
            _wait_for_the_provider(message, outcome, now=now)
        elif isinstance(outcome.error, PermanentError) or (
            isinstance(outcome.error, RetryableError) and message.attempts >= max_attempts
        ):
            message.status = MessageStatus.failed
            message.failed_at = now
            message.last_error = outcome.error.message[:1000]
            session.add(message)
            session.flush()
            try:
                with session.begin_nested():  # a failed escalation must not stall the batch
                    on_failure(session, message, outcome.error.message, now)
            except Exception:
                log.exception("escalation_after_failure_failed", message_id=str(message.id))
        else:
            error = outcome.error
            retry_after = error.retry_after if isinstance(error, RetryableError) else None
            message.status = MessageStatus.queued
            message.next_attempt_at = now + timedelta(
                seconds=backoff(message.attempts, retry_after)
            )
            message.last_error = error.message[:1000] if error else None
        session.add(message)
    for medium, error in limited.items():
        _pause(session, medium, error, on_pause=on_pause, now=now)


def _wait_for_the_limit(message: Message, *, now: datetime) -> None:
    """Back in the queue until the limit starts again, the attempt given back: a limit is no
    failure of the message."""
    until = pauses.next_midnight_utc(now)
    message.status = MessageStatus.queued
    message.attempts = max(0, message.attempts - 1)
    message.next_attempt_at = until
    message.last_error = pauses.Pause(
        Medium(message.medium), until, pauses.DAILY_LIMIT_REASON, now
    ).message


def _wait_for_the_provider(message: Message, outcome: Outcome, *, now: datetime) -> None:
    """Back in the queue until the provider is tried again, the attempt given back: an outage is
    no failure of the message. Every held message comes due at the same moment, so the claim's
    priority order (steering group first) decides what goes first when the provider is back."""
    error = outcome.error
    assert isinstance(error, ProviderUnavailable)
    message.status = MessageStatus.queued
    message.attempts = max(0, message.attempts - 1)
    message.next_attempt_at = outcome.retry_at or now + timedelta(
        seconds=backoff(1, error.retry_after)
    )
    message.last_error = error.message[:1000]


def _pause(
    session: Session,
    medium: Medium,
    error: DailyLimitError,
    *,
    on_pause: MediumPaused | None,
    now: datetime,
) -> None:
    """Pause `medium` (once, whoever meets the limit first) and reach the people whose messages
    now wait on it another way. Run after every message of the batch is back in the queue, and
    again for every later batch that puts more back: texts in flight when the limit was met come
    back in batches of their own, and their people wait as much as the first one's (the hook
    reaches each person once, however often it runs)."""
    until = pauses.next_midnight_utc(now)
    if pauses.pause(session, medium, until=until, reason=pauses.DAILY_LIMIT_REASON, now=now):
        log.error(
            "daily_limit_reached", medium=medium.value, until=until.isoformat(), error=error.message
        )
    if on_pause is None:
        return
    session.flush()
    try:
        with session.begin_nested():
            on_pause(session, medium, now)
    except Exception:
        log.exception("reaching_people_after_pause_failed", medium=medium.value)
