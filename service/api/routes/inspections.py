"""Announce an inspection and follow it: timetable, deadlines, overrides, milestones, timeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service import idempotency, timeline
from service.api.deps import (
    InspectionsReader,
    InspectionsWriter,
    ReadSessionDep,
    RulesDep,
    SessionDep,
    nudge,
)
from service.db import utcnow
from service.errors import Conflict
from service.idempotency import IdempotentRequest
from service.inspections import service
from service.inspections.models import (
    AnnounceRequest,
    InspectionPublic,
    MilestoneRequest,
    OverrideRequest,
    TimelineEntryPublic,
)

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])

ANNOUNCE = "announce"
MAX_OFFSET = 1_000_000
"""Far beyond any council's inspections; keeps `offset` inside every database's integer range."""
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The API key lacks the scope"},
    404: {"description": "No such inspection"},
    422: {"description": "Bad input; `detail[].loc` names the field"},
}


def _replay(previous: IdempotentRequest, request_hash: str) -> JSONResponse:
    if previous.request_hash != request_hash:
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "this key was already used with a different request body",
                        "type": "idempotency_key_reused",
                    }
                ]
            },
        )
    return JSONResponse(
        status_code=200, content=previous.response, headers={"Idempotent-Replayed": "true"}
    )


def _replay_after_race(
    session: Session, key: str | None, scope: dict[str, str], request_hash: str
) -> JSONResponse | None:
    """After losing a race to a request with the same key: its answer, or None (no such key)."""
    session.rollback()
    previous = idempotency.find(session, key=key, **scope) if key else None
    return None if previous is None else _replay(previous, request_hash)


@router.post(
    "",
    status_code=201,
    response_model=InspectionPublic,
    summary="Announce an inspection (the notification call came)",
    responses={
        **ERRORS,
        200: {"description": "Replay of an earlier request with the same Idempotency-Key"},
        409: {"description": "Another real inspection is live"},
    },
)
def announce(
    request: Request,
    body: AnnounceRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=idempotency.MAX_KEY_LENGTH),
    ] = None,
) -> JSONResponse:
    now = utcnow()
    request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
    scope = {"principal": principal.actor, "operation": ANNOUNCE}
    if idempotency_key is not None:
        previous = idempotency.find(session, key=idempotency_key, **scope)
        if previous is not None:
            return _replay(previous, request_hash)
    try:
        inspection = service.announce(
            session, rules=rules, request=body, actor=principal.actor, now=now
        )
    except Conflict:
        # A concurrent request with the same key may have made the live inspection: replay it.
        replay = _replay_after_race(session, idempotency_key, scope, request_hash)
        if replay is None:
            raise
        return replay
    payload = service.public(session, inspection, rules=rules, now=now).model_dump(mode="json")
    if idempotency_key is not None:
        idempotency.remember(
            session,
            key=idempotency_key,
            request_hash=request_hash,
            status_code=201,
            response=payload,
            now=now,
            **scope,
        )
    try:
        session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        replay = _replay_after_race(session, idempotency_key, scope, request_hash)
        if replay is None:
            raise
        return replay
    nudge(request)
    return JSONResponse(
        status_code=201, content=payload, headers={"Location": f"{router.prefix}/{inspection.id}"}
    )


@router.get("", summary="List inspections, newest first")
def list_inspections(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    drill: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    now = utcnow()
    calendar = rules.calendar(session)
    items = [
        service.public(session, inspection, rules=rules, now=now, calendar=calendar)
        for inspection in service.list_inspections(session, drill=drill, limit=limit, offset=offset)
    ]
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{inspection_id}", response_model=InspectionPublic, responses=ERRORS)
def read_inspection(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: InspectionsReader
) -> InspectionPublic:
    inspection = service.get(session, inspection_id)
    return service.public(session, inspection, rules=rules, now=utcnow())


@router.post(
    "/{inspection_id}/timetable/overrides",
    response_model=InspectionPublic,
    summary="The lead inspector changes one day (on or off site); deadlines follow",
    responses={**ERRORS, 409: {"description": "The inspection is closed"}},
)
def override_day(
    inspection_id: uuid.UUID,
    body: OverrideRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> InspectionPublic:
    now = utcnow()
    inspection = service.override_day(
        session,
        rules=rules,
        inspection_id=inspection_id,
        day=body.date,
        on_site=body.on_site,
        actor=principal.actor,
        now=now,
    )
    session.commit()
    return service.public(session, inspection, rules=rules, now=now)


@router.post(
    "/{inspection_id}/milestones",
    response_model=InspectionPublic,
    summary="Record report_published, action_statement_published or closed",
    responses={**ERRORS, 409: {"description": "The inspection is closed"}},
)
def record_milestone(
    inspection_id: uuid.UUID,
    body: MilestoneRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> InspectionPublic:
    now = utcnow()
    inspection = service.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection_id,
        key=body.key,
        day=body.date,
        actor=principal.actor,
        now=now,
    )
    session.commit()
    return service.public(session, inspection, rules=rules, now=now)


@router.get("/{inspection_id}/timeline", responses=ERRORS, summary="Who did what, when")
def read_timeline(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader
) -> dict[str, list[TimelineEntryPublic]]:
    service.get(session, inspection_id)
    return {
        "items": [
            TimelineEntryPublic(
                at=entry.at,
                actor=entry.actor,
                kind=entry.kind,
                summary=entry.summary,
                data=entry.data,
            )
            for entry in timeline.entries(session, inspection_id)
        ]
    }
