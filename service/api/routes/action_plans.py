"""Action plans after the inspection: agencies, plans, recommendations, actions and their
progress. Each action is a plan task underneath (`task_id`), so it is reminded and escalated
like any task and shows in the task lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session

from service.actions import service
from service.actions.models import Rag
from service.actions.schemas import (
    ActionChangeRequest,
    ActionCreate,
    ActionDetail,
    ActionsPublic,
    AgenciesPublic,
    AgencyCreate,
    AgencyPublic,
    PlanCreate,
    PlanDetail,
    PlansPublic,
    RecommendationCreate,
    RecommendationPublic,
    UpdateCreate,
    UpdatePublic,
    action_public,
    agency_public,
    plan_detail,
    plan_summary,
    recommendation_public,
    update_public,
)
from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPage, CursorPageDep, encode_cursor, keyset
from service.db import utcnow
from service.rules import Rules

router = APIRouter(prefix="/api/v1", tags=["action plans"])

InspectionId = Annotated[uuid.UUID, Path(description="The inspection's id")]
PlanId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The action plan's id")]
RecommendationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The recommendation's id")]
ActionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The action's id")]
WRITE_ERRORS = error_responses(
    401,
    403,
    422,
    described={
        404: "No such inspection, plan, recommendation or action",
        409: "The inspection is closed, or a limit is reached",
    },
)
READ_ERRORS = error_responses(401, 403, 422, described={404: "No such inspection, plan or action"})


def _after(page: CursorPage) -> int | None:
    after = page.after
    return after[1] if after else None


class _Row(Protocol):
    id: int | None
    created_at: datetime


def _next(more: bool, last: _Row | None) -> str | None:
    """Rows are read in id order; the cursor names the last one's id."""
    if not more or last is None or last.id is None:
        return None
    return encode_cursor(last.created_at, last.id)


@router.get(
    "/agencies",
    response_model=AgenciesPublic,
    summary="The agencies that lead actions: the five known to the service and the council's own",
    responses=error_responses(401, 403, 422),
)
def list_agencies(session: ReadSessionDep, _: PlanReader, page: CursorPageDep) -> AgenciesPublic:
    """The five every council has first, then the council's own in the order added (at most
    105; agencies are never removed, so a place in that order is a stable key)."""
    listed = [
        (place, key, name)
        for place, (key, name) in enumerate(service.agency_names(session).items())
    ]
    found, next_cursor = keyset(listed, page=page, key=lambda row: row[:2], kinds=(int, str))
    return AgenciesPublic(
        items=[agency_public(key, name) for _place, key, name in found], next_cursor=next_cursor
    )


@router.post(
    "/agencies",
    status_code=201,
    response_model=AgencyPublic,
    summary="Add an agency of the council's own",
    responses=error_responses(
        401, 403, 422, described={409: "The key is taken, or 100 agencies exist"}
    ),
)
def add_agency(body: AgencyCreate, session: SessionDep, _: PlanWriter) -> AgencyPublic:
    agency = service.add_agency(session, key=body.key, name=body.name, now=utcnow())
    commit_or_conflict(session)
    return agency_public(agency.key, agency.name)


@router.get(
    "/inspections/{inspection_id}/action-plans",
    response_model=PlansPublic,
    summary="The inspection's action plans, with counts of their actions by RAG status",
    responses=READ_ERRORS,
)
def list_plans(
    inspection_id: InspectionId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
    page: CursorPageDep,
) -> PlansPublic:
    found, more = service.plans_page(
        session, inspection_id=inspection_id, after=_after(page), limit=page.limit
    )
    now = utcnow()
    last = found[-1] if found else None
    return PlansPublic(
        items=[plan_summary(session, plan, rules=rules, now=now) for plan in found],
        next_cursor=_next(more, last),
    )


@router.post(
    "/inspections/{inspection_id}/action-plans",
    status_code=201,
    response_model=PlanDetail,
    summary="Start an action plan: for a key judgement, for a partner agency, or neither",
    responses=WRITE_ERRORS,
)
def create_plan(
    inspection_id: InspectionId,
    body: PlanCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> PlanDetail:
    now = utcnow()
    plan = service.create_plan(
        session,
        rules=rules,
        inspection_id=inspection_id,
        title=body.title,
        judgement=body.judgement,
        partner=body.partner,
        actor=principal.actor,
        now=now,
    )
    commit_or_conflict(session)
    return plan_detail(session, plan, rules=rules, now=now)


@router.get(
    "/inspections/{inspection_id}/action-plans/{plan_id}",
    response_model=PlanDetail,
    summary="One action plan: its recommendations, each with its actions",
    responses=READ_ERRORS,
)
def read_plan(
    inspection_id: InspectionId,
    plan_id: PlanId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
) -> PlanDetail:
    plan = service.plan_of(session, inspection_id, plan_id)
    return plan_detail(session, plan, rules=rules, now=utcnow())


@router.post(
    "/inspections/{inspection_id}/action-plans/{plan_id}/recommendations",
    status_code=201,
    response_model=RecommendationPublic,
    summary="Add a recommendation from the report to a plan",
    responses=WRITE_ERRORS,
)
def add_recommendation(
    inspection_id: InspectionId,
    plan_id: PlanId,
    body: RecommendationCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> RecommendationPublic:
    found = service.add_recommendation(
        session,
        rules=rules,
        inspection_id=inspection_id,
        plan_id=plan_id,
        text=body.text,
        judgement=body.judgement,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return recommendation_public(found, [])


@router.get(
    "/inspections/{inspection_id}/actions",
    response_model=ActionsPublic,
    summary="Every action of the inspection's plans, in the order they were added",
    responses=READ_ERRORS,
)
def list_actions(
    inspection_id: InspectionId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
    page: CursorPageDep,
    rag: Annotated[Rag | None, Query(description="Only this RAG status")] = None,
    agency: Annotated[str | None, Query(max_length=64, description="Only this agency's")] = None,
    owner: Annotated[str | None, Query(max_length=64, description="Only this contact's")] = None,
    overdue: Annotated[bool, Query(description="Only those past due and not done")] = False,
) -> ActionsPublic:
    now = utcnow()
    rows, more = service.actions_page(
        session,
        inspection_id=inspection_id,
        after=_after(page),
        limit=page.limit,
        rag=rag,
        agency=agency,
        owner=owner,
        overdue_at=now if overdue else None,
    )
    last = rows[-1].action if rows else None
    return ActionsPublic(
        items=[action_public(row, now=now, local_date=rules.local_date) for row in rows],
        next_cursor=_next(more, last),
    )


@router.post(
    "/inspections/{inspection_id}/recommendations/{recommendation_id}/actions",
    status_code=201,
    response_model=ActionDetail,
    summary="Add an action to a recommendation: an agency leads it, a contact owns it",
    responses=WRITE_ERRORS,
)
def add_action(
    request: Request,
    inspection_id: InspectionId,
    recommendation_id: RecommendationId,
    body: ActionCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> ActionDetail:
    """The owner is reminded five working days before 17:00 on `due_on`; once past due and not
    done, the owner's deputy and the steering-group lead are told (the plan's reminders)."""
    action = service.add_action(
        session,
        rules=rules,
        inspection_id=inspection_id,
        recommendation_id=recommendation_id,
        title=body.title,
        agency=body.agency,
        owner_contact_id=body.owner_contact_id,
        due_on=body.due_on,
        rag=body.rag,
        rag_reason=body.rag_reason,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    nudge(request)
    assert action.id is not None
    return _detail(session, rules, inspection_id, action.id)


def _detail(
    session: Session, rules: Rules, inspection_id: uuid.UUID, action_id: int
) -> ActionDetail:
    row = service.action_row(session, inspection_id, action_id)
    shown = action_public(row, now=utcnow(), local_date=rules.local_date)
    updates = [update_public(update) for update in service.updates_of(session, action_id)]
    return ActionDetail(**shown.model_dump(), updates=updates)


@router.get(
    "/inspections/{inspection_id}/actions/{action_id}",
    response_model=ActionDetail,
    summary="One action with every progress update",
    responses=READ_ERRORS,
)
def read_action(
    inspection_id: InspectionId,
    action_id: ActionId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
) -> ActionDetail:
    return _detail(session, rules, inspection_id, action_id)


@router.patch(
    "/inspections/{inspection_id}/actions/{action_id}",
    response_model=ActionDetail,
    summary="Change an action: RAG status (with its reason), owner, due date, title, done",
    responses=WRITE_ERRORS,
)
def change_action(
    request: Request,
    inspection_id: InspectionId,
    action_id: ActionId,
    body: ActionChangeRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> ActionDetail:
    """Only the fields sent change. Red and amber need `rag_reason`."""
    service.change_action(
        session,
        rules=rules,
        inspection_id=inspection_id,
        action_id=action_id,
        change=service.ActionChange(
            sent=frozenset(body.model_fields_set), **body.model_dump(exclude_unset=True)
        ),
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    nudge(request)
    return _detail(session, rules, inspection_id, action_id)


@router.post(
    "/inspections/{inspection_id}/actions/{action_id}/updates",
    status_code=201,
    response_model=UpdatePublic,
    summary="Record progress on an action, with the date and a link to the evidence",
    responses=WRITE_ERRORS,
)
def add_update(
    inspection_id: InspectionId,
    action_id: ActionId,
    body: UpdateCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> UpdatePublic:
    update = service.add_update(
        session,
        rules=rules,
        inspection_id=inspection_id,
        action_id=action_id,
        on=body.on,
        text=body.text,
        evidence_url=str(body.evidence_url) if body.evidence_url else None,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return update_public(update)
