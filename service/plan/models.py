"""The plan's tables: tasks, their comments, the role-to-person map and the 18-case audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class TaskStatus(StrEnum):
    to_do = "to_do"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"


class OwnerSource(StrEnum):
    """How a task's owner was found, so the dashboard can say why someone owns it."""

    role = "role"
    deputy = "deputy"
    """The role's person is inactive; their deputy stands in."""
    steering_group_lead = "steering_group_lead"
    """The role is not mapped to anyone: the task goes to the steering-group lead."""
    reassigned = "reassigned"
    unassigned = "unassigned"
    """Nobody at all could be found (no contacts yet): shown as a warning, never dropped."""


class LinksVoided(StrEnum):
    """Why a task's version moved on, voiding the mark-done links sent before."""

    reassigned = "reassigned"
    reopened = "reopened"


class Task(SQLModel, table=True):
    __tablename__ = "plan_task"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "key", name="uq_plan_task_key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    key: str = Field(max_length=64)
    position: int = 0
    """Order in the plan definition; ad-hoc tasks go after it."""
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)
    category: str = Field(max_length=32)
    owner_role: str | None = Field(default=None, max_length=64)
    owner_contact_id: str | None = Field(default=None, max_length=64, index=True)
    owner_source: str = Field(default=OwnerSource.role.value, max_length=24)
    due_rule: str | None = Field(default=None, max_length=200)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """None while the rule's anchor is unknown (e.g. the report is not yet published)."""
    reminder_rule: str | None = Field(default=None, max_length=100)
    depends_on: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    status: str = Field(default=TaskStatus.to_do.value, max_length=16)
    blocked_reason: str | None = Field(default=None, max_length=500)
    ad_hoc: bool = False
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=0, sa_column_kwargs={"server_default": sa.text("0")})
    """Named by every mark-done link; moved on by `void_links`."""
    version_voided_by: str | None = Field(default=None, max_length=16)
    """Why the version last moved on (a LinksVoided), for the page an old link shows."""

    def void_links(self, why: LinksVoided) -> None:
        """The mark-done links sent so far stop working: the task changed hands or was
        reopened, so a press on one would record something its sender never meant."""
        self.version += 1
        self.version_voided_by = why.value


class TaskComment(SQLModel, table=True):
    __tablename__ = "plan_task_comment"

    id: int | None = Field(default=None, primary_key=True)
    task_id: uuid.UUID = Field(foreign_key="plan_task.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    author: str = Field(max_length=200)
    text: str = Field(max_length=2000)


class RoleAssignment(SQLModel, table=True):
    """Which person holds a plan role (logistics lead, audit lead, ...)."""

    __tablename__ = "plan_role"

    role: str = Field(primary_key=True, max_length=64)
    contact_id: str = Field(foreign_key="contact.id", max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)


class AuditStatus(StrEnum):
    not_started = "not_started"
    audited = "audited"
    re_audited = "re_audited"
    findings_reported = "findings_reported"


class AuditCase(SQLModel, table=True):
    """One of the cases the lead inspector names in week 1. A case reference only, never a name."""

    __tablename__ = "audit_case"
    __table_args__ = (
        sa.UniqueConstraint("inspection_id", "reference", name="uq_audit_case_reference"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    reference: str = Field(max_length=32)
    auditor_contact_id: str | None = Field(default=None, max_length=64)
    reauditor_contact_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default=AuditStatus.not_started.value, max_length=24)
    first_tier_grade: str | None = Field(default=None, max_length=64)
    grade: str | None = Field(default=None, max_length=64)
    """The senior re-audit's grade: the moderated one, which the report counts."""
    findings: str | None = Field(default=None, max_length=2000)
    strengths: str | None = Field(default=None, max_length=2000)
    areas_for_improvement: str | None = Field(default=None, max_length=2000)
    good_practice: str | None = Field(default=None, max_length=2000)
    audited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    re_audited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
