"""The API's shapes for the plan: tasks and their comments, roles, and the 18-case audit. What a
request may send (Create/Update) and what the API shows (Public); field names are a contract."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    model_validator,
)
from pydantic import Field as PydanticField

from service.frameworks import Key
from service.paging import CursorList
from service.plan import case_audit
from service.plan.definitions import Category
from service.plan.models import AuditCase, AuditStatus, TaskStatus
from service.request_models import RequestBody

MAX_COMMENT = 2000
MAX_DEPENDENCIES = 100
EARLIEST_DUE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DUE = datetime(2100, 1, 1, tzinfo=UTC)
"""Bounds on a due time typed by hand: far outside any inspection, inside every database."""


# --- tasks -----------------------------------------------------------------------------------


class CommentPublic(BaseModel):
    at: datetime
    author: str
    text: str


class TaskPublic(BaseModel):
    """A task as lists show it. Times are UTC with an offset; `due_at` is null while its rule's
    anchor (a milestone) is not yet recorded."""

    id: uuid.UUID
    key: str
    title: str
    description: str | None
    category: str
    owner_role: str | None
    owner_contact_id: str | None
    owner_name: str | None
    owner_source: str
    status: str
    blocked_reason: str | None
    due_rule: str | None
    due_at: datetime | None
    reminder_rule: str | None
    depends_on: list[str]
    waiting_on: list[str]
    """Dependencies not yet done."""
    overdue: bool
    ad_hoc: bool
    done_at: datetime | None
    done_by: str | None
    comment_count: int
    created_at: datetime
    updated_at: datetime


class TaskDetail(TaskPublic):
    """One task, with its comments, oldest first."""

    comments: list[CommentPublic]


class TaskList(CursorList[TaskPublic]):
    warnings: list[str]
    """Unmapped roles, tasks without an owner, tasks held by inactive people."""


def _not_a_number(value: Any) -> Any:
    # Pydantic would read a number as Unix time; the contract is ISO 8601 with an offset.
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", value)
    ):
        raise ValueError("must be an ISO 8601 date and time with an offset, not a number")
    return value


def _in_range(value: datetime) -> datetime:
    # Compare before converting: an extreme offset near year 1 or 9999 cannot be converted.
    if (
        not EARLIEST_DUE.replace(tzinfo=None)
        <= value.replace(tzinfo=None)
        < LATEST_DUE.replace(tzinfo=None)
    ):
        raise ValueError("must be between the years 2000 and 2099")
    return value.astimezone(UTC)


DueAt = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_range)]


class _Request(RequestBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TaskUpdate(_Request):
    """Only the fields sent change. `blocked` needs `blocked_reason`; leaving it clears the reason.
    `owner_contact_id: null` hands the task back to its role. `due_at` stops the task following
    the timetable. `title` and `description` change on ad-hoc tasks only."""

    status: TaskStatus | None = None
    blocked_reason: str | None = PydanticField(default=None, min_length=1, max_length=500)
    owner_contact_id: str | None = PydanticField(default=None, min_length=1, max_length=64)
    due_at: DueAt | None = None
    title: str | None = PydanticField(default=None, min_length=1, max_length=200)
    description: str | None = PydanticField(default=None, max_length=5000)


class TaskCreate(_Request):
    """An ad-hoc task. Without `key` one is made from the title. Without an owner it goes to the
    steering-group lead; `owner_contact_id` pins it to a person (role changes do not move it)."""

    key: Key | None = None
    title: str = PydanticField(min_length=1, max_length=200)
    description: str | None = PydanticField(default=None, max_length=5000)
    category: Category
    owner_role: str | None = PydanticField(default=None, min_length=1, max_length=64)
    owner_contact_id: str | None = PydanticField(default=None, min_length=1, max_length=64)
    due_at: DueAt | None = None
    reminder_rule: str | None = PydanticField(default=None, max_length=100)
    depends_on: list[Key] = PydanticField(default_factory=list, max_length=MAX_DEPENDENCIES)


class CommentCreate(_Request):
    text: str = PydanticField(min_length=1, max_length=MAX_COMMENT)


# --- roles -----------------------------------------------------------------------------------


class RolePublic(BaseModel):
    role: str
    label: str
    contact_id: str | None
    contact_name: str | None
    active: bool | None
    """Whether the role's person is active; null while no one holds the role."""
    deputy_id: str | None
    """Who stands in while the role's person is inactive."""
    open_tasks: int
    """The role's tasks not yet done, in inspections not closed."""


class RoleAssign(RequestBody):
    contact_id: str = PydanticField(min_length=1, max_length=64)


class RolesPublic(CursorList[RolePublic]):
    """By role key."""


# --- the 18-case audit ----------------------------------------------------------------------


Moment = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(UTC).isoformat(), return_type=str),
]
"""UTC, written with its offset (`+00:00`)."""


class Moderation(BaseModel):
    """The senior re-audit against the first tier, on the framework's scale (best first)."""

    outcome: Literal["agreed", "raised", "lowered"]
    steps: int
    """Grades the senior moved it: positive raised (better), negative lowered."""

    @classmethod
    def of(cls, first: str | None, senior: str | None, grades: Sequence[str]) -> Moderation | None:
        if first not in grades or senior not in grades:
            return None
        steps = list(grades).index(first) - list(grades).index(senior)
        outcome = "agreed" if steps == 0 else "raised" if steps > 0 else "lowered"
        return cls(outcome=outcome, steps=steps)


class ModerationSummary(BaseModel):
    compared: int
    """Cases with both grades."""
    agreed: int
    raised: int
    lowered: int
    agreement_percent: int | None
    """Of the cases compared, rounded; null before any."""
    matrix: dict[str, dict[str, int]]
    """First-tier grade → senior grade → cases, every grade of the scale in its order."""


class AuditCasePublic(BaseModel):
    id: uuid.UUID
    reference: str
    status: AuditStatus
    first_tier_grade: str | None
    """The first-tier auditor's grade."""
    grade: str | None
    """The senior re-audit's grade: the moderated one, which `by_grade` counts."""
    moderation: Moderation | None
    """How the senior moved the first-tier grade; null until both are graded."""
    findings: str | None
    strengths: str | None
    areas_for_improvement: str | None
    good_practice: str | None
    auditor_contact_id: str | None
    auditor_name: str | None
    reauditor_contact_id: str | None
    reauditor_name: str | None
    audited_at: Moment | None
    re_audited_at: Moment | None
    reported_at: Moment | None
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, case: AuditCase, names: dict[str, str], grades: Sequence[str]) -> AuditCasePublic:
        return cls(
            id=case.id,
            reference=case.reference,
            status=AuditStatus(case.status),
            first_tier_grade=case.first_tier_grade,
            grade=case.grade,
            moderation=Moderation.of(case.first_tier_grade, case.grade, grades),
            findings=case.findings,
            strengths=case.strengths,
            areas_for_improvement=case.areas_for_improvement,
            good_practice=case.good_practice,
            auditor_contact_id=case.auditor_contact_id,
            auditor_name=names.get(case.auditor_contact_id or ""),
            reauditor_contact_id=case.reauditor_contact_id,
            reauditor_name=names.get(case.reauditor_contact_id or ""),
            audited_at=case.audited_at,
            re_audited_at=case.re_audited_at,
            reported_at=case.reported_at,
            created_at=case.created_at,
            updated_at=case.updated_at,
        )


class AuditProgress(BaseModel):
    """Cases at each status (not cumulative), and how many are entered."""

    not_started: int
    audited: int
    re_audited: int
    findings_reported: int
    total: int


class AuditDue(BaseModel):
    audited: Moment | None
    re_audited: Moment | None
    findings_reported: Moment | None


class AuditSummary(BaseModel):
    expected: int
    """How many cases the framework's lead inspector names (18 under sif-2013)."""
    cases: list[AuditCasePublic]
    progress: AuditProgress
    by_grade: dict[str, int]
    """Every grade on the framework's scale, in its order, then `ungraded` (the senior grade)."""
    moderation: ModerationSummary
    due: AuditDue
    overdue: list[AuditStatus]


class CaseCreate(RequestBody):
    reference: str = PydanticField(
        description="The case number only, never a name: " + case_audit.REFERENCE_RULE,
        examples=["CIN-004512"],
    )
    auditor_contact_id: str | None = PydanticField(default=None, max_length=64)
    reauditor_contact_id: str | None = PydanticField(default=None, max_length=64)


class CasesCreate(RequestBody):
    cases: list[CaseCreate] = PydanticField(min_length=1, max_length=case_audit.MAX_CASES)


class CaseUpdate(RequestBody):
    """Only the fields sent change; `null` clears one (where the status allows it)."""

    auditor_contact_id: str | None = PydanticField(default=None, max_length=64)
    reauditor_contact_id: str | None = PydanticField(default=None, max_length=64)
    status: AuditStatus | None = PydanticField(
        default=None,
        description="One step on, or one step back to correct a mistake: not_started, audited, "
        "re_audited, findings_reported",
    )
    first_tier_grade: str | None = PydanticField(
        default=None,
        max_length=64,
        description="The first-tier auditor's grade, on the framework's scale",
    )
    grade: str | None = PydanticField(
        default=None,
        max_length=64,
        description="The senior re-audit's grade, on the framework's scale",
    )
    findings: str | None = PydanticField(
        default=None, description="A summary; up to 2000 characters"
    )
    strengths: str | None = PydanticField(default=None, description="Up to 2000 characters")
    areas_for_improvement: str | None = PydanticField(
        default=None, description="Up to 2000 characters"
    )
    good_practice: str | None = PydanticField(default=None, description="Up to 2000 characters")

    @model_validator(mode="after")
    def _something(self) -> CaseUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "send at least one of: auditor_contact_id, reauditor_contact_id, status, "
                "first_tier_grade, grade, findings, strengths, areas_for_improvement, "
                "good_practice"
            )
        return self


class AuditCasesPublic(CursorList[AuditCasePublic]):
    """In the order entered."""


class CasesAdded(BaseModel):
    cases: list[AuditCasePublic]
    remaining: int
    """How many more cases the framework's count leaves room for."""
