"""The statement's stages before publication, and reading it back beside its deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from service import timeline
from service.errors import Conflict, InvalidInput
from service.inspections.service import get, require_open, timetable_of
from service.inspections.timetable import DeadlineDue
from service.rules import Rules
from service.statement.models import ActionStatement, Stage

DEADLINE = "action_statement"
DEFAULT_TITLE = "Written statement of action"


@dataclass(frozen=True)
class Statement:
    row: ActionStatement | None
    deadline: DeadlineDue | None
    working_days_left: int | None
    """Working days from today to the due date (negative once past); None once met."""


def read(session: Session, *, rules: Rules, inspection_id: uuid.UUID, now: datetime) -> Statement:
    inspection = get(session, inspection_id)
    table = timetable_of(session, inspection, rules=rules)
    deadline = table.deadline(DEADLINE)
    left = None
    if deadline is not None and deadline.met_on is None:
        left = rules.calendar(session).working_days_between(rules.local_date(now), deadline.due)
    return Statement(
        row=session.get(ActionStatement, inspection_id), deadline=deadline, working_days_left=left
    )


def _log(session: Session, row: ActionStatement, kind: str, summary: str, **data: object) -> None:
    timeline.log(
        session,
        inspection_id=row.inspection_id,
        actor=row.updated_by,
        kind=kind,
        summary=summary,
        data={
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in data.items()
        },
        now=row.updated_at,
    )


def draft(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    title: str | None,
    draft_url: str | None,
    notes: str | None,
    actor: str,
    now: datetime,
) -> ActionStatement:
    """Start or edit the draft; once approved, the approved text is what gets published."""
    require_open(session, inspection_id, what="its statement of action")
    row = session.get(ActionStatement, inspection_id)
    if row is not None and row.stage != Stage.draft:
        raise Conflict(f"the statement of action is {row.stage}; a draft can no longer be edited")
    if row is None:
        row = ActionStatement(
            inspection_id=inspection_id,
            stage=Stage.draft,
            title=title or DEFAULT_TITLE,
            updated_at=now,
            updated_by=actor,
        )
    row.title = title or row.title
    row.draft_url, row.notes = draft_url, notes
    row.updated_at, row.updated_by = now, actor
    session.add(row)
    _log(session, row, "action_statement_drafted", f"Statement of action drafted: {row.title}")
    return row


def approve(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    approved_by: str,
    approved_on: date,
    meeting: str,
    actor: str,
    now: datetime,
) -> ActionStatement:
    """Approve the draft (or correct an approval not yet published)."""
    inspection = require_open(session, inspection_id, what="its statement of action")
    row = session.get(ActionStatement, inspection_id)
    if row is None:
        raise Conflict("there is no draft statement of action to approve; start the draft first")
    if row.stage == Stage.published:
        raise Conflict("the statement of action is published; its approval can no longer change")
    today = rules.local_date(now)
    if approved_on > today:
        raise InvalidInput("approved_on", f"is in the future (today is {today.isoformat()})")
    called = rules.local_date(inspection.notified_at)
    if approved_on < called:
        raise InvalidInput("approved_on", f"is before Ofsted called ({called.isoformat()})")
    row.stage = Stage.approved
    row.approved_by, row.approved_on, row.approved_at_meeting = approved_by, approved_on, meeting
    row.updated_at, row.updated_by = now, actor
    session.add(row)
    _log(
        session,
        row,
        "action_statement_approved",
        f"Statement of action approved by {approved_by} at {meeting} on {approved_on.isoformat()}",
        approved_by=approved_by,
        approved_on=approved_on,
        meeting=meeting,
    )
    return row


def mark_published(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    published_on: date,
    url: str,
    actor: str,
    now: datetime,
) -> ActionStatement:
    """The statement's side of publishing; the flow records the milestone with it."""
    row = session.get(ActionStatement, inspection_id)
    if row is None or row.stage == Stage.draft:
        raise Conflict("the statement of action is not approved yet; record its approval first")
    assert row.approved_on is not None
    if published_on < row.approved_on:
        raise InvalidInput(
            "published_on", f"is before the statement was approved ({row.approved_on.isoformat()})"
        )
    row.stage = Stage.published
    row.published_on, row.published_url = published_on, url
    row.updated_at, row.updated_by = now, actor
    session.add(row)
    _log(
        session,
        row,
        "action_statement_published",
        f"Statement of action published on {published_on.isoformat()}",
        published_on=published_on,
        url=url,
    )
    return row
