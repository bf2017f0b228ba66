"""The dashboard's numbers and the rehearsal report, for a drill whose every step happens at a
known minute, so each figure can be worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.cascade import flows, progress
from service.cascade import service as cascade
from service.contacts.models import Contact
from service.inspections import service
from service.inspections.models import Inspection
from service.main import build_handlers, on_delivery_failure
from service.notify.channels.base import Accepted
from service.notify.dispatch import Outcome, claim, record
from service.rules import Rules
from service.scheduler.due import run_due
from tests.builders import london, make_contact, make_inspection

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)


def minutes(n: float) -> datetime:
    return ANNOUNCED + timedelta(minutes=n)


def deliver(
    engine: Engine, rules: Rules, at: datetime, late: dict[str, float] | None = None
) -> None:
    """Send everything due at `at`; `late` delays the acceptance of one address by seconds."""
    late = late or {}
    claimed = claim(engine, now=at, limit=1000)
    record(
        engine,
        [
            Outcome(
                c.id,
                "outbox",
                accepted=Accepted(),
                at=at + timedelta(seconds=late.get(c.address, 0)),
            )
            for c in claimed
        ],
        on_failure=on_delivery_failure(rules),
        max_attempts=12,
        now=at,
    )


def acknowledge(
    engine: Engine, rules: Rules, inspection: Inspection, who: str, at: datetime
) -> None:
    with Session(engine) as session:
        fresh = session.get(Inspection, inspection.id)
        node = cascade.node_for(session, inspection.id, who)
        assert fresh is not None and node is not None
        cascade.acknowledge(flows.open_run(session, fresh, rules=rules, now=at), node, via="link")
        session.commit()


def report(engine: Engine, inspection: Inspection) -> tuple[dict, dict]:
    with Session(engine) as session:
        fresh = service.get(session, inspection.id)
        return (
            progress.progress(session, fresh).model_dump(),
            progress.rehearsal_report(session, fresh).model_dump(),
        )


@pytest.fixture
def drill(session: Session, rules: Rules) -> Inspection:
    """Five people: two in the steering group, one group under each, one person under Priya."""
    make_contact(session, "sg-lead", "Harriet Oyelaran", email="harriet@example.org")
    make_contact(session, "sg-dcs", "Tomasz Wójcik", email="tomasz@example.org")
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead")
    make_contact(session, "partners", "Femi Adeyemi", reports_to="sg-dcs")
    make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="people")
    session.commit()
    return make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)


def test_progress_at_the_start_counts_the_steering_group_as_reached_when_each_first_got_a_message(
    engine: Engine, rules: Rules, drill: Inspection
) -> None:
    # Harriet's e-mail is accepted after 20 s, Tomasz's after 30 s; their texts later still.
    with Session(engine) as session:
        mobiles = {
            c: session.get(Contact, c).mobile  # type: ignore[union-attr]
            for c in ("sg-lead", "sg-dcs")
        }
    deliver(
        engine,
        rules,
        ANNOUNCED,
        late={
            "harriet@example.org": 20,
            "tomasz@example.org": 30,
            mobiles["sg-lead"]: 40,
            mobiles["sg-dcs"]: 50,
        },
    )
    now, _ = report(engine, drill)
    assert now["total"] == 5
    assert now["by_status"] == {"waiting": 3, "notified": 2, "acknowledged": 0, "broken": 0}
    assert now["steering_group_reached_at"] == ANNOUNCED + timedelta(seconds=30)
    assert now["everyone_reached_at"] is None
    assert now["levels"][0] == {
        "level": 1,
        "total": 2,
        "reached": 2,
        "waiting": 0,
        "notified": 2,
        "acknowledged": 0,
        "broken": 0,
    }
    assert now["messages"] == {"sent": 4}
    assert now["broken"] == []


def test_progress_and_rehearsal_report_for_a_whole_drill(
    engine: Engine, rules: Rules, drill: Inspection
) -> None:
    handlers = build_handlers(rules)
    deliver(engine, rules, minutes(0.5))
    acknowledge(engine, rules, drill, "sg-lead", minutes(4))  # Priya messaged
    deliver(engine, rules, minutes(5))
    acknowledge(engine, rules, drill, "sg-dcs", minutes(12))  # Femi messaged
    deliver(engine, rules, minutes(13))
    run_due(engine, now=minutes(19), handlers=handlers, worker="test")  # Priya's window: Zoë
    deliver(engine, rules, minutes(20))
    acknowledge(engine, rules, drill, "people", minutes(25))  # late, but acknowledged
    run_due(engine, now=minutes(27), handlers=handlers, worker="test")  # Femi's window: broken
    acknowledge(engine, rules, drill, "staff", minutes(33))
    run_due(engine, now=minutes(60), handlers=handlers, worker="test")

    now, rehearsal = report(engine, drill)

    assert now["by_status"] == {"waiting": 0, "notified": 0, "acknowledged": 4, "broken": 1}
    assert [
        (lvl["level"], lvl["total"], lvl["acknowledged"], lvl["broken"]) for lvl in now["levels"]
    ] == [
        (1, 2, 2, 0),
        (2, 2, 1, 1),
        (3, 1, 1, 0),
    ]
    assert [(b["contact_id"], b["reason"], b["level"]) for b in now["broken"]] == [
        ("partners", "did not acknowledge within 15 minutes", 2)
    ]
    assert now["steering_group_reached_at"] == minutes(0.5)
    assert now["everyone_reached_at"] == minutes(20)  # Zoë, the last, reached at the 20th minute
    # 5 people x 2 announcements, 2 escalations about Priya sent at minute 20, 2 about Femi queued.
    assert now["messages"] == {"sent": 12, "queued": 2}

    assert rehearsal["drill"] is True
    assert (rehearsal["people"], rehearsal["steering_group_size"], rehearsal["acknowledged"]) == (
        5,
        2,
        4,
    )
    assert rehearsal["acknowledged_percent"] == {
        "15_minutes": 40.0,  # the steering group
        "30_minutes": 60.0,  # and Priya
        "60_minutes": 80.0,  # and Zoë; Femi never
    }
    assert rehearsal["steering_group_acknowledged_at"] == minutes(12)
    assert rehearsal["seconds_until_steering_group_acknowledged"] == 12 * 60.0
    assert rehearsal["seconds_until_everyone_reached"] == 20 * 60.0
    assert [b["contact_id"] for b in rehearsal["broken"]] == ["partners"]


def test_an_empty_tree_reports_zeros_rather_than_failing(
    session: Session, engine: Engine, rules: Rules
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    now, rehearsal = report(engine, drill)
    assert now["total"] == 0 and now["levels"] == [] and now["everyone_reached_at"] is None
    assert rehearsal["acknowledged_percent"] == {
        "15_minutes": 0.0,
        "30_minutes": 0.0,
        "60_minutes": 0.0,
    }
    assert rehearsal["steering_group_acknowledged_at"] is None
