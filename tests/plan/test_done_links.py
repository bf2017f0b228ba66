"""Signed one-click "mark done" links: what the token carries, that it is short and URL-safe,
that forged, foreign (acknowledgement) and expired tokens are refused, and what marking done
records (once, even when two presses race) on both databases."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import acks, secrets
from service.config import Settings
from service.db import make_engine
from service.frameworks import Milestone
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.inspections.service import Rules
from service.plan import done_links
from service.plan.done_links import DoneLink, DoneLinkExpired, DoneLinkInvalid, DoneSigner
from service.plan.reminders import overdue_key, reminder_key
from service.scheduler.due import CANCELLED, PENDING
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection
from tests.plan.reminder_plan import CALL, add_people, plan_settings, task, task_rows

KEY = "k3y-for-tests-0123456789abcdefghijklmnopqrstu"
TASK = uuid.UUID("6d813195-c56f-4a5d-9c39-5a0b79ed247b")
HOUR = 3600
URL_SAFE = re.compile(r"[A-Za-z0-9._-]+")


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "contact_id", ["E2201", "priya.raman", "Siân O'Neill 7", "x" * 64, "a.b.c"]
)
def test_a_token_carries_the_task_and_the_person_and_is_url_safe(contact_id: str) -> None:
    signer = DoneSigner(KEY)

    token = signer.token_for(TASK, contact_id)

    assert URL_SAFE.fullmatch(token), token
    assert signer.link_from(token, max_age_seconds=HOUR) == DoneLink(TASK, contact_id)


def test_a_typical_token_is_short_enough_for_a_text_message() -> None:
    assert len(DoneSigner(KEY).token_for(TASK, "E2201")) <= 70


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        "a.b.c.d",
        "bYExlcVvSl2cOVoLee0kew.cHJpeWEucmFtYW4.awQ_Nw.-fGHjKhCB0fVapoGbVrT_KUXIo4",
    ],
)
def test_a_token_we_did_not_sign_is_invalid(token: str) -> None:
    with pytest.raises(DoneLinkInvalid):
        DoneSigner(KEY).link_from(token, max_age_seconds=HOUR)


def test_a_changed_token_is_invalid() -> None:
    token = DoneSigner(KEY).token_for(TASK, "E2201")
    for position in (0, len(token) // 2, len(token) - 5):  # not the last: spare bits
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        with pytest.raises(DoneLinkInvalid):
            DoneSigner(KEY).link_from(changed, max_age_seconds=HOUR)
    with pytest.raises(DoneLinkInvalid):  # another service's key
        DoneSigner(KEY + "x").link_from(token, max_age_seconds=HOUR)


def test_acknowledgement_and_mark_done_tokens_are_not_interchangeable() -> None:
    ack = acks.AckSigner(KEY).token_for(123456789)
    done = DoneSigner(KEY).token_for(TASK, "E2201")

    with pytest.raises(DoneLinkInvalid):
        DoneSigner(KEY).link_from(ack, max_age_seconds=HOUR)
    with pytest.raises(acks.AckLinkInvalid):
        acks.AckSigner(KEY).code_from(done, max_age_seconds=HOUR)


def test_a_token_expires_after_its_maximum_age() -> None:
    signed_at = datetime(2025, 4, 8, 12, 0, tzinfo=UTC)
    with time_machine.travel(signed_at, tick=False):
        token = DoneSigner(KEY).token_for(TASK, "E2201")
    with time_machine.travel(signed_at + timedelta(seconds=HOUR - 1), tick=False):
        assert DoneSigner(KEY).link_from(token, max_age_seconds=HOUR).task_id == TASK
    with (
        time_machine.travel(signed_at + timedelta(seconds=HOUR + 1), tick=False),
        pytest.raises(DoneLinkExpired),
    ):
        DoneSigner(KEY).link_from(token, max_age_seconds=HOUR)


def test_links_are_signed_with_the_service_s_own_key_shared_by_every_replica(
    session: Session, engine: Engine
) -> None:
    token = done_links.signer(session, now=CALL).token_for(TASK, "E2201")
    session.commit()

    with Session(engine) as replica:
        key = secrets.get_or_create(replica, acks.SECRET_NAME, now=CALL)
        assert DoneSigner(key).link_from(token, max_age_seconds=HOUR).contact_id == "E2201"
    assert done_links.done_url("https://inspections.example.org/", token) == (
        f"https://inspections.example.org/tasks/done/{token}"
    )


# --- marking done ----------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return plan_settings(database_url, tmp_path)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def token_for(engine: Engine, task_id: uuid.UUID, contact_id: str) -> str:
    with Session(engine) as other:
        token = done_links.signer(other, now=CALL).token_for(task_id, contact_id)
        other.commit()
    return token


def done_entries(engine: Engine, inspection: Inspection) -> list[TimelineEntry]:
    with Session(engine, expire_on_commit=False) as fresh:
        return list(
            fresh.exec(
                select(TimelineEntry)
                .where(
                    TimelineEntry.inspection_id == inspection.id,
                    TimelineEntry.kind == "task_done",
                )
                .order_by(col(TimelineEntry.id))
            ).all()
        )


def test_describing_a_link_records_nothing(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    base_room = task(engine, inspection.id, "base_room")
    token = token_for(engine, base_room.id, "logi-dep")

    link = done_links.describe(session, token, max_age_seconds=HOUR, now=CALL)

    assert (link.title, link.name, link.owner_name) == (
        "Book the base room for the inspection team",
        "Amara Okafor",
        "Tomasz Wójcik",
    )
    assert (link.done_at, link.closed, link.drill, link.just_done) == (None, False, False, False)
    assert task(engine, inspection.id, "base_room").status == "to_do"
    assert done_entries(engine, inspection) == []


def test_marking_done_records_who_once_and_cancels_the_task_s_rows(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    base_room = task(engine, inspection.id, "base_room")
    token = token_for(engine, base_room.id, "logi")
    at = CALL + timedelta(minutes=40)

    link = done_links.mark_done(session, token, max_age_seconds=HOUR, now=at)
    session.commit()

    assert link.just_done and link.done_at == at and link.done_by_name == "Tomasz Wójcik"
    stored = task(engine, inspection.id, "base_room")
    assert (stored.status, stored.done_at, stored.done_by, stored.updated_at) == (
        "done",
        at,
        "link:logi",
        at,
    )
    [entry] = done_entries(engine, inspection)
    assert (entry.actor, entry.at, entry.data["task_id"]) == ("link:logi", at, str(base_room.id))
    assert entry.summary == (
        "Book the base room for the inspection team: marked done by Tomasz Wójcik (one-click link)"
    )
    rows = task_rows(engine, inspection.id)
    for key in (
        reminder_key(inspection.id, base_room.id),
        overdue_key(inspection.id, base_room.id),
    ):
        assert (rows[key].status, rows[key].outcome, rows[key].finished_at) == (
            CANCELLED,
            "task done",
            at,
        )
    other = task(engine, inspection.id, "final_room")
    assert rows[overdue_key(inspection.id, other.id)].status == PENDING

    again = done_links.mark_done(session, token, max_age_seconds=HOUR, now=at + timedelta(hours=1))
    session.commit()
    assert not again.just_done and again.done_at == at
    assert len(done_entries(engine, inspection)) == 1


def test_two_presses_at_once_record_one_change(
    engine: Engine, database_url: str, inspection: Inspection
) -> None:
    token = token_for(engine, task(engine, inspection.id, "base_room").id, "logi")
    start = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def press(minute: int) -> None:
        own = make_engine(database_url)
        try:
            with Session(own) as pressing:
                start.wait()
                link = done_links.mark_done(
                    pressing, token, max_age_seconds=HOUR, now=CALL + timedelta(minutes=minute)
                )
                pressing.commit()
                results.append(link.just_done)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=press, args=(minute,)) for minute in (30, 31)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [False, True]
    assert len(done_entries(engine, inspection)) == 1


def test_a_link_to_a_task_that_does_not_exist_is_invalid(
    session: Session, engine: Engine, inspection: Inspection
) -> None:
    token = token_for(engine, uuid.uuid4(), "logi")

    with pytest.raises(DoneLinkInvalid, match="not known"):
        done_links.describe(session, token, max_age_seconds=HOUR, now=CALL)
    with pytest.raises(DoneLinkInvalid):
        done_links.mark_done(session, token, max_age_seconds=HOUR, now=CALL)


def test_a_closed_inspection_records_nothing(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, task(engine, inspection.id, "final_room").id, "logi")
    inspections.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=CALL.date(),
        actor=ACTOR,
        now=london(2025, 4, 8, 15, 0),
    )
    session.commit()

    link = done_links.mark_done(session, token, max_age_seconds=HOUR, now=CALL)
    session.commit()

    assert link.closed and link.done_at is None and not link.just_done
    assert task(engine, inspection.id, "final_room").status == "to_do"
    assert done_entries(engine, inspection) == []
