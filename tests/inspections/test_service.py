"""Announcing an inspection, changing its timetable and recording its milestones, on both
databases: the rows written, the rules refused, and the reminder rows that follow deadlines.

Dates are counted by hand in tests/inspections/test_timetable.py; the ones used here are:
call Tue 2026-03-03 -> on site Wed 03-04, ends Wed 03-25, publication due Mon 2026-05-11,
action statement due Tue 2026-08-18; call Tue 2026-01-13 -> ends 02-04, publication due
2026-03-18 (GMT), action statement due 2026-06-30 (BST)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service import timeline
from service.calendar.closures import add_closure_day
from service.calendar.working_days import WorkingCalendar
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Milestone, load_all
from service.inspections import flows, reminders, service
from service.inspections.models import Inspection, TimetableOverride
from service.inspections.schemas import AnnounceRequest, InspectionPublic
from service.inspections.timetable import compute
from service.rules import Rules
from service.scheduler import due
from tests.builders import ACTOR, london, make_inspection

CALL = london(2026, 3, 3, 10, 15)  # a Tuesday
LEAD = "Harriet Oyelaran"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def jobs_of(session: Session, inspection: Inspection) -> dict[str, due.DueJob]:
    """The inspection's reminder rows by '<deadline>:<working days before>'."""
    rows = session.exec(
        select(due.DueJob).where(
            due.DueJob.inspection_id == inspection.id, due.DueJob.kind == reminders.KIND
        )
    ).all()
    return {row.dedupe_key.split(":deadline:", 1)[1]: row for row in rows}


def kinds(session: Session, inspection: Inspection) -> list[str]:
    return [entry.kind for entry in timeline.entries(session, inspection.id)]


def last_entry(session: Session, inspection: Inspection) -> timeline.TimelineEntry:
    """The last change to the inspection itself (the plan's tasks following it come after)."""
    return [e for e in timeline.entries(session, inspection.id) if e.kind != "tasks_retimed"][-1]


def override(
    session: Session, rules: Rules, inspection: Inspection, day: date, on_site: bool, now: datetime
) -> None:
    flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=day,
        on_site=on_site,
        actor="Tomasz Wójcik",
        now=now,
    )
    session.commit()


def milestone(
    session: Session, rules: Rules, inspection: Inspection, key: Milestone, day: date, now: datetime
) -> None:
    flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=key,
        day=day,
        actor="Tomasz Wójcik",
        now=now,
    )
    session.commit()


def public(
    session: Session, rules: Rules, inspection: Inspection, now: datetime
) -> InspectionPublic:
    return service.public(session, inspection, rules=rules, now=now)


# --- announce -------------------------------------------------------------------------------


def test_announce_writes_the_inspection_and_an_announced_timeline_entry(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)

    stored = session.get(Inspection, inspection.id)
    assert stored is not None
    assert (stored.framework, stored.drill, stored.live_slot) == ("sif-2013", False, 1)
    assert stored.notified_at == CALL
    assert stored.lead_inspector == LEAD
    assert stored.created_by == ACTOR
    entries = timeline.entries(session, inspection.id)
    assert [e.kind for e in entries] == ["announced"]
    assert "on site from 2026-03-04, ends 2026-03-25" in entries[0].summary
    assert entries[0].data["framework"] == "sif-2013"
    assert entries[0].data["drill"] is False
    assert service.live_inspection(session).id == inspection.id  # type: ignore[union-attr]


def test_announce_schedules_reminders_at_nine_london_time_in_gmt_and_bst(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=london(2026, 1, 13, 11, 0))
    jobs = jobs_of(session, inspection)
    # Publication due Wed 2026-03-18, before the clocks change (GMT: 09:00 London = 09:00 UTC).
    # 10 working days before: Mar 17, 16, 13, 12, 11, 10, 9, 6, 5, 4.
    # Action statement due Tue 2026-06-30, in summer time (BST: 09:00 London = 08:00 UTC).
    # 10 working days before: Jun 29, 26, 25, 24, 23, 22, 19, 18, 17, 16.
    assert {key: job.due_at for key, job in jobs.items()} == {
        "publication:10": utc(2026, 3, 4, 9),
        "publication:5": utc(2026, 3, 11, 9),
        "publication:2": utc(2026, 3, 16, 9),
        "publication:1": utc(2026, 3, 17, 9),
        "publication:0": utc(2026, 3, 18, 9),
        "action_statement:10": utc(2026, 6, 16, 8),
        "action_statement:5": utc(2026, 6, 23, 8),
        "action_statement:2": utc(2026, 6, 26, 8),
        "action_statement:1": utc(2026, 6, 29, 8),
        "action_statement:0": utc(2026, 6, 30, 8),
    }
    assert all(job.status == due.DueStatus.pending for job in jobs.values())
    assert jobs["publication:5"].payload == {
        "deadline": "publication",
        "label": "Inspection report published",
        "due": "2026-03-18",
        "working_days_before": 5,
    }


def test_reminders_already_in_the_past_when_announced_are_not_written(
    session: Session, rules: Rules
) -> None:
    """A call recorded late: reminders whose time has passed are skipped, not sent at once."""
    inspection = make_inspection(
        session, rules, notified_at=london(2026, 1, 13, 11, 0), now=london(2026, 3, 12, 9, 0)
    )
    assert sorted(k for k in jobs_of(session, inspection) if k.startswith("publication")) == [
        "publication:0",
        "publication:1",
        "publication:2",
    ]


def test_a_drill_gets_no_reminders_and_takes_no_live_slot(session: Session, rules: Rules) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    assert jobs_of(session, drill) == {}
    assert drill.live_slot is None
    assert kinds(session, drill) == ["announced"]
    assert timeline.entries(session, drill.id)[0].summary.startswith("Drill announced")
    assert service.live_inspection(session) is None


def test_a_second_live_inspection_is_refused_naming_the_live_one(
    session: Session, rules: Rules
) -> None:
    live = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(Conflict) as caught:
        make_inspection(session, rules, notified_at=CALL + timedelta(hours=1))
    assert str(live.id) in caught.value.message
    assert caught.value.context == {"live_inspection_id": str(live.id)}
    session.rollback()
    assert len(session.exec(select(Inspection)).all()) == 1


def test_drills_never_conflict(session: Session, rules: Rules) -> None:
    make_inspection(session, rules, notified_at=CALL)
    make_inspection(session, rules, notified_at=CALL, drill=True)
    make_inspection(session, rules, notified_at=CALL, drill=True)
    assert len(session.exec(select(Inspection)).all()) == 3


def test_the_database_refuses_a_second_live_slot_even_without_the_check(
    session: Session, rules: Rules, engine: Engine
) -> None:
    """The unique live slot is the last line of defence against two concurrent announcements."""
    make_inspection(session, rules, notified_at=CALL)
    with Session(engine) as other:
        other.add(
            Inspection(
                framework="sif-2013",
                notified_at=CALL,
                live_slot=1,
                created_at=CALL,
                created_by=ACTOR,
            )
        )
        with pytest.raises(IntegrityError):
            other.commit()


def test_closing_frees_the_slot_and_cancels_pending_reminders(
    session: Session, rules: Rules
) -> None:
    first = make_inspection(session, rules, notified_at=CALL)
    closing = london(2026, 3, 27, 16, 0)
    milestone(session, rules, first, Milestone.closed, date(2026, 3, 27), closing)

    assert session.get(Inspection, first.id).live_slot is None  # type: ignore[union-attr]
    jobs = jobs_of(session, first)
    assert len(jobs) == 10
    assert {job.status for job in jobs.values()} == {due.DueStatus.cancelled}
    assert {job.outcome for job in jobs.values()} == {"inspection closed"}
    assert jobs["publication:0"].finished_at == closing
    assert kinds(session, first) == ["announced", "milestone_recorded"]

    second = make_inspection(session, rules, notified_at=london(2026, 9, 8, 10, 0))
    assert service.live_inspection(session).id == second.id  # type: ignore[union-attr]


def test_a_closed_inspection_can_no_longer_change(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 3, 27, 16, 0)
    milestone(session, rules, inspection, Milestone.closed, date(2026, 3, 27), now)
    with pytest.raises(Conflict, match="closed"):
        override(session, rules, inspection, date(2026, 3, 26), True, now)
    with pytest.raises(Conflict, match="closed"):
        milestone(session, rules, inspection, Milestone.closed, date(2026, 3, 27), now)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("ahead", [timedelta(minutes=5, seconds=1), timedelta(days=1)])
def test_a_call_more_than_five_minutes_in_the_future_is_refused(
    session: Session, rules: Rules, ahead: timedelta
) -> None:
    now = london(2026, 3, 3, 10, 0)
    with pytest.raises(InvalidInput) as caught:
        make_inspection(session, rules, notified_at=now + ahead, now=now)
    assert caught.value.field == "notified_at"
    assert session.exec(select(Inspection)).all() == []


@pytest.mark.sqlite_only
def test_a_call_up_to_five_minutes_ahead_of_our_clock_is_accepted(
    session: Session, rules: Rules
) -> None:
    now = london(2026, 3, 3, 10, 0)
    inspection = make_inspection(session, rules, notified_at=now + timedelta(minutes=5), now=now)
    assert inspection.notified_at == now + timedelta(minutes=5)


@pytest.mark.sqlite_only
def test_an_unknown_framework_is_refused_naming_the_known_ones(
    session: Session, rules: Rules
) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_inspection(session, rules, notified_at=CALL, framework="sif-2009")
    assert caught.value.field == "framework"
    assert "'sif-2009'" in caught.value.message
    assert "ilacs-short, ilacs-standard, sif-2013" in caught.value.message


def test_announce_accepts_a_call_given_in_another_offset(session: Session, rules: Rules) -> None:
    """Day 0 is the London date of the call, whatever offset the caller used."""
    # 23:30 on Monday in New York is 04:30 on Tuesday in London (GMT in early March).
    from zoneinfo import ZoneInfo

    notified = datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    inspection = flows.announce(
        session,
        rules=rules,
        request=AnnounceRequest(notified_at=notified, lead_inspector=LEAD),
        actor=ACTOR,
        now=notified,
    )
    session.commit()
    view = public(session, rules, inspection, notified)
    assert view.on_site_start == date(2026, 3, 4)
    assert view.warnings == []


# --- override_day validation ----------------------------------------------------------------


@pytest.mark.sqlite_only
def test_unknown_inspection_is_not_found(session: Session, rules: Rules) -> None:
    with pytest.raises(NotFound):
        flows.override_day(
            session,
            rules=rules,
            inspection_id=uuid.uuid4(),
            day=date(2026, 3, 26),
            on_site=True,
            actor=ACTOR,
            now=CALL,
        )


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 3, 28), "Saturday"),
        (date(2026, 4, 6), "Easter Monday"),  # in week 4 of a call on 2026-03-17
    ],
)
def test_inspectors_cannot_be_put_on_site_on_a_non_working_day(
    session: Session, rules: Rules, day: date, words: str
) -> None:
    inspection = make_inspection(session, rules, notified_at=london(2026, 3, 17, 10, 0))
    with pytest.raises(InvalidInput) as caught:
        override(session, rules, inspection, day, True, london(2026, 3, 17, 11, 0))
    assert caught.value.field == "date"
    assert words in caught.value.message


def test_inspectors_cannot_be_put_on_site_on_a_closure_day(session: Session, rules: Rules) -> None:
    add_closure_day(
        session, day=date(2026, 3, 26), reason="Civic centre closed", actor=ACTOR, now=CALL
    )
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput, match="Civic centre closed"):
        override(session, rules, inspection, date(2026, 3, 26), True, CALL)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 11),  # week 2: off site
        date(2026, 3, 30),  # the week after week 4
    ],
)
def test_a_date_outside_the_on_site_weeks_is_refused(
    session: Session, rules: Rules, day: date
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput) as caught:
        override(session, rules, inspection, day, True, CALL)
    assert caught.value.field == "date"
    assert "not in an on-site week" in caught.value.message


@pytest.mark.sqlite_only
@pytest.mark.parametrize("day", [date(2026, 3, 3), date(2026, 3, 2)])
def test_the_day_of_the_call_and_before_it_are_refused(
    session: Session, rules: Rules, day: date
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput) as caught:
        override(session, rules, inspection, day, True, CALL)
    assert caught.value.field == "date"
    assert "2026-03-03" in caught.value.message


def test_the_last_on_site_day_cannot_be_taken_away(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    on_site = public(session, rules, inspection, CALL)
    every_day = [d for p in on_site.phases if p.on_site for d in p.days]
    assert len(every_day) == 11
    for day in every_day[:-1]:
        override(session, rules, inspection, day, False, CALL)
    with pytest.raises(InvalidInput) as caught:
        override(session, rules, inspection, every_day[-1], False, CALL)
    assert caught.value.field == "on_site"
    assert "2026-03-25" in caught.value.message
    session.rollback()
    view = public(session, rules, inspection, CALL)
    assert view.on_site_days == 1
    assert view.inspection_end == date(2026, 3, 25)
    stored = session.exec(
        select(TimetableOverride).where(TimetableOverride.inspection_id == inspection.id)
    ).all()
    assert len(stored) == 10


# --- overrides and milestones move the reminders ---------------------------------------------


def test_an_added_day_moves_deadlines_reminders_and_logs_the_change(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    before = jobs_of(session, inspection)
    assert before["publication:0"].due_at == utc(2026, 5, 11, 8)
    assert before["publication:10"].due_at == utc(2026, 4, 24, 8)

    override(session, rules, inspection, date(2026, 3, 26), True, CALL + timedelta(hours=2))

    view = public(session, rules, inspection, CALL)
    assert view.inspection_end == date(2026, 3, 26)
    assert view.on_site_days == 12
    assert [(o.date, o.on_site) for o in view.overrides] == [(date(2026, 3, 26), True)]
    entry = last_entry(session, inspection)
    assert entry.kind == "timetable_changed"
    assert entry.actor == "Tomasz Wójcik"
    assert entry.data == {
        "date": "2026-03-26",
        "on_site": True,
        "deadlines": {
            "publication": {"from": "2026-05-11", "to": "2026-05-12"},
            "action_statement": {"from": "2026-08-18", "to": "2026-08-19"},
        },
    }
    jobs = jobs_of(session, inspection)
    assert len(jobs) == 10
    assert jobs["publication:0"].due_at == utc(2026, 5, 12, 8)
    # 10 working days before Tue 2026-05-12: May 11, 8, 7, 6, 5, (May 4 bank holiday),
    # May 1, Apr 30, 29, 28, 27.
    assert jobs["publication:10"].due_at == utc(2026, 4, 27, 8)
    assert jobs["publication:10"].payload["due"] == "2026-05-12"
    assert jobs["action_statement:0"].due_at == utc(2026, 8, 19, 8)
    assert {job.status for job in jobs.values()} == {due.DueStatus.pending}


def test_a_day_taken_off_that_is_not_the_last_leaves_the_deadlines_alone(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    override(session, rules, inspection, date(2026, 3, 5), False, CALL)
    entry = last_entry(session, inspection)
    assert entry.data["deadlines"] == {}
    assert "10 on-site days" in entry.summary
    assert jobs_of(session, inspection)["publication:0"].due_at == utc(2026, 5, 11, 8)


def test_changing_an_override_again_updates_it(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    override(session, rules, inspection, date(2026, 3, 26), True, CALL)
    override(session, rules, inspection, date(2026, 3, 26), False, CALL + timedelta(hours=1))
    view = public(session, rules, inspection, CALL)
    assert [(o.date, o.on_site) for o in view.overrides] == [(date(2026, 3, 26), False)]
    assert view.inspection_end == date(2026, 3, 25)
    assert jobs_of(session, inspection)["publication:0"].due_at == utc(2026, 5, 11, 8)


def test_reminders_moved_into_the_past_are_cancelled_and_done_ones_stay_done(
    session: Session, rules: Rules, engine: Engine
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    # The first publication reminder (10 working days before 2026-05-11) runs on 2026-04-24.
    ran = due.run_due(
        engine,
        now=london(2026, 4, 24, 9, 0),
        handlers={reminders.KIND: partial(flows.remind_deadline, rules=rules)},
        worker="tests",
    )
    assert ran.done == 1
    session.expire_all()
    assert jobs_of(session, inspection)["publication:10"].status == due.DueStatus.done

    # On 2026-04-30 at noon the last on-site day is taken away: publication is now due Fri
    # 2026-05-08. Its 5-day reminder moves to Apr 30 09:00 (already past), 2-day to May 6.
    now = london(2026, 4, 30, 12, 0)
    override(session, rules, inspection, date(2026, 3, 25), False, now)
    jobs = jobs_of(session, inspection)
    assert jobs["publication:10"].status == due.DueStatus.done
    assert jobs["publication:10"].due_at == utc(2026, 4, 24, 8)
    assert jobs["publication:10"].payload["due"] == "2026-05-11"
    assert jobs["publication:5"].status == due.DueStatus.cancelled
    assert jobs["publication:5"].outcome == "moved into the past by a changed deadline"
    assert jobs["publication:2"].status == due.DueStatus.pending
    assert jobs["publication:2"].due_at == utc(2026, 5, 6, 8)
    assert jobs["publication:0"].due_at == utc(2026, 5, 8, 8)

    # Put the day back: the cancelled reminder is in the future again and is rescheduled; the
    # one already sent is not sent again.
    override(session, rules, inspection, date(2026, 3, 25), True, now + timedelta(minutes=10))
    jobs = jobs_of(session, inspection)
    assert jobs["publication:5"].status == due.DueStatus.pending
    assert jobs["publication:5"].due_at == utc(2026, 5, 1, 8)
    assert jobs["publication:5"].outcome is None
    assert jobs["publication:10"].status == due.DueStatus.done


def test_a_reminder_waiting_for_a_retry_survives_an_unrelated_change(
    session: Session, rules: Rules, engine: Engine
) -> None:
    """A send that failed once is pushed back a few seconds; a change to another day of the
    timetable must not mistake that for a deadline that moved into the past."""
    inspection = make_inspection(session, rules, notified_at=CALL)
    job_id = jobs_of(session, inspection)["publication:10"].id
    assert job_id is not None
    session.commit()  # SQLite has one writer: end this read before the scheduler writes
    failed_at = london(2026, 4, 24, 9, 0)
    due._record_failure(
        engine, job_id=job_id, error="ConnectError('relay down')", now=failed_at, worker="tests"
    )
    session.expire_all()
    retry_at = jobs_of(session, inspection)["publication:10"].due_at
    assert retry_at > failed_at

    override(session, rules, inspection, date(2026, 3, 5), False, failed_at + timedelta(seconds=1))
    job = jobs_of(session, inspection)["publication:10"]
    assert (job.status, job.due_at, job.attempts) == (due.DueStatus.pending, retry_at, 1)


def test_recording_the_publication_meets_its_reminders_and_recounts_the_action_statement(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 5, 6, 15, 0)
    milestone(session, rules, inspection, Milestone.report_published, date(2026, 5, 6), now)

    view = public(session, rules, inspection, now)
    action = next(d for d in view.deadlines if d.key == "action_statement")
    assert (action.counted_from, action.from_date, action.due) == (
        "report_published",
        date(2026, 5, 6),
        date(2026, 8, 13),
    )
    assert view.deadlines[0].met_on == date(2026, 5, 6)
    assert view.milestones == {"report_published": date(2026, 5, 6)}
    entry = last_entry(session, inspection)
    assert entry.kind == "milestone_recorded"
    assert entry.data == {
        "key": "report_published",
        "date": "2026-05-06",
        "deadlines": {"action_statement": {"from": "2026-08-18", "to": "2026-08-13"}},
    }
    jobs = jobs_of(session, inspection)
    publication = {k: j for k, j in jobs.items() if k.startswith("publication")}
    assert {(j.status, j.outcome) for j in publication.values()} == {
        (due.DueStatus.cancelled, "deadline met")
    }
    assert jobs["action_statement:0"].due_at == utc(2026, 8, 13, 8)
    assert jobs["action_statement:0"].status == due.DueStatus.pending


def test_a_corrected_milestone_replaces_the_first_record(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 5, 8, 15, 0)
    milestone(session, rules, inspection, Milestone.report_published, date(2026, 5, 6), now)
    milestone(session, rules, inspection, Milestone.report_published, date(2026, 5, 7), now)
    view = public(session, rules, inspection, now)
    assert view.milestones == {"report_published": date(2026, 5, 7)}
    # 70 after Thu 2026-05-07: one working day later than from May 6 (Aug 13).
    assert view.deadlines[1].due == date(2026, 8, 14)


# --- milestone rules ------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_milestone_in_the_future_is_refused(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput) as caught:
        milestone(
            session,
            rules,
            inspection,
            Milestone.report_published,
            date(2026, 5, 7),
            london(2026, 5, 6, 23, 30),
        )
    assert caught.value.field == "date"
    assert "2026-05-06" in caught.value.message


@pytest.mark.sqlite_only
def test_the_london_date_decides_what_is_in_the_future(session: Session, rules: Rules) -> None:
    """00:30 on 7 May in London is still 6 May in UTC (BST); 7 May is today, not the future."""
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 5, 7, 0, 30)
    assert now.date() == date(2026, 5, 6)
    milestone(session, rules, inspection, Milestone.report_published, date(2026, 5, 7), now)
    assert public(session, rules, inspection, now).milestones == {
        "report_published": date(2026, 5, 7)
    }


@pytest.mark.sqlite_only
@pytest.mark.parametrize("day", [date(2026, 3, 25), date(2026, 3, 20)])
def test_the_report_cannot_be_published_before_the_inspection_ends(
    session: Session, rules: Rules, day: date
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput) as caught:
        milestone(session, rules, inspection, Milestone.report_published, day, london(2026, 4, 1))
    assert caught.value.field == "date"
    assert "2026-03-25" in caught.value.message


@pytest.mark.sqlite_only
def test_the_action_statement_needs_the_report_first(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 7, 1)
    with pytest.raises(InvalidInput) as caught:
        milestone(
            session, rules, inspection, Milestone.action_statement_published, date(2026, 7, 1), now
        )
    assert caught.value.field == "key"


@pytest.mark.sqlite_only
def test_the_action_statement_cannot_come_before_the_report(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 7, 1)
    milestone(session, rules, inspection, Milestone.report_published, date(2026, 5, 6), now)
    with pytest.raises(InvalidInput) as caught:
        milestone(
            session, rules, inspection, Milestone.action_statement_published, date(2026, 5, 5), now
        )
    assert caught.value.field == "date"
    assert "2026-05-06" in caught.value.message
    session.rollback()
    milestone(
        session, rules, inspection, Milestone.action_statement_published, date(2026, 5, 6), now
    )
    jobs = jobs_of(session, inspection)
    assert {j.outcome for j in jobs.values()} == {"deadline met"}


@pytest.mark.sqlite_only
def test_an_inspection_cannot_be_closed_before_the_call(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with pytest.raises(InvalidInput) as caught:
        milestone(session, rules, inspection, Milestone.closed, date(2026, 3, 2), CALL)
    assert caught.value.field == "date"


# --- closure days ---------------------------------------------------------------------------


def test_a_new_closure_day_moves_open_deadlines_and_says_so(session: Session, rules: Rules) -> None:
    closed = make_inspection(session, rules, notified_at=london(2026, 1, 13, 10, 0))
    milestone(session, rules, closed, Milestone.closed, date(2026, 2, 27), london(2026, 2, 27))
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    live = make_inspection(session, rules, notified_at=CALL)

    now = london(2026, 3, 10, 14, 0)
    before = rules.calendar(session)
    add_closure_day(
        session, day=date(2026, 4, 28), reason="Staff training day", actor=ACTOR, now=now
    )
    moved = flows.recompute_open(
        session,
        rules=rules,
        before=before,
        actor=ACTOR,
        now=now,
        why="closure day 2026-04-28 added",
    )
    session.commit()

    assert moved == 2  # the live inspection and the drill; the closed one is left alone
    for inspection in (live, drill):
        entry = last_entry(session, inspection)
        assert entry.kind == "deadlines_recomputed"
        assert entry.summary == "Deadlines moved: closure day 2026-04-28 added"
        assert entry.data == {
            "deadlines": {
                "publication": {"from": "2026-05-11", "to": "2026-05-12"},
                "action_statement": {"from": "2026-08-18", "to": "2026-08-19"},
            },
            "why": "closure day 2026-04-28 added",
        }
    assert kinds(session, closed) == ["announced", "milestone_recorded"]
    jobs = jobs_of(session, live)
    assert jobs["publication:0"].due_at == utc(2026, 5, 12, 8)
    # 10 working days before Tue 2026-05-12, skipping May 4 and the closure on Apr 28:
    # May 11, 8, 7, 6, 5, 1, Apr 30, 29, 27, 24.
    assert jobs["publication:10"].due_at == utc(2026, 4, 24, 8)
    assert jobs["publication:5"].due_at == utc(2026, 5, 5, 8)
    assert jobs_of(session, drill) == {}


def test_a_closure_day_after_every_deadline_moves_nothing(session: Session, rules: Rules) -> None:
    live = make_inspection(session, rules, notified_at=CALL)
    now = london(2026, 3, 10, 14, 0)
    before = rules.calendar(session)
    add_closure_day(session, day=date(2027, 1, 4), reason="Extra day", actor=ACTOR, now=now)
    moved = flows.recompute_open(
        session, rules=rules, before=before, actor=ACTOR, now=now, why="closure day added"
    )
    session.commit()
    assert moved == 0
    assert kinds(session, live) == ["announced"]


def test_a_closure_day_that_removes_the_only_on_site_day_is_refused(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    for day in public(session, rules, inspection, CALL).phases[0].days[1:]:
        override(session, rules, inspection, day, False, CALL)
    for p in public(session, rules, inspection, CALL).phases[2:]:
        for day in p.days:
            override(session, rules, inspection, day, False, CALL)
    assert public(session, rules, inspection, CALL).on_site_days == 1
    before = rules.calendar(session)
    add_closure_day(session, day=date(2026, 3, 4), reason="Flood", actor=ACTOR, now=CALL)
    with pytest.raises(InvalidInput) as caught:
        flows.recompute_open(
            session, rules=rules, before=before, actor=ACTOR, now=CALL, why="closure day added"
        )
    assert caught.value.field == "date"
    assert str(inspection.id) in caught.value.message


# --- status ---------------------------------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("today", "recorded", "status"),
    [
        (date(2026, 3, 3), {}, "announced"),
        (date(2026, 3, 4), {}, "in_progress"),
        (date(2026, 3, 25), {}, "in_progress"),
        (date(2026, 3, 26), {}, "awaiting_report"),
        (date(2026, 5, 20), {"report_published": date(2026, 5, 6)}, "awaiting_action_statement"),
        (
            date(2026, 7, 2),
            {"report_published": date(2026, 5, 6), "action_statement_published": date(2026, 7, 1)},
            "action_statement_published",
        ),
        (date(2026, 3, 10), {"closed": date(2026, 3, 10)}, "closed"),
    ],
)
def test_status_follows_the_timetable_and_the_milestones(
    today: date, recorded: dict[str, date], status: str
) -> None:
    table = compute(load_all()["sif-2013"], date(2026, 3, 3), WorkingCalendar(), {}, recorded)
    assert service.status_of(table, recorded, today) == status


@pytest.mark.sqlite_only
def test_the_public_view_reports_the_status_for_the_given_moment(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    assert public(session, rules, inspection, CALL).status == "announced"
    assert public(session, rules, inspection, london(2026, 3, 4, 8, 0)).status == "in_progress"
    assert public(session, rules, inspection, london(2026, 3, 26, 8, 0)).status == "awaiting_report"


def test_listing_finds_real_inspections_and_drills(session: Session, rules: Rules) -> None:
    real = make_inspection(session, rules, notified_at=CALL)
    drill = make_inspection(session, rules, notified_at=CALL + timedelta(minutes=1), drill=True)
    assert [i.id for i in service.list_inspections(session, drill=False)] == [real.id]
    assert [i.id for i in service.list_inspections(session, drill=True)] == [drill.id]
    assert {i.id for i in service.list_inspections(session)} == {real.id, drill.id}


def test_standing_applies_the_milestones_and_says_the_status_on_the_day(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    milestone(
        session, rules, inspection, Milestone.closed, date(2026, 3, 10), london(2026, 3, 10, 17)
    )
    stands = service.standing(session, inspection, rules=rules, today=date(2026, 3, 11))
    assert stands.status == "closed" and stands.milestones == {"closed": date(2026, 3, 10)}
    assert stands.table.on_site_start == date(2026, 3, 4)


def test_summaries_list_each_status_and_an_unknown_framework_as_unknown(
    session: Session, rules: Rules
) -> None:
    real = make_inspection(session, rules, notified_at=CALL)
    gone = make_inspection(session, rules, notified_at=CALL + timedelta(minutes=1), drill=True)
    gone.framework = "a-removed-framework"
    session.commit()
    found = service.summaries(session, [real, gone], rules=rules, today=date(2026, 3, 4))
    assert [(s.inspection.id, s.status) for s in found] == [
        (real.id, "in_progress"),
        (gone.id, "unknown"),
    ]
    assert found[0].on_site_start == date(2026, 3, 4) and found[1].on_site_start is None


def test_the_planned_timetable_is_the_one_an_announce_would_compute(
    session: Session, rules: Rules
) -> None:
    planned = service.planned_timetable(
        session, rules=rules, framework="sif-2013", notified_at=CALL
    )
    inspection = make_inspection(session, rules, notified_at=CALL)
    assert planned == service.timetable_of(session, inspection, rules=rules)
