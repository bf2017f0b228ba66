"""The outbox when the council's edit cannot be used for someone: that person gets the shipped
words, everyone else the edit, and the lead reads on the timeline who and why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.notify.models import Medium, Purpose
from service.notify.outbox import FALLBACK_KIND
from service.notify.templates.store import default
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.builders import london, make_contact, make_inspection, read_messages
from tests.notify.templates.builders import save_edit

CALL = london(2025, 3, 4, 10)
LONG_NAME = "Oluwaseun Adebayo-Fitzgerald-Montgomery-Okonkwo"


def test_a_person_the_edit_does_not_fit_gets_the_shipped_words_and_the_lead_is_told(
    session: Session, engine: Engine, rules: Rules
) -> None:
    """Twenty names fit a text message for the sample person, not for a long name: validated
    on the sample, the edit breaks only when sent."""
    save_edit(session, "announcement", "sms", body="((contact.name)) " * 20 + "((ack_url))")
    make_contact(session, "sg-lead", "Ann Lee", channels=("sms",))
    make_contact(session, "sg-dcs", LONG_NAME, channels=("sms",))
    session.commit()

    inspection = make_inspection(session, rules, notified_at=CALL, now=CALL + timedelta(minutes=2))

    bodies = {m.contact_id: m.body for m in read_messages(engine, inspection.id)}
    assert bodies["sg-lead"].startswith("Ann Lee Ann Lee")
    shipped_start = default(Purpose.announcement, Medium.sms).body.split("((")[0]
    assert bodies["sg-dcs"].startswith(shipped_start) and LONG_NAME not in bodies["sg-dcs"]
    with Session(engine) as reading:
        [entry] = reading.exec(
            select(TimelineEntry).where(TimelineEntry.kind == FALLBACK_KIND)
        ).all()
    assert entry.inspection_id == inspection.id
    assert entry.summary.startswith(
        f"The council's announcement text message could not be used for {LONG_NAME}, so they "
        "were sent the shipped wording: text message of"
    )
    assert entry.data["contact_ids"] == ["sg-dcs"] and entry.data["people"] == 1


def test_nothing_is_said_on_the_timeline_when_every_message_uses_the_edit(
    session: Session, engine: Engine, rules: Rules
) -> None:
    save_edit(session, "announcement", "sms", body="((contact.name)): ((ack_url))")
    make_contact(session, "sg-lead", LONG_NAME, channels=("sms",))
    session.commit()

    inspection = make_inspection(session, rules, notified_at=CALL)

    [message] = read_messages(engine, inspection.id)
    assert message.body.startswith(f"{LONG_NAME}: ")
    with Session(engine) as reading:
        kinds = reading.exec(select(TimelineEntry.kind)).all()
    assert FALLBACK_KIND not in kinds
