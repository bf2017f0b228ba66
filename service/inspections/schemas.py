"""The API's shapes for inspections: the announce request, the public shape the intranet relies
on, the timeline, and the working-day answers and closure days (field names are a contract)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField

from service.frameworks import Milestone
from service.paging import CursorList
from service.request_models import RequestBody
from service.spreadsheet import refuse_formula_start
from service.timeline import TimelineEntry

EARLIEST_NOTIFICATION = datetime(2000, 1, 1, tzinfo=UTC)
"""An earlier call is a typo; near year 1 the date arithmetic would also overflow."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Request(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class AnnounceRequest(_Request):
    framework: str = PydanticField(default="sif-2013", min_length=1, max_length=64)
    notified_at: AwareDatetime
    lead_inspector: str | None = PydanticField(default=None, max_length=200)
    drill: bool = False
    notes: str | None = PydanticField(default=None, max_length=10_000)

    @field_validator("notified_at", mode="before")
    @classmethod
    def _not_a_number(cls, value: Any) -> Any:
        # Pydantic would read a number (or a string of one) as Unix time; the contract is
        # ISO 8601 with an offset.
        if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
            raise ValueError("must be an ISO 8601 date and time with an offset, not a number")
        return value

    @field_validator("lead_inspector")
    @classmethod
    def _not_a_formula(cls, value: str | None) -> str | None:
        return value if value is None else refuse_formula_start(value)

    @field_validator("notified_at")
    @classmethod
    def _not_before_earliest(cls, value: datetime) -> datetime:
        if value < EARLIEST_NOTIFICATION:
            raise ValueError(f"must be on or after {EARLIEST_NOTIFICATION.isoformat()}")
        return value


class OverrideRequest(_Request):
    date: date
    on_site: bool


class MilestoneRequest(_Request):
    key: Milestone
    date: date


class PhasePublic(BaseModel):
    key: str
    label: str
    on_site: bool
    start: date
    end: date
    days: list[date]


class DeadlinePublic(BaseModel):
    key: str
    label: str
    due: date
    working_days: int
    counted_from: str
    from_date: date
    met_on: date | None


class OverridePublic(BaseModel):
    date: date
    on_site: bool


class InspectionPublic(BaseModel):
    id: uuid.UUID
    framework: str
    status: Literal[
        "announced",
        "in_progress",
        "awaiting_report",
        "awaiting_action_statement",
        "action_statement_published",
        "closed",
    ]
    drill: bool
    notified_at: datetime
    lead_inspector: str | None
    notes: str | None
    on_site_start: date
    inspection_end: date
    on_site_days: int
    warnings: list[str]
    phases: list[PhasePublic]
    deadlines: list[DeadlinePublic]
    overrides: list[OverridePublic]
    milestones: dict[str, date]
    created_at: datetime


class InspectionsPublic(CursorList[InspectionPublic]):
    """Newest first."""


class TimelineEntryPublic(BaseModel):
    at: datetime
    actor: str
    kind: str
    summary: str
    data: dict[str, object]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryPublic:
        return cls(
            at=entry.at, actor=entry.actor, kind=entry.kind, summary=entry.summary, data=entry.data
        )


class TimelinePublic(CursorList[TimelineEntryPublic]):
    """Oldest first."""


class WorkingDaysAdded(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = PydanticField(alias="from")
    days: int
    date: date
    """The `days`-th working day after `from` (before it, for a negative count)."""


class WorkingDaysBetween(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = PydanticField(alias="from")
    to: date
    working_days: int


class WorkingDayCheck(BaseModel):
    date: date
    working_day: bool
    reason: str | None
    """Why it is not a working day (a weekend, a bank holiday, a closure day)."""


class ClosureDayCreate(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)

    date: date
    reason: str = PydanticField(min_length=1, max_length=200)


class ClosureDayPublic(BaseModel):
    date: date
    reason: str
    created_by: str


class ClosureDaysPublic(CursorList[ClosureDayPublic]):
    """By date."""
