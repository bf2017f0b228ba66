"""The timeline read back: newest first, per-person kinds folded per minute, by offset or from a
row's position."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import timeline
from service.inspections.models import Inspection
from service.rules import Rules
from tests.builders import london, make_inspection

CALL = london(2026, 11, 17, 10, 0)


def _seeded(engine: Engine, rules: Rules) -> Inspection:
    """Announced at CALL, then 130 escalations (100 at 10:20, 30 at 10:21) and 60 changes of
    the lead's, one a minute from 10:30."""
    with Session(engine, expire_on_commit=False) as session:
        inspection = make_inspection(session, rules, notified_at=CALL)
        for n in range(130):
            timeline.log(
                session,
                inspection_id=inspection.id,
                actor="cascade",
                kind="cascade_escalated",
                summary=f"Person {n} did not acknowledge within 15 minutes",
                now=CALL + timedelta(minutes=20 + (n >= 100), seconds=(n % 100) * 0.5),
            )
        for n in range(60):
            timeline.log(
                session,
                inspection_id=inspection.id,
                actor="user:hoyelaran",
                kind="timetable_changed",
                summary=f"Change number {n}",
                now=CALL + timedelta(minutes=30 + n),
            )
        session.commit()
    return inspection


def test_per_person_kinds_fold_into_one_row_a_minute_newest_first(
    engine: Engine, rules: Rules, session: Session
) -> None:
    inspection = _seeded(engine, rules)
    found = timeline.page(session, inspection.id, limit=100)
    assert found.total == len(found.rows) and not found.more
    folded = [row for row in found.rows if row.entry is None]
    assert [(row.count, row.summary) for row in folded] == [
        (30, "30 people did not acknowledge in time and were escalated"),
        (100, "100 people did not acknowledge in time and were escalated"),
    ]
    assert found.rows[0].summary == "Change number 59"
    moments = [(row.at, row.newest_id) for row in found.rows]
    assert moments == sorted(moments, reverse=True)


def test_a_kind_asked_for_shows_each_person_and_fold_false_shows_every_entry(
    engine: Engine, rules: Rules, session: Session
) -> None:
    inspection = _seeded(engine, rules)
    only = timeline.page(session, inspection.id, kinds=["cascade_escalated"], limit=200)
    assert only.total == 130 and all(row.count == 1 for row in only.rows)
    assert {row.kind for row in only.rows} == {"cascade_escalated"}
    unfolded = timeline.page(session, inspection.id, fold=False, limit=500)
    assert unfolded.total == len(timeline.entries(session, inspection.id))
    assert "cascade_escalated" in timeline.kinds_of(session, inspection.id)


def test_positions_walk_the_whole_timeline_once_as_offsets_do(
    engine: Engine, rules: Rules, session: Session
) -> None:
    inspection = _seeded(engine, rules)
    everything = timeline.page(session, inspection.id, limit=1000).rows
    walked: list[timeline.TimelineRow] = []
    before = None
    while True:
        found = timeline.page(session, inspection.id, before=before, limit=7)
        assert found.total == len(everything)
        walked += found.rows
        if not found.more:
            break
        before = found.rows[-1].position
    assert [row.newest_id for row in walked] == [row.newest_id for row in everything]
    second = timeline.page(session, inspection.id, offset=7, limit=7).rows
    assert [row.newest_id for row in second] == [row.newest_id for row in everything[7:14]]


def test_oldest_first_walks_forward_from_a_position_and_no_limit_reads_to_the_end(
    engine: Engine, rules: Rules, session: Session
) -> None:
    inspection = _seeded(engine, rules)
    everything = timeline.page(session, inspection.id, fold=False, oldest_first=True, limit=None)
    assert not everything.more and len(everything.rows) == everything.total == 191
    moments = [row.position for row in everything.rows]
    assert moments == sorted(moments)
    walked: list[timeline.TimelineRow] = []
    after = None
    while True:
        found = timeline.page(
            session, inspection.id, fold=False, oldest_first=True, after=after, limit=50
        )
        walked += found.rows
        if not found.more:
            break
        after = found.rows[-1].position
    assert [row.newest_id for row in walked] == [row.newest_id for row in everything.rows]
