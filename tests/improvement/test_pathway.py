"""Recording an inadequate outcome opens the improvement pathway once: the framework's tasks as
plan tasks, twelve months of board meetings each with a reminder row and a progress report
before it; the reminders come at their London times through the scheduler; a corrected outcome
withdraws what is still to come; a rehearsal gets no reminders."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import timeline
from service.errors import NotFound
from service.improvement import service
from service.improvement.models import ImprovementBoard, MeetingStatus
from service.inspections.models import Inspection
from service.notify.models import Message
from service.rules import Rules
from service.scheduler.due import DueJob, DueStatus
from tests.builders import london, make_inspection
from tests.improvement.pathway_setup import (
    CALL,
    INADEQUATE,
    RECORDED,
    REQUIRES_IMPROVEMENT,
    add_people,
    meetings,
    pathway_tasks,
    record,
)
from tests.plan.reminder_plan import run_due_rows

SECOND = timedelta(seconds=1)
FIRST_MEETING = london(2025, 6, 24, 10, 0)  # the last Tuesday within 20 working days
MEETING_REMINDER = london(2025, 6, 17, 10, 0)  # five working days before
FIRST_REPORT_DUE = london(2025, 6, 17, 17, 0)
FIRST_REPORT_REMINDER = london(2025, 6, 13, 17, 0)  # two working days before
BOARD_TERMS_DUE = london(2025, 6, 16, 17, 0)  # 10 working days after 2 June
PLAN_DUE = london(2025, 9, 9, 17, 0)  # 70 working days; 25 August is a bank holiday


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    add_people(session)
    return make_inspection(session, rules, notified_at=CALL)


def rows(session: Session, inspection_id: uuid.UUID, kind_prefix: str) -> list[DueJob]:
    session.expire_all()
    return list(
        session.exec(
            select(DueJob).where(
                DueJob.inspection_id == inspection_id, col(DueJob.kind).startswith(kind_prefix)
            )
        ).all()
    )


def board_messages(engine: Engine, inspection_id: uuid.UUID) -> list[tuple[str, str]]:
    with Session(engine) as session:
        found = session.exec(
            select(Message).where(
                Message.inspection_id == inspection_id, Message.purpose == "reminder"
            )
        ).all()
        return sorted(
            (m.contact_id or "", m.medium) for m in found if "Improvement board meeting" in m.body
        )


def test_an_inadequate_outcome_opens_the_tasks_and_meetings_once(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    record(session, rules, inspection.id, INADEQUATE)
    tasks = {task.key: task for task in pathway_tasks(session, inspection.id)}
    assert tasks["improvement-board_terms"].due_at == BOARD_TERMS_DUE
    assert tasks["improvement-improvement_plan"].due_at == PLAN_DUE
    assert tasks["improvement-improvement_plan"].owner_contact_id == "dcs"
    assert tasks["improvement-improvement_plan"].reminder_rule == "10 working days before"
    found = meetings(session, inspection.id)
    assert len(found) == 12
    assert found[0].starts_at == FIRST_MEETING
    assert found[-1].starts_at == london(2026, 5, 26, 10, 0)
    report = session.get(type(tasks["improvement-report-1"]), found[0].report_task_id)
    assert report is not None and report.key == "improvement-report-1"
    assert report.due_at == FIRST_REPORT_DUE
    assert len(tasks) == 2 + 12

    # The same outcome again, and a correction that keeps it inadequate: nothing twice.
    record(session, rules, inspection.id, INADEQUATE, now=RECORDED + timedelta(hours=1))
    record(
        session,
        rules,
        inspection.id,
        {**INADEQUATE, "leadership": "inadequate"},
        now=RECORDED + timedelta(hours=2),
    )
    assert len(pathway_tasks(session, inspection.id)) == 14
    assert len(meetings(session, inspection.id)) == 12
    assert len(rows(session, inspection.id, service.MEETING_KIND)) == 12
    kinds = [entry.kind for entry in timeline.entries(session, inspection.id)]
    assert kinds.count("improvement_pathway_opened") == 1


def test_a_non_inadequate_outcome_opens_nothing(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    record(session, rules, inspection.id, REQUIRES_IMPROVEMENT)
    assert pathway_tasks(session, inspection.id) == []
    assert session.get(ImprovementBoard, inspection.id) is None
    assert rows(session, inspection.id, service.MEETING_KIND) == []
    with pytest.raises(
        NotFound, match="opens when the overall judgement is recorded as inadequate"
    ):
        service.read(session, rules=rules, inspection_id=inspection.id)


def test_meeting_and_task_reminders_come_at_their_london_times(
    engine: Engine, session: Session, rules: Rules, inspection: Inspection
) -> None:
    record(session, rules, inspection.id, INADEQUATE)
    task_rows = {row.dedupe_key: row for row in rows(session, inspection.id, "task_")}
    report = next(t for t in pathway_tasks(session, inspection.id) if t.key.endswith("report-1"))
    assert task_rows[f"{inspection.id}:task:{report.id}:reminder"].due_at == FIRST_REPORT_REMINDER
    assert task_rows[f"{inspection.id}:task:{report.id}:overdue"].due_at == FIRST_REPORT_DUE

    run_due_rows(engine, rules, MEETING_REMINDER - SECOND)
    assert board_messages(engine, inspection.id) == []
    run_due_rows(engine, rules, MEETING_REMINDER)
    # Each member's person by their first choice; the unmapped partnerships lead's reminder
    # falls to the steering-group lead.
    assert board_messages(engine, inspection.id) == [
        ("chair", "email"),
        ("dcs", "email"),
        ("member", "email"),
        ("sg-lead", "email"),
    ]
    run_due_rows(engine, rules, FIRST_MEETING + timedelta(days=1))
    assert len(board_messages(engine, inspection.id)) == 4  # never twice


def test_correcting_the_outcome_withdraws_what_is_still_to_come(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    record(session, rules, inspection.id, INADEQUATE)
    terms = next(t for t in pathway_tasks(session, inspection.id) if t.key.endswith("board_terms"))
    terms.status, terms.done_at, terms.done_by = "done", RECORDED, "tests"
    session.add(terms)
    session.commit()

    record(session, rules, inspection.id, REQUIRES_IMPROVEMENT, now=RECORDED + timedelta(days=1))
    assert [task.key for task in pathway_tasks(session, inspection.id)] == [
        "improvement-board_terms"  # done work stays on the record
    ]
    assert {m.status for m in meetings(session, inspection.id)} == {MeetingStatus.cancelled}
    assert {row.status for row in rows(session, inspection.id, service.MEETING_KIND)} == {
        DueStatus.cancelled
    }
    with pytest.raises(NotFound, match="was withdrawn"):
        service.read(session, rules=rules, inspection_id=inspection.id)

    # Inadequate again: a fresh schedule from the new date, the done task not made twice.
    again = RECORDED + timedelta(days=2)
    record(session, rules, inspection.id, INADEQUATE, now=again)
    keys = [task.key for task in pathway_tasks(session, inspection.id)]
    assert keys.count("improvement-board_terms") == 1
    assert "improvement-improvement_plan" in keys
    scheduled = [m for m in meetings(session, inspection.id) if m.status == MeetingStatus.scheduled]
    assert len(scheduled) == 12 and scheduled[0].number == 13


def test_a_rehearsal_opens_the_pathway_without_reminders(session: Session, rules: Rules) -> None:
    add_people(session)
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    record(session, rules, drill.id, INADEQUATE)
    assert len(meetings(session, drill.id)) == 12
    assert len(pathway_tasks(session, drill.id)) == 14
    assert rows(session, drill.id, service.MEETING_KIND) == []
    assert rows(session, drill.id, "task_") == []


def test_moving_a_meeting_moves_its_reminder_and_its_report(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    record(session, rules, inspection.id, INADEQUATE)
    first = meetings(session, inspection.id)[0]
    assert first.id is not None
    later = london(2025, 7, 1, 14, 0)  # Tuesday 1 July
    service.change_board(
        session,
        rules=rules,
        inspection_id=inspection.id,
        members=None,
        meetings=[service.MeetingChange(meeting_id=first.id, starts_at=later)],
        actor="tests",
        now=RECORDED + timedelta(days=1),
    )
    session.commit()
    row = {r.dedupe_key: r for r in rows(session, inspection.id, service.MEETING_KIND)}[
        service.meeting_key(inspection.id, first.id)
    ]
    assert (row.due_at, row.status) == (london(2025, 6, 24, 14, 0), DueStatus.pending)
    report = next(t for t in pathway_tasks(session, inspection.id) if t.key.endswith("report-1"))
    assert report.due_at == london(2025, 6, 24, 17, 0)
    assert report.title.endswith("meeting of Tuesday 1 July 2025, 14:00")
