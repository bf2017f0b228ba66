"""An inspection's judgements: recorded from the published report, read back with the
framework's overall rule applied."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from service.api.deps import (
    InspectionsReader,
    InspectionsWriter,
    ReadSessionDep,
    RulesDep,
    SessionDep,
)
from service.api.errors import commit_or_conflict, error_responses
from service.db import utcnow
from service.improvement import flows as improvement
from service.judgements import service
from service.judgements.schemas import JudgementsPublic, JudgementsPut, public

router = APIRouter(prefix="/api/v1/inspections", tags=["judgements"])

NOT_FOUND = "No such inspection"
InspectionId = Annotated[uuid.UUID, Path(description="The inspection's id")]


@router.get(
    "/{inspection_id}/judgements",
    response_model=JudgementsPublic,
    summary="The report's judgements and the overall judgement the framework's rule gives",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def get_judgements(
    inspection_id: InspectionId, session: ReadSessionDep, rules: RulesDep, _: InspectionsReader
) -> JudgementsPublic:
    """Every judgement the framework lists, with a null grade until recorded."""
    return public(service.read(session, rules=rules, inspection_id=inspection_id))


@router.put(
    "/{inspection_id}/judgements",
    response_model=JudgementsPublic,
    summary="Record the report's judgements, all at once",
    responses=error_responses(
        401,
        403,
        422,
        described={
            404: NOT_FOUND,
            409: "The inspection is closed, or its framework lists no judgements",
        },
    ),
)
def put_judgements(
    inspection_id: InspectionId,
    body: JudgementsPut,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> JudgementsPublic:
    """Replaces what was recorded (a key left out is removed). An unknown key or grade, or an
    `overall` grade the framework's rule contradicts, is a 422 naming the known ones. A change
    goes on the timeline; sending the same judgements again changes nothing. An overall grade
    that opens the framework's improvement pathway (inadequate) opens it, once: see
    `GET /api/v1/inspections/{id}/improvement`; a correction away from it withdraws it."""
    judged, _changed = improvement.record_judgements(
        session,
        rules=rules,
        inspection_id=inspection_id,
        grades=dict(body.judgements),
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return public(judged)
