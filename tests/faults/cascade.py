"""What the fault tests share: announcing a drill through the API, reading the outbox rows of
one inspection, and counting what each person received at the providers."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from service.notify.models import Message
from tests.notify.smtp_sink import ReceivedMessage
from tests.processes import Server


def announce(
    server: Server,
    key: str,
    idempotency_key: str = "crash-test",
    *,
    drill: bool = True,
    notified_at: datetime | None = None,
    statuses: tuple[int, ...] = (201,),
) -> str:
    """Announce a drill, or an inspection (the cascade starts at once); the inspection's id. A
    retry with the same Idempotency-Key must send the same `notified_at`."""
    notified_at = notified_at or datetime.now(UTC) - timedelta(minutes=1)
    response = server.http.post(
        "/api/v1/inspections",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
        json={
            "framework": "sif-2013",
            "notified_at": notified_at.isoformat(),
            "lead_inspector": "Harriet Oyelaran",
            "drill": drill,
        },
        timeout=60,
    )
    assert response.status_code in statuses, response.text
    return str(response.json()["id"])


def messages_in(engine: sa.Engine, inspection_id: str, *status: str) -> set[str]:
    """Our message ids of the inspection, in any of `status`."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Message.id)
            .where(Message.inspection_id == uuid.UUID(inspection_id))
            .where(sa.or_(*(Message.status == s for s in status)))
        ).scalars()
        return {str(uuid.UUID(str(row))) for row in rows}


def all_sent(
    engine: sa.Engine, inspection_id: str, people: int, media: tuple[str, ...] = ("email", "sms")
) -> bool:
    """Everyone has a sent e-mail and a sent text, and nothing else is waiting: a later level's
    rows may not exist yet when the earlier ones are all sent."""
    with engine.connect() as connection:
        waiting = connection.execute(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(Message.inspection_id == uuid.UUID(inspection_id))
            .where(Message.status != "sent")
        ).scalar()
        reached = connection.execute(
            sa.select(Message.medium, sa.func.count(sa.distinct(Message.contact_id)))
            .where(Message.inspection_id == uuid.UUID(inspection_id))
            .where(Message.status == "sent")
            .group_by(Message.medium)
        ).all()
    return waiting == 0 and dict(reached) == dict.fromkeys(media, people)


def owners(engine: sa.Engine, inspection_id: str) -> dict[uuid.UUID, str]:
    """Each message id of the inspection and the contact it is for."""
    with engine.connect() as connection:
        return dict(
            connection.execute(
                sa.select(Message.id, Message.contact_id).where(
                    Message.inspection_id == uuid.UUID(inspection_id)
                )
            ).all()
        )


def message_id(header: str) -> str:
    """Our message id from an e-mail's Message-ID header (<id@domain>)."""
    return str(uuid.UUID(header.strip().strip("<>").split("@")[0]))


def per_person_by_reference(references: list[str], owner: dict[uuid.UUID, str]) -> Counter[str]:
    """How many accepted notifications each person has, by our message id sent as reference."""
    return Counter(owner[uuid.UUID(reference)] for reference in references)


def emails_per_person(received: list[ReceivedMessage]) -> tuple[dict[str, set[str]], int]:
    """Each addressee's distinct Message-IDs, and the copies taken in all."""
    ids: dict[str, set[str]] = {}
    for message in received:
        parsed = message.parse()
        person = str(parsed["To"]).split("@")[0].split("<")[-1]
        ids.setdefault(person, set()).add(str(parsed["Message-ID"]))
    return ids, len(received)
