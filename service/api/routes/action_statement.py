"""The written statement of action: draft, approval and publication, beside the 70-working-day
deadline it meets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import Session

from service.api.deps import (
    InspectionsReader,
    InspectionsWriter,
    ReadSessionDep,
    RulesDep,
    SessionDep,
)
from service.api.errors import commit_or_conflict, error_responses
from service.db import utcnow
from service.rules import Rules
from service.statement import flows, service
from service.statement.schemas import (
    ApproveRequest,
    DraftRequest,
    PublishRequest,
    StatementPublic,
    public,
)

router = APIRouter(prefix="/api/v1/inspections", tags=["statement of action"])

NOT_FOUND = "No such inspection"
InspectionId = Annotated[uuid.UUID, Path(description="The inspection's id")]
PATH = "/{inspection_id}/action-statement"


def _answer(session: Session, rules: Rules, inspection_id: uuid.UUID) -> StatementPublic:
    return public(service.read(session, rules=rules, inspection_id=inspection_id, now=utcnow()))


@router.get(
    PATH,
    response_model=StatementPublic,
    summary="The written statement of action: its stage and its deadline",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def get_statement(
    inspection_id: InspectionId, session: ReadSessionDep, rules: RulesDep, _: InspectionsReader
) -> StatementPublic:
    """`stage` is `none` until a draft is started."""
    return _answer(session, rules, inspection_id)


@router.put(
    PATH,
    response_model=StatementPublic,
    summary="Start or edit the draft",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "Closed, or approved already"}
    ),
)
def put_draft(
    inspection_id: InspectionId,
    body: DraftRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> StatementPublic:
    flows.draft(
        session,
        rules=rules,
        inspection_id=inspection_id,
        title=body.title,
        draft_url=str(body.draft_url) if body.draft_url else None,
        notes=body.notes,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return _answer(session, rules, inspection_id)


@router.post(
    f"{PATH}/approve",
    response_model=StatementPublic,
    summary="Record who approved the statement, when and at which meeting",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "Closed, no draft, or published already"}
    ),
)
def approve(
    inspection_id: InspectionId,
    body: ApproveRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> StatementPublic:
    flows.approve(
        session,
        rules=rules,
        inspection_id=inspection_id,
        approved_by=body.approved_by,
        approved_on=body.approved_on,
        meeting=body.meeting,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return _answer(session, rules, inspection_id)


@router.post(
    f"{PATH}/publish",
    response_model=StatementPublic,
    summary="Record its publication: the action_statement deadline is met on that day",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "Closed, or not approved yet"}
    ),
)
def publish(
    inspection_id: InspectionId,
    body: PublishRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> StatementPublic:
    """Records the `action_statement_published` milestone too (so the report's publication must
    be recorded first); recording it again corrects the date or the address."""
    flows.publish(
        session,
        rules=rules,
        inspection_id=inspection_id,
        published_on=body.published_on,
        url=str(body.url),
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return _answer(session, rules, inspection_id)
