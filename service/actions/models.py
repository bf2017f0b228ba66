"""Action plans: the tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class Rag(StrEnum):
    red = "red"
    amber = "amber"
    green = "green"


BUILTIN_AGENCIES = {
    "childrens-services": "Children's services",
    "health": "Health",
    "police": "Police",
    "education": "Education",
    "safeguarding-partnership": "The safeguarding partnership",
}
"""The agencies every council's plans name; the table holds the ones a council adds."""


class Agency(SQLModel, table=True):
    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ActionPlan(SQLModel, table=True):
    __tablename__ = "action_plan"

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True)
    title: str = Field(max_length=200)
    judgement_key: str | None = Field(default=None, max_length=64)
    """The key judgement the plan answers, or None for a partner's plan."""
    partner: str | None = Field(default=None, max_length=64)
    """The agency whose plan it is, or None for a judgement's plan."""
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendation"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="action_plan.id", index=True)
    text: str = Field(sa_type=sa.Text)
    judgement_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class PlanAction(SQLModel, table=True):
    """Title, owner, due time and done-ness live on the task (`task_id`), the one place the
    reminders read them."""

    __tablename__ = "plan_action"

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", index=True)
    task_id: uuid.UUID = Field(foreign_key="plan_task.id", unique=True)
    agency: str = Field(max_length=64)
    rag: str = Field(max_length=8)
    rag_reason: str | None = Field(default=None, max_length=500)
    rag_changed_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class ActionUpdate(SQLModel, table=True):
    __tablename__ = "action_update"

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="plan_action.id", index=True)
    on_date: date
    text: str = Field(sa_type=sa.Text)
    evidence_url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
