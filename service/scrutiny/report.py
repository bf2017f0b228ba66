"""A committee's report: what moved in the action plans since its last meeting on them.

Every figure is counted from the actions as they stand (their tasks' creation and done times,
their due dates), so a report for a past meeting can be made again later and says the same, apart
from the RAG counts, which are the current ones (a RAG status keeps no history)."""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections import Counter
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from service.actions import service as actions
from service.actions.models import ActionPlan, Rag
from service.rules import Rules
from service.scrutiny import service
from service.scrutiny.models import Committee, CommitteeKind, CommitteeMeeting
from service.scrutiny.schemas import (
    ActionLine,
    CompletedSoFar,
    MeetingPublic,
    RagCounts,
    ScrutinyReport,
)

PAGE = 500
WEEKLY_AFTER = 730
"""Days: a longer span is drawn week by week, so a chart never has more than a few hundred
points."""


def meeting_public(meeting: CommitteeMeeting, committee: Committee) -> MeetingPublic:
    assert meeting.id is not None and committee.id is not None
    return MeetingPublic(
        id=meeting.id,
        inspection_id=meeting.inspection_id,
        committee_id=committee.id,
        committee=committee.name,
        kind=CommitteeKind(committee.kind),
        meets_on=meeting.meets_on,
    )


def _all_actions(session: Session, meeting: CommitteeMeeting) -> list[actions.ActionRow]:
    rows: list[actions.ActionRow] = []
    after: int | None = None
    while True:
        page, more = actions.actions_page(
            session, inspection_id=meeting.inspection_id, after=after, limit=PAGE
        )
        rows += page
        if not more or not page:
            return rows
        after = page[-1].action.id


def build(
    session: Session,
    rules: Rules,
    *,
    inspection_id: uuid.UUID,
    meeting_id: int,
    now: datetime,
) -> ScrutinyReport:
    meeting, committee = service.meeting_of(session, inspection_id, meeting_id)
    previous = service.previous_meeting(session, meeting)
    since = previous.meets_on if previous else None
    until = meeting.meets_on
    plans = dict(
        session.exec(
            select(ActionPlan.id, ActionPlan.title).where(ActionPlan.inspection_id == inspection_id)
        ).all()
    )
    rows = _all_actions(session, meeting)

    def day(moment: datetime | None) -> date | None:
        return rules.local_date(moment) if moment else None

    def line(row: actions.ActionRow) -> ActionLine:
        assert row.action.id is not None
        return ActionLine(
            id=row.action.id,
            plan=plans.get(row.plan_id, ""),
            title=row.task.title,
            agency=row.agency_name,
            owner=row.owner_name,
            due_on=day(row.task.due_at),
            done_on=day(row.task.done_at),
            rag=Rag(row.action.rag),
            rag_reason=row.action.rag_reason,
        )

    def in_period(on: date | None) -> bool:
        return on is not None and (since is None or on > since) and on <= until

    existing = [row for row in rows if rules.local_date(row.action.created_at) <= until]
    lines = [line(row) for row in existing]
    created: list[date | None] = [rules.local_date(row.action.created_at) for row in existing]
    new = [item for item, on in zip(lines, created, strict=True) if in_period(on)]
    completed = [item for item in lines if in_period(item.done_on)]
    overdue = [
        item
        for item in lines
        if item.due_on is not None
        and item.due_on < until
        and (item.done_on is None or item.done_on > until)
    ]
    rag = Counter(Rag(row.action.rag) for row in rows)
    return ScrutinyReport(
        meeting=meeting_public(meeting, committee),
        since=since,
        actions=len(existing),
        new=new,
        completed=completed,
        overdue=sorted(overdue, key=lambda item: (item.due_on, item.id)),
        rag=RagCounts(red=rag[Rag.red], amber=rag[Rag.amber], green=rag[Rag.green]),
        over_time=_over_time(created, [item.done_on for item in lines], until),
        made_at=now,
    )


def _over_time(
    created: list[date | None], done: list[date | None], until: date
) -> list[CompletedSoFar]:
    """Cumulative actions and completions by the end of each day (or week) up to `until`."""
    starts = sorted(on for on in created if on is not None)
    if not starts:
        return []
    ends = sorted(on for on in done if on is not None and on <= until)
    step = timedelta(days=7 if (until - starts[0]).days > WEEKLY_AFTER else 1)
    points: list[CompletedSoFar] = []
    day = starts[0]
    while True:
        points.append(
            CompletedSoFar(
                on=day, actions=bisect_right(starts, day), completed=bisect_right(ends, day)
            )
        )
        if day >= until:
            return points
        day = min(day + step, until)
