"""Opening, withdrawing, reading and changing an inspection's improvement pathway.

The framework file lists what follows the overall grade that opens it (`improvement_pathway`).
Recording that grade opens it once: its tasks become plan tasks (category `improvement`, owned
through the role map, reminded and escalated by the plan's own rows), its board's meetings for
the next twelve months become rows with a reminder each, and a progress-report task goes before
each meeting. Recording it again changes nothing; correcting the outcome away from it withdraws
the pathway: meetings still to come are cancelled, and tasks not yet done are removed with their
reminders (done ones stay, as the record of work done)."""

from __future__ import annotations

import calendar as months
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session, col, delete, func, select

from service import timeline
from service.errors import InvalidInput, NotFound
from service.frameworks import Framework, FrameworkError, ImprovementPathway, Registry
from service.improvement.meeting_days import (
    at_moment,
    meeting_days,
    meeting_time,
    report_due,
    report_title,
)
from service.improvement.models import BoardMeeting, ImprovementBoard, MeetingStatus, PathwayStatus
from service.inspections.models import Inspection
from service.inspections.service import get, require_open
from service.notify.templates.render import format_moment
from service.plan import reminders as plan_reminders
from service.plan import tasks as plan_tasks
from service.plan.definitions import Category
from service.plan.due_rules import DEFAULT_TIME, RuleError, parse_reminder, remind_at
from service.plan.models import Task, TaskComment, TaskStatus
from service.plan.owners import Owners
from service.rules import Rules
from service.scheduler import due

MEETING_KIND = "board_meeting_reminder"
TASK_PREFIX = "improvement-"
REPORT_PREFIX = f"{TASK_PREFIX}report-"
MONTHS_AHEAD = 12
"""Meetings are set for the next twelve months; the board sets the later ones itself."""


def check_frameworks(registry: Registry) -> None:
    """Every pathway's reminder rules read as the plan reads them (checked at start, beside the
    plan files, since the rules' grammar is the plan's); FrameworkError naming the field."""
    for framework in registry.all():
        pathway = framework.improvement_pathway
        if pathway is None:
            continue
        for field, text in pathway.reminder_rules():
            try:
                parse_reminder(text)
            except RuleError as exc:
                raise FrameworkError(
                    f"{framework.key}.yaml: improvement_pathway.{field}: {exc}"
                ) from None


def meeting_key(inspection_id: uuid.UUID, meeting_id: int) -> str:
    return f"{inspection_id}:board_meeting:{meeting_id}:reminder"


def pathway_of(framework: Framework) -> ImprovementPathway | None:
    return framework.improvement_pathway


# --- opening and withdrawing ----------------------------------------------------------------


@dataclass
class _TaskWriter:
    """Plan tasks of the pathway, owned through the role map, placed after the plan's."""

    session: Session
    inspection: Inspection
    actor: str
    now: datetime

    def __post_init__(self) -> None:
        self.owners = Owners(self.session)
        self.keys = set(
            self.session.exec(select(Task.key).where(Task.inspection_id == self.inspection.id))
        )
        highest = self.session.exec(
            select(func.max(Task.position)).where(Task.inspection_id == self.inspection.id)
        ).one()
        self.position = highest if highest is not None else -1

    def add(
        self,
        *,
        key: str,
        title: str,
        description: str | None,
        role: str,
        due_at: datetime,
        reminder: str,
    ) -> Task | None:
        if key in self.keys:
            return None  # done before the pathway was last withdrawn: kept, not made twice
        owner = self.owners.for_role(role)
        parsed = parse_reminder(reminder)
        self.position += 1
        task = Task(
            inspection_id=self.inspection.id,
            key=key,
            position=self.position,
            title=title[:200],
            description=description,
            category=Category.improvement.value,
            owner_role=role,
            owner_contact_id=owner.contact_id,
            owner_source=owner.source.value,
            due_rule=None,
            due_at=due_at,
            reminder_rule=parsed.text if parsed else None,
            depends_on=[],
            status=TaskStatus.to_do.value,
            ad_hoc=False,
            created_at=self.now,
            created_by=self.actor,
            updated_at=self.now,
        )
        self.session.add(task)
        self.keys.add(key)
        return task


def follow(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    overall: str | None,
    actor: str,
    now: datetime,
) -> str | None:
    """After judgements are recorded: open the pathway when `overall` opens it, withdraw it when
    it no longer does, else nothing. Returns what happened ("opened", "withdrawn") or None."""
    inspection = get(session, inspection_id)
    framework = rules.framework(inspection.framework)
    opens = framework.pathway_grade
    board = session.get(ImprovementBoard, inspection_id)
    is_open = board is not None and board.status == PathwayStatus.open.value
    if opens is not None and overall == opens:
        if is_open:
            return None
        _open(
            session,
            rules=rules,
            inspection=inspection,
            framework=framework,
            grade=opens,
            actor=actor,
            now=now,
        )
        return "opened"
    if is_open:
        assert board is not None
        _withdraw(
            session,
            rules=rules,
            inspection=inspection,
            board=board,
            overall=overall,
            actor=actor,
            now=now,
        )
        return "withdrawn"
    return None


def _open(
    session: Session,
    *,
    rules: Rules,
    inspection: Inspection,
    framework: Framework,
    grade: str,
    actor: str,
    now: datetime,
) -> None:
    pathway = framework.improvement_pathway
    assert pathway is not None
    calendar = rules.calendar(session)
    zone = rules.zone
    opened_on = rules.local_date(now)
    board = session.get(ImprovementBoard, inspection.id)
    if board is None:
        board = ImprovementBoard(
            inspection_id=inspection.id,
            name=pathway.board.name if pathway.board else "Improvement pathway",
            members=list(pathway.board.members) if pathway.board else [],
            grade=grade,
            opened_at=now,
            opened_by=actor,
            updated_at=now,
        )
    else:  # withdrawn before, opened again: its members as the lead last set them
        board.status, board.grade, board.withdrawn_at = PathwayStatus.open.value, grade, None
        board.opened_at, board.opened_by, board.updated_at = now, actor, now
    session.add(board)
    session.flush()
    writer = _TaskWriter(session, inspection, actor, now)
    made: list[str] = []
    for item in pathway.tasks:
        task = writer.add(
            key=f"{TASK_PREFIX}{item.key}",
            title=item.title,
            description=item.description,
            role=item.owner_role,
            due_at=at_moment(
                calendar.add_working_days(opened_on, item.working_days), DEFAULT_TIME, zone
            ),
            reminder=item.reminder,
        )
        if task is not None:
            made.append(task.title)
    meetings: list[BoardMeeting] = []
    if pathway.board is not None:
        until = _add_months(opened_on, MONTHS_AHEAD)
        numbered = session.exec(
            select(func.max(BoardMeeting.number)).where(BoardMeeting.inspection_id == inspection.id)
        ).one()
        number = numbered or 0
        at = meeting_time(pathway.board)
        for day in meeting_days(pathway.board, opened_on, calendar, until=until):
            number += 1
            meeting = BoardMeeting(
                inspection_id=inspection.id,
                number=number,
                starts_at=at_moment(day, at, zone),
                created_at=now,
                updated_at=now,
            )
            reports = pathway.progress_reports
            if reports is not None:
                task = writer.add(
                    key=f"{REPORT_PREFIX}{number}",
                    title=report_title(reports.title, meeting.starts_at, zone),
                    description=None,
                    role=reports.owner_role,
                    due_at=report_due(
                        meeting.starts_at, reports.working_days_before, calendar, zone
                    ),
                    reminder=reports.reminder,
                )
                meeting.report_task_id = task.id if task is not None else None
            meetings.append(meeting)
    session.flush()  # the report tasks before the meetings that name them
    session.add_all(meetings)
    session.flush()
    first = (
        f"; the board first meets {format_moment(meetings[0].starts_at, zone)}" if meetings else ""
    )
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="improvement_pathway_opened",
        summary=f"Improvement pathway opened ({grade.replace('_', ' ')}): "
        f"{len(made)} tasks, {len(meetings)} board meetings{first}",
        data={
            "grade": grade,
            "tasks": made,
            "meetings": [meeting.starts_at.isoformat() for meeting in meetings],
        },
        now=now,
    )
    sync_reminders(session, rules=rules, inspection=inspection, now=now)


def _add_months(day: date, count: int) -> date:
    index = day.month - 1 + count
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, months.monthrange(year, month)[1]))


def _withdraw(
    session: Session,
    *,
    rules: Rules,
    inspection: Inspection,
    board: ImprovementBoard,
    overall: str | None,
    actor: str,
    now: datetime,
) -> None:
    board.status, board.withdrawn_at, board.updated_at = PathwayStatus.withdrawn.value, now, now
    session.add(board)
    meetings = session.exec(
        select(BoardMeeting).where(BoardMeeting.inspection_id == inspection.id)
    ).all()
    cancelled = 0
    for meeting in meetings:
        if meeting.status == MeetingStatus.scheduled.value and meeting.starts_at > now:
            meeting.status, meeting.updated_at = MeetingStatus.cancelled.value, now
            cancelled += 1
        meeting.report_task_id = None
        session.add(meeting)
    open_tasks = session.exec(
        select(Task).where(
            Task.inspection_id == inspection.id,
            Task.category == Category.improvement.value,
            Task.status != TaskStatus.done.value,
        )
    ).all()
    for task in open_tasks:
        plan_reminders.cancel_for_task(
            session,
            inspection_id=inspection.id,
            task_id=task.id,
            reason="improvement pathway withdrawn",
            now=now,
        )
    ids = [task.id for task in open_tasks]
    session.flush()
    if ids:
        session.exec(delete(TaskComment).where(col(TaskComment.task_id).in_(ids)))  # type: ignore[call-overload]
        session.exec(delete(Task).where(col(Task.id).in_(ids)))  # type: ignore[call-overload]
    grade = overall.replace("_", " ") if overall else "not yet known"
    timeline.log(
        session,
        inspection_id=inspection.id,
        actor=actor,
        kind="improvement_pathway_withdrawn",
        summary=f"Improvement pathway withdrawn (overall judgement now {grade}): "
        f"{cancelled} board meetings cancelled, {len(ids)} open tasks removed",
        data={"overall": overall, "removed_tasks": [task.title for task in open_tasks]},
        now=now,
    )
    sync_reminders(session, rules=rules, inspection=inspection, now=now)


# --- reminders ------------------------------------------------------------------------------


def sync_reminders(
    session: Session, *, rules: Rules, inspection: Inspection, now: datetime
) -> None:
    """The plan's rows for the pathway's tasks, and a reminder row per meeting to come, in line
    with the board as it now stands. Drills get none, as they get no task reminders."""
    plan_tasks.sync_reminders(session, inspection, rules=rules, now=now)
    if inspection.drill:
        return
    session.flush()
    board = session.get(ImprovementBoard, inspection.id)
    framework = rules.framework(inspection.framework)
    board_rules = framework.improvement_pathway.board if framework.improvement_pathway else None
    rule = parse_reminder(board_rules.reminder) if board_rules is not None else None
    calendar = rules.calendar(session)
    rows = due.Placement(session, inspection_id=inspection.id, kinds=[MEETING_KIND], now=now)
    meetings = session.exec(
        select(BoardMeeting).where(BoardMeeting.inspection_id == inspection.id)
    ).all()
    for meeting in meetings:
        assert meeting.id is not None
        key = meeting_key(inspection.id, meeting.id)
        if board is None or board.status != PathwayStatus.open.value:
            rows.stop(key, "improvement pathway withdrawn")
        elif meeting.status != MeetingStatus.scheduled.value:
            rows.stop(key, "meeting cancelled")
        elif rule is None:
            rows.stop(key, "no reminder rule")
        else:
            rows.place(
                key,
                MEETING_KIND,
                remind_at(rule, meeting.starts_at, calendar, rules.zone),
                {"meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat()},
                late=now if meeting.starts_at > now else None,
                late_reason="moved past the meeting",
            )
    rows.write()


# --- reading and changing -------------------------------------------------------------------


@dataclass(frozen=True)
class Pathway:
    board: ImprovementBoard
    has_board: bool
    meetings: list[BoardMeeting]
    tasks: list[Task]


def read(session: Session, *, rules: Rules, inspection_id: uuid.UUID) -> Pathway:
    """The pathway; NotFound when it was never opened or has been withdrawn."""
    inspection = get(session, inspection_id)
    board = session.get(ImprovementBoard, inspection_id)
    if board is None or board.status != PathwayStatus.open.value:
        framework = rules.framework(inspection.framework)
        grade = framework.pathway_grade
        why = (
            f"it opens when the overall judgement is recorded as {grade}"
            if grade
            else f"framework {framework.key!r} lists no improvement pathway"
        )
        state = "was withdrawn" if board is not None else "is not open"
        raise NotFound(f"inspection {inspection_id}'s improvement pathway {state}: {why}")
    meetings = list(
        session.exec(
            select(BoardMeeting)
            .where(
                BoardMeeting.inspection_id == inspection_id,
                BoardMeeting.status == MeetingStatus.scheduled.value,
            )
            .order_by(col(BoardMeeting.starts_at), col(BoardMeeting.number))
        ).all()
    )
    tasks = list(
        session.exec(
            select(Task)
            .where(Task.inspection_id == inspection_id, Task.category == Category.improvement.value)
            .order_by(col(Task.due_at), col(Task.position))
        ).all()
    )
    framework = rules.framework(get(session, inspection_id).framework)
    pathway = framework.improvement_pathway
    return Pathway(
        board=board,
        has_board=bool(pathway and pathway.board) or bool(meetings),
        meetings=meetings,
        tasks=tasks,
    )


@dataclass(frozen=True)
class MeetingChange:
    meeting_id: int
    starts_at: datetime


def change_board(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    members: list[str] | None,
    meetings: list[MeetingChange],
    actor: str,
    now: datetime,
) -> Pathway:
    """Change the board's members and move meetings; all checked before anything is
    written. A moved meeting moves its reminder and its progress report's due time."""
    inspection = require_open(session, inspection_id, what="its improvement board")
    current = read(session, rules=rules, inspection_id=inspection_id)
    board = current.board
    framework = rules.framework(inspection.framework)
    if members is not None:
        known = set(rules.plans.roles())
        if framework.improvement_pathway is not None:
            known |= framework.improvement_pathway.roles()
        for index, role in enumerate(members):
            if role not in known:
                raise InvalidInput(
                    f"members.{index}",
                    f"unknown role {role[:64]!r}; the roles are: {', '.join(sorted(known))}",
                )
        if len(set(members)) != len(members):
            raise InvalidInput("members", "a role is listed twice")
    by_id = {
        meeting.id: meeting
        for meeting in session.exec(
            select(BoardMeeting).where(BoardMeeting.inspection_id == inspection_id)
        ).all()
    }
    seen: set[int] = set()
    for index, change in enumerate(meetings):
        meeting = by_id.get(change.meeting_id)
        if meeting is None:
            raise InvalidInput(
                f"meetings.{index}.id", f"no meeting {change.meeting_id} of this board"
            )
        if change.meeting_id in seen:
            raise InvalidInput(f"meetings.{index}.id", "the meeting is listed twice")
        seen.add(change.meeting_id)
        if meeting.status != MeetingStatus.scheduled.value:
            raise InvalidInput(f"meetings.{index}.id", f"meeting {change.meeting_id} is cancelled")
        if meeting.starts_at <= now:
            raise InvalidInput(f"meetings.{index}.id", "the meeting has taken place already")
        if change.starts_at <= now:
            raise InvalidInput(f"meetings.{index}.starts_at", "must be in the future")
    said: list[str] = []
    if members is not None and members != board.members:
        said.append(f"members now {', '.join(members)}")
        board.members, board.updated_at = list(members), now
        session.add(board)
    calendar = rules.calendar(session)
    reports = (
        framework.improvement_pathway.progress_reports if framework.improvement_pathway else None
    )
    for change in meetings:
        meeting = by_id[change.meeting_id]
        if change.starts_at.astimezone(UTC) != meeting.starts_at:
            moved = change.starts_at.astimezone(UTC)
            said.append(f"meeting {meeting.number} moved to {format_moment(moved, rules.zone)}")
            meeting.starts_at = moved
            task = session.get(Task, meeting.report_task_id) if meeting.report_task_id else None
            if task is not None and reports is not None and task.status != TaskStatus.done.value:
                task.due_at = report_due(moved, reports.working_days_before, calendar, rules.zone)
                task.title = report_title(reports.title, moved, rules.zone)
                task.updated_at = now
                session.add(task)
        meeting.updated_at = now
        session.add(meeting)
    if said:
        timeline.log(
            session,
            inspection_id=inspection_id,
            actor=actor,
            kind="improvement_board_changed",
            summary=f"{board.name}: {'; '.join(said)}"[:1000],
            data={"changes": said},
            now=now,
        )
        sync_reminders(session, rules=rules, inspection=inspection, now=now)
    session.flush()
    return read(session, rules=rules, inspection_id=inspection_id)
