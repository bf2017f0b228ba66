"""An inspection's improvement pathway: what an inadequate outcome opened (board, meetings,
tasks), and changes to the board's members and meeting times."""

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
from service.improvement import service
from service.improvement.schemas import BoardPut, ImprovementPublic, public

router = APIRouter(prefix="/api/v1/inspections", tags=["improvement"])

NOT_OPEN = "No such inspection, or its improvement pathway is not open (the message says which)"
InspectionId = Annotated[uuid.UUID, Path(description="The inspection's id")]


@router.get(
    "/{inspection_id}/improvement",
    response_model=ImprovementPublic,
    summary="The improvement pathway an inadequate outcome opened: board, meetings, tasks",
    responses=error_responses(401, 403, 422, described={404: NOT_OPEN}),
)
def get_improvement(
    inspection_id: InspectionId, session: ReadSessionDep, rules: RulesDep, _: InspectionsReader
) -> ImprovementPublic:
    """A 404 until judgements are recorded with the overall grade that opens the framework's
    pathway, and after a correction withdrew it; its message says which and why."""
    return public(session, service.read(session, rules=rules, inspection_id=inspection_id))


@router.put(
    "/{inspection_id}/improvement/board",
    response_model=ImprovementPublic,
    summary="Change the improvement board's members and move its meetings",
    responses=error_responses(
        401, 403, 422, described={404: NOT_OPEN, 409: "The inspection is closed"}
    ),
)
def put_board(
    inspection_id: InspectionId,
    body: BoardPut,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> ImprovementPublic:
    """Members are plan roles; a moved meeting moves its reminder and its progress report's due
    time. Everything is checked before anything is written: an unknown role or meeting, or a time
    not in the future, is a 422 naming the field."""
    pathway = service.change_board(
        session,
        rules=rules,
        inspection_id=inspection_id,
        members=list(body.members) if body.members is not None else None,
        meetings=[
            service.MeetingChange(meeting_id=move.id, starts_at=move.starts_at)
            for move in body.meetings
        ],
        actor=principal.actor,
        now=utcnow(),
    )
    result = public(session, pathway)
    commit_or_conflict(session)
    return result
