"""Committees and meetings: added, listed, checked. A committee is the council's (the same
scrutiny committee hears every inspection); a meeting takes one inspection's action plans."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service import audit_log, timeline
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections.service import get, require_open
from service.scrutiny.models import Committee, CommitteeKind, CommitteeMeeting

MAX_COMMITTEES = 50
MAX_MEETINGS = 200
"""Per inspection: monthly for over fifteen years."""
MEETING_HORIZON = timedelta(days=5 * 366)
"""A meeting more than five years from the inspection is a typing mistake."""


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInput("name", "enter the committee's name")
    if len(name) > 200:
        raise InvalidInput("name", f"must be at most 200 characters, not {len(name)}")
    return name


def add_committee(
    session: Session, *, name: str, kind: CommitteeKind, actor: str, now: datetime
) -> Committee:
    name = _name(name)
    if session.exec(select(func.count()).select_from(Committee)).one() >= MAX_COMMITTEES:
        raise InvalidInput("name", f"a council keeps at most {MAX_COMMITTEES} committees here")
    # SQLite's lower() folds ASCII only, so the exact name is asked for as well.
    same = or_(col(Committee.name) == name, func.lower(Committee.name) == name.lower())
    if session.exec(select(Committee).where(same)).first() is not None:
        raise Conflict(f"there is already a committee called {name!r}")
    committee = Committee(name=name, kind=kind.value, created_at=now, created_by=actor)
    session.add(committee)
    try:
        session.flush()
    except IntegrityError:  # added at the same moment by someone else
        session.rollback()
        raise Conflict(f"there is already a committee called {name!r}") from None
    audit_log.record(
        session,
        actor=actor,
        action="committee_added",
        target=name,
        now=now,
        data={"id": committee.id, "kind": kind.value},
    )
    return committee


def committees(session: Session) -> list[Committee]:
    return list(session.exec(select(Committee).order_by(col(Committee.name))).all())


def committee_of(session: Session, committee_id: int, *, field: str = "committee_id") -> Committee:
    committee = session.get(Committee, committee_id)
    if committee is None:
        raise InvalidInput(field, f"there is no committee {committee_id}")
    return committee


def add_meeting(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    committee_id: int,
    meets_on: date,
    actor: str,
    now: datetime,
) -> CommitteeMeeting:
    """A meeting may be in the past: a council records the ones already held."""
    inspection = require_open(session, inspection_id, what="its meetings")
    committee = committee_of(session, committee_id)
    called = inspection.notified_at.date()
    if not called - timedelta(days=1) <= meets_on <= called + MEETING_HORIZON:
        raise InvalidInput(
            "meets_on",
            f"must be between the call ({called.isoformat()}) and five years after it",
        )
    count = session.exec(
        select(func.count())
        .select_from(CommitteeMeeting)
        .where(CommitteeMeeting.inspection_id == inspection_id)
    ).one()
    if count >= MAX_MEETINGS:
        raise InvalidInput("meets_on", f"an inspection has at most {MAX_MEETINGS} meetings here")
    clash = session.exec(
        select(CommitteeMeeting).where(
            CommitteeMeeting.inspection_id == inspection_id,
            CommitteeMeeting.committee_id == committee_id,
            CommitteeMeeting.meets_on == meets_on,
        )
    ).first()
    if clash is not None:
        raise Conflict(f"{committee.name} already meets on {meets_on.isoformat()}")
    meeting = CommitteeMeeting(
        committee_id=committee_id,
        inspection_id=inspection_id,
        meets_on=meets_on,
        created_at=now,
        created_by=actor,
    )
    session.add(meeting)
    try:
        session.flush()
    except IntegrityError:  # the same meeting added at the same moment
        session.rollback()
        raise Conflict(f"{committee.name} already meets on {meets_on.isoformat()}") from None
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="committee_meeting_added",
        summary=f"{committee.name} takes the action plans on {meets_on.strftime('%-d %B %Y')}",
        data={"meeting_id": meeting.id, "committee_id": committee_id, "on": meets_on.isoformat()},
        now=now,
    )
    return meeting


def meetings(
    session: Session, inspection_id: uuid.UUID
) -> list[tuple[CommitteeMeeting, Committee]]:
    """Oldest first."""
    get(session, inspection_id)
    query = (
        select(CommitteeMeeting, Committee)
        .join(Committee, col(Committee.id) == col(CommitteeMeeting.committee_id))
        .where(CommitteeMeeting.inspection_id == inspection_id)
        .order_by(col(CommitteeMeeting.meets_on), col(CommitteeMeeting.id))
    )
    return [(meeting, committee) for meeting, committee in session.exec(query).all()]


def meeting_of(
    session: Session, inspection_id: uuid.UUID, meeting_id: int
) -> tuple[CommitteeMeeting, Committee]:
    found = session.exec(
        select(CommitteeMeeting, Committee)
        .join(Committee, col(Committee.id) == col(CommitteeMeeting.committee_id))
        .where(CommitteeMeeting.id == meeting_id, CommitteeMeeting.inspection_id == inspection_id)
    ).first()
    if found is None:
        raise NotFound(f"no meeting {meeting_id} for inspection {inspection_id}")
    return found[0], found[1]


def previous_meeting(session: Session, meeting: CommitteeMeeting) -> CommitteeMeeting | None:
    """The same committee's last meeting on this inspection before this one."""
    return session.exec(
        select(CommitteeMeeting)
        .where(
            CommitteeMeeting.inspection_id == meeting.inspection_id,
            CommitteeMeeting.committee_id == meeting.committee_id,
            col(CommitteeMeeting.meets_on) < meeting.meets_on,
        )
        .order_by(col(CommitteeMeeting.meets_on).desc())
        .limit(1)
    ).first()
