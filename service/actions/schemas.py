"""What the action-plan routes take and answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from service.actions import service
from service.actions.models import BUILTIN_AGENCIES, ActionPlan, ActionUpdate, Rag, Recommendation
from service.actions.service import ActionRow
from service.paging import CursorList
from service.plan.models import TaskStatus
from service.request_models import Line, Link, RequestBody
from service.rules import Rules

KeyText = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Contact = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def _examples(*examples: dict[str, object]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class AgencyCreate(RequestBody):
    model_config = _examples({"key": "youth-justice", "name": "Youth Justice Service"})

    key: KeyText = Field(description="Lower-case letters, digits, - and _")
    name: Line


class AgencyPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"key": "childrens-services", "name": "Children's services", "builtin": True}
            ]
        }
    )

    key: str
    name: str
    builtin: bool = Field(description="One of the five every council has")


class AgenciesPublic(CursorList[AgencyPublic]):
    pass


class PlanCreate(RequestBody):
    model_config = _examples(
        {"title": "Help and protection", "judgement": "help_and_protection"},
        {"title": "Health partners' plan", "partner": "health"},
    )

    title: Line
    judgement: KeyText | None = Field(default=None, description="The key judgement it answers")
    partner: KeyText | None = Field(default=None, description="The agency whose plan it is")


class Counts(BaseModel):
    recommendations: int
    actions: int
    done: int
    overdue: int
    red: int
    amber: int
    green: int


class PlanPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "inspection_id": "3f1c2a9e-5d1b-4d6e-9a35-0d9b8f6b2c11",
                    "title": "Help and protection",
                    "judgement": "help_and_protection",
                    "partner": None,
                    "created_at": "2026-02-01T09:00:00Z",
                    "created_by": "user:hlamb",
                    "counts": {
                        "recommendations": 4,
                        "actions": 11,
                        "done": 3,
                        "overdue": 1,
                        "red": 1,
                        "amber": 4,
                        "green": 6,
                    },
                }
            ]
        }
    )

    id: int
    inspection_id: uuid.UUID
    title: str
    judgement: str | None
    partner: str | None
    created_at: datetime
    created_by: str
    counts: Counts


class PlansPublic(CursorList[PlanPublic]):
    pass


class RecommendationCreate(RequestBody):
    model_config = _examples(
        {
            "text": "Ensure that all children in need have a plan reviewed within timescales.",
            "judgement": "help_and_protection",
        }
    )

    text: LongText
    judgement: KeyText | None = Field(default=None, description="Defaults to the plan's")


class UpdatePublic(BaseModel):
    id: int
    on: date
    text: str
    evidence_url: str | None
    created_at: datetime
    created_by: str


class ActionCreate(RequestBody):
    model_config = _examples(
        {
            "title": "Audit 20 child-in-need plans a month",
            "agency": "childrens-services",
            "owner_contact_id": "twojcik",
            "due_on": "2026-04-30",
            "rag": "amber",
            "rag_reason": "Two team managers' posts are vacant until March",
        }
    )

    title: Line
    agency: KeyText
    owner_contact_id: Contact
    due_on: date = Field(description="Due at 17:00 that day, Europe/London")
    rag: Rag = Rag.green
    rag_reason: Reason | None = Field(default=None, description="Needed for red and amber")


class ActionChangeRequest(RequestBody):
    model_config = _examples(
        {"rag": "red", "rag_reason": "No audits done in March"}, {"done": True}
    )

    title: Line | None = None
    owner_contact_id: Contact | None = None
    due_on: date | None = None
    rag: Rag | None = None
    rag_reason: Reason | None = None
    done: bool | None = None


class UpdateCreate(RequestBody):
    model_config = _examples(
        {
            "on": "2026-03-31",
            "text": "18 plans audited; 3 reviews late.",
            "evidence_url": "https://intranet.example.org/audits/march",
        }
    )

    on: date
    text: LongText
    evidence_url: Link | None = None


class ActionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "plan_id": 1,
                    "recommendation_id": 2,
                    "task_id": "6a0d3f4e-2b8c-4f0e-9d0b-6c2f3a1e9b77",
                    "title": "Audit 20 child-in-need plans a month",
                    "agency": "childrens-services",
                    "agency_name": "Children's services",
                    "owner_contact_id": "twojcik",
                    "owner_name": "Tomasz Wójcik",
                    "due_on": "2026-04-30",
                    "status": "in_progress",
                    "done": False,
                    "done_at": None,
                    "overdue": False,
                    "rag": "amber",
                    "rag_reason": "Two team managers' posts are vacant until March",
                    "rag_changed_at": "2026-02-02T10:00:00Z",
                    "update_count": 1,
                    "last_update": None,
                }
            ]
        }
    )

    id: int
    plan_id: int
    recommendation_id: int
    task_id: uuid.UUID = Field(description="The plan task under it: reminders and escalation")
    title: str
    agency: str
    agency_name: str
    owner_contact_id: str | None
    owner_name: str | None
    due_on: date | None
    status: str
    done: bool
    done_at: datetime | None
    overdue: bool
    rag: Rag
    rag_reason: str | None
    rag_changed_at: datetime
    update_count: int
    last_update: UpdatePublic | None


class ActionDetail(ActionPublic):
    updates: list[UpdatePublic] = Field(description="Oldest first")


class ActionsPublic(CursorList[ActionPublic]):
    pass


class RecommendationPublic(BaseModel):
    id: int
    plan_id: int
    text: str
    judgement: str | None
    created_at: datetime
    actions: list[ActionPublic]


class PlanDetail(PlanPublic):
    recommendations: list[RecommendationPublic]


def agency_public(key: str, name: str) -> AgencyPublic:
    return AgencyPublic(key=key, name=name, builtin=key in BUILTIN_AGENCIES)


def update_public(update: ActionUpdate) -> UpdatePublic:
    assert update.id is not None
    return UpdatePublic(
        id=update.id,
        on=update.on_date,
        text=update.text,
        evidence_url=update.evidence_url,
        created_at=update.created_at,
        created_by=update.created_by,
    )


def action_public(
    row: ActionRow, *, now: datetime, local_date: Callable[[datetime], date]
) -> ActionPublic:
    task, action = row.task, row.action
    assert action.id is not None
    done = task.status == TaskStatus.done.value
    return ActionPublic(
        id=action.id,
        plan_id=row.plan_id,
        recommendation_id=action.recommendation_id,
        task_id=task.id,
        title=task.title,
        agency=action.agency,
        agency_name=row.agency_name,
        owner_contact_id=task.owner_contact_id,
        owner_name=row.owner_name,
        due_on=local_date(task.due_at) if task.due_at else None,
        status=task.status,
        done=done,
        done_at=task.done_at,
        overdue=not done and task.due_at is not None and task.due_at < now,
        rag=Rag(action.rag),
        rag_reason=action.rag_reason,
        rag_changed_at=action.rag_changed_at,
        update_count=row.updates,
        last_update=update_public(row.last_update) if row.last_update else None,
    )


def counts(recommendations: int, actions: list[ActionPublic]) -> Counts:
    return Counts(
        recommendations=recommendations,
        actions=len(actions),
        done=sum(a.done for a in actions),
        overdue=sum(a.overdue for a in actions),
        red=sum(a.rag is Rag.red for a in actions),
        amber=sum(a.rag is Rag.amber for a in actions),
        green=sum(a.rag is Rag.green for a in actions),
    )


def plan_public(plan: ActionPlan, found: Counts) -> PlanPublic:
    assert plan.id is not None
    return PlanPublic(
        id=plan.id,
        inspection_id=plan.inspection_id,
        title=plan.title,
        judgement=plan.judgement_key,
        partner=plan.partner,
        created_at=plan.created_at,
        created_by=plan.created_by,
        counts=found,
    )


def recommendation_public(
    found: Recommendation, actions: list[ActionPublic]
) -> RecommendationPublic:
    assert found.id is not None
    return RecommendationPublic(
        id=found.id,
        plan_id=found.plan_id,
        text=found.text,
        judgement=found.judgement_key,
        created_at=found.created_at,
        actions=actions,
    )


def plan_detail(session: Session, plan: ActionPlan, *, rules: Rules, now: datetime) -> PlanDetail:
    """A plan with its recommendations, each with its actions, in the order they were added."""
    assert plan.id is not None
    actions = [
        action_public(row, now=now, local_date=rules.local_date)
        for row in service.actions_of_plan(session, plan.id)
    ]
    found = service.recommendations_of(session, plan.id)
    return PlanDetail(
        **plan_public(plan, counts(len(found), actions)).model_dump(),
        recommendations=[
            recommendation_public(item, [a for a in actions if a.recommendation_id == item.id])
            for item in found
        ],
    )


def plan_summary(session: Session, plan: ActionPlan, *, rules: Rules, now: datetime) -> PlanPublic:
    detail = plan_detail(session, plan, rules=rules, now=now)
    return PlanPublic(**detail.model_dump(exclude={"recommendations"}))
