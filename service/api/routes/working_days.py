"""Working-day arithmetic and the council's closure days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import Admin, InspectionsReader, ReadSessionDep, RulesDep, SessionDep
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import closures
from service.request_models import RequestBody
from service.working_days import (
    MAX_WORKING_DAYS,
    ClosureDayExists,
    list_closure_days,
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


@router.get("/working-days/add", summary="The n-th working day after (or before) a date")
def add(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    start: Annotated[dt.date, Query(alias="from")],
    days: Days,
) -> dict[str, Any]:
    calendar = rules.calendar(session)
    with _inside_calendar("days"):
        date = calendar.add_working_days(start, days)
    return {"from": start, "days": days, "date": date}


@router.get("/working-days/between", summary="Working days after `from` up to and including `to`")
def between(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> dict[str, Any]:
    if abs((end - start).days) > MAX_WORKING_DAYS * 2:
        raise InvalidInput("to", "is too far from `from`")
    calendar = rules.calendar(session)
    with _inside_calendar("to"):
        count = calendar.working_days_between(start, end)
    return {"from": start, "to": end, "working_days": count}


@router.get("/working-days/check", summary="Is this a working day, and if not why not")
def check(
    session: ReadSessionDep, rules: RulesDep, _: InspectionsReader, date: dt.date
) -> dict[str, Any]:
    reason = rules.calendar(session).non_working_reason(date)
    return {"date": date, "working_day": reason is None, "reason": reason}


class ClosureDayIn(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    date: dt.date
    reason: str = Field(min_length=1, max_length=200)


class ClosureDayOut(BaseModel):
    date: dt.date
    reason: str
    created_by: str


@router.get("/closure-days", summary="The council's own non-working days")
def list_closures(session: ReadSessionDep, _: InspectionsReader) -> dict[str, list[ClosureDayOut]]:
    return {
        "items": [
            ClosureDayOut(date=c.day, reason=c.reason, created_by=c.created_by)
            for c in list_closure_days(session)
        ]
    }


@router.post(
    "/closure-days",
    status_code=201,
    response_model=ClosureDayOut,
    summary="Add a closure day; open inspections' deadlines and reminders follow",
)
def add_closure(
    body: ClosureDayIn, session: SessionDep, rules: RulesDep, principal: Admin
) -> ClosureDayOut:
    try:
        closure, _ = closures.close(
            session,
            rules=rules,
            day=body.date,
            reason=body.reason,
            actor=principal.actor,
            now=utcnow(),
        )
    except ClosureDayExists as exc:
        raise Conflict(str(exc)) from exc
    session.commit()
    return ClosureDayOut(date=closure.day, reason=closure.reason, created_by=closure.created_by)


@router.delete("/closure-days/{day}", status_code=204, summary="Remove a closure day")
def remove_closure(
    day: dt.date, session: SessionDep, rules: RulesDep, principal: Admin
) -> Response:
    moved = closures.reopen(session, rules=rules, day=day, actor=principal.actor, now=utcnow())
    if moved is None:
        raise NotFound(f"{day.isoformat()} is not a closure day")
    session.commit()
    return Response(status_code=204)
