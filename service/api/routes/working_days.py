"""Working-day arithmetic and the council's closure days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.api.deps import Admin, InspectionsReader, ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, keyset
from service.calendar.closures import ClosureDayExists, list_closure_days
from service.calendar.working_days import MAX_WORKING_DAYS
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import flows as inspection_flows
from service.inspections.schemas import (
    ClosureDayCreate,
    ClosureDayPublic,
    ClosureDaysPublic,
    WorkingDayCheck,
    WorkingDaysAdded,
    WorkingDaysBetween,
)

router = APIRouter(prefix="/api/v1", tags=["working days"])

Days = Annotated[int, Query(ge=-MAX_WORKING_DAYS, le=MAX_WORKING_DAYS)]


@contextmanager
def _inside_calendar(field: str) -> Iterator[None]:
    """Counting past 0001-01-01 or 9999-12-31 is bad input, not a server error."""
    try:
        yield
    except OverflowError as exc:
        raise InvalidInput(
            field, "the count runs past the calendar's range (years 1 to 9999)"
        ) from exc


@router.get(
    "/working-days/add",
    response_model=WorkingDaysAdded,
    summary="The n-th working day after (or before) a date",
    responses=error_responses(401, 403, 422),
)
def add(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    start: Annotated[dt.date, Query(alias="from")],
    days: Days,
) -> WorkingDaysAdded:
    calendar = rules.calendar(session)
    with _inside_calendar("days"):
        date = calendar.add_working_days(start, days)
    return WorkingDaysAdded(from_=start, days=days, date=date)


@router.get(
    "/working-days/between",
    response_model=WorkingDaysBetween,
    summary="Working days after `from` up to and including `to`",
    responses=error_responses(401, 403, 422),
)
def between(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> WorkingDaysBetween:
    if abs((end - start).days) > MAX_WORKING_DAYS * 2:
        raise InvalidInput("to", "is too far from `from`")
    calendar = rules.calendar(session)
    with _inside_calendar("to"):
        count = calendar.working_days_between(start, end)
    return WorkingDaysBetween(from_=start, to=end, working_days=count)


@router.get(
    "/working-days/check",
    response_model=WorkingDayCheck,
    summary="Is this a working day, and if not why not",
    responses=error_responses(401, 403, 422),
)
def check(
    session: ReadSessionDep, rules: RulesDep, _: InspectionsReader, date: dt.date
) -> WorkingDayCheck:
    reason = rules.calendar(session).non_working_reason(date)
    return WorkingDayCheck(date=date, working_day=reason is None, reason=reason)


@router.get(
    "/closure-days",
    response_model=ClosureDaysPublic,
    summary="The council's own non-working days",
    responses=error_responses(401, 403, 422),
)
def list_closures(
    session: ReadSessionDep, _: InspectionsReader, page: CursorPageDep
) -> ClosureDaysPublic:
    """By date; one closure a day."""
    found, next_cursor = keyset(
        list_closure_days(session), page=page, key=lambda row: (row.day.isoformat(),), kinds=(str,)
    )
    return ClosureDaysPublic(
        items=[
            ClosureDayPublic(date=c.day, reason=c.reason, created_by=c.created_by) for c in found
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/closure-days",
    status_code=201,
    response_model=ClosureDayPublic,
    summary="Add a closure day; open inspections' deadlines and reminders follow",
    responses=error_responses(401, 403, 422, described={409: "It is a closure day already"}),
)
def add_closure(
    body: ClosureDayCreate, session: SessionDep, rules: RulesDep, principal: Admin
) -> ClosureDayPublic:
    try:
        closure, _ = inspection_flows.add_closure(
            session,
            rules=rules,
            day=body.date,
            reason=body.reason,
            actor=principal.actor,
            now=utcnow(),
        )
    except ClosureDayExists as exc:
        raise Conflict(str(exc)) from exc
    commit_or_conflict(session)
    return ClosureDayPublic(date=closure.day, reason=closure.reason, created_by=closure.created_by)


@router.delete(
    "/closure-days/{day}",
    status_code=204,
    summary="Remove a closure day",
    responses=error_responses(401, 403, 422, described={404: "Not a closure day"}),
)
def remove_closure(
    day: dt.date, session: SessionDep, rules: RulesDep, principal: Admin
) -> Response:
    moved = inspection_flows.remove_closure(
        session, rules=rules, day=day, actor=principal.actor, now=utcnow()
    )
    if moved is None:
        raise NotFound(f"{day.isoformat()} is not a closure day")
    commit_or_conflict(session)
    return Response(status_code=204)
