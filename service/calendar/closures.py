"""The council's closure days (e.g. between Christmas and New Year): not working days. Adding
or removing one moves open inspections' deadlines: `inspections/flows.py` does that part."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from service.db import UTCDateTime


class ClosureDay(SQLModel, table=True):
    """A day the council is closed (e.g. between Christmas and New Year), not a working day."""

    __tablename__ = "closure_day"

    day: date = Field(primary_key=True)
    reason: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


def list_closure_days(session: Session) -> list[ClosureDay]:
    return list(session.exec(select(ClosureDay).order_by(col(ClosureDay.day))).all())


class ClosureDayExists(ValueError):
    pass


def add_closure_day(
    session: Session, *, day: date, reason: str, actor: str, now: datetime
) -> ClosureDay:
    if session.get(ClosureDay, day) is not None:
        raise ClosureDayExists(f"{day.isoformat()} is already a closure day")
    closure = ClosureDay(day=day, reason=reason, created_at=now, created_by=actor)
    session.add(closure)
    session.flush()
    return closure


def remove_closure_day(session: Session, *, day: date) -> bool:
    result = session.execute(sa.delete(ClosureDay).where(col(ClosureDay.day) == day))
    return bool(result.rowcount)  # type: ignore[attr-defined]
