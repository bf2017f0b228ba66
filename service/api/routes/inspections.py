"""Announce an inspection and follow it: timetable, deadlines, overrides, milestones, timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from service import timeline
from service.api import idempotency
from service.api.deps import (
    InspectionsReader,
    InspectionsWriter,
    ReadSessionDep,
    RulesDep,
    SessionDep,
    nudge,
)
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, encode_cursor, page_of
from service.db import utcnow
from service.inspections import flows as inspection_flows
from service.inspections import service
from service.inspections.schemas import (
    AnnounceRequest,
    InspectionPublic,
    InspectionsPublic,
    MilestoneRequest,
    OverrideRequest,
    TimelineEntryPublic,
    TimelinePublic,
)

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])

ANNOUNCE = "announce"
NOT_FOUND = "No such inspection"


@router.post(
    "",
    status_code=201,
    response_model=InspectionPublic,
    summary="Announce an inspection (the notification call came)",
    responses={
        **error_responses(401, 403, 422, described={409: "Another real inspection is live"}),
        200: {"description": "Replay of an earlier request with the same Idempotency-Key"},
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

    def start() -> tuple[int, dict[str, Any]]:
        inspection = inspection_flows.announce(
            session, rules=rules, request=body, actor=principal.actor, now=now
        )
        return 201, service.public(session, inspection, rules=rules, now=now).model_dump(
            mode="json"
        )

    once = idempotency.run_once(
        session,
        principal=principal.actor,
        operation=ANNOUNCE,
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        action=start,
        now=now,
    )
    if not once.same_request:
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
    if once.replayed:
        return JSONResponse(
            status_code=200, content=once.response, headers={"Idempotent-Replayed": "true"}
        )
    nudge(request)
    return JSONResponse(
        status_code=201,
        content=once.response,
        headers={"Location": f"{router.prefix}/{once.response['id']}"},
    )


@router.get(
    "",
    response_model=InspectionsPublic,
    summary="List inspections, newest first",
    responses=error_responses(401, 403, 422),
)
def list_inspections(
    session: ReadSessionDep,
    rules: RulesDep,
    _: InspectionsReader,
    page: CursorPageDep,
    drill: bool | None = None,
) -> InspectionsPublic:
    now = utcnow()
    calendar = rules.calendar(session)
    after = page.key(datetime, uuid.UUID)
    found = service.list_inspections(session, drill=drill, limit=page.limit + 1, after=after)
    chosen, next_cursor = page_of(found, limit=page.limit, key=lambda row: (row.created_at, row.id))
    return InspectionsPublic(
        items=[
            service.public(session, inspection, rules=rules, now=now, calendar=calendar)
            for inspection in chosen
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/{inspection_id}",
    response_model=InspectionPublic,
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def read_inspection(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: InspectionsReader
) -> InspectionPublic:
    inspection = service.get(session, inspection_id)
    return service.public(session, inspection, rules=rules, now=utcnow())


@router.post(
    "/{inspection_id}/timetable/overrides",
    response_model=InspectionPublic,
    summary="The lead inspector changes one day (on or off site); deadlines follow",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "The inspection is closed"}
    ),
)
def override_day(
    inspection_id: uuid.UUID,
    body: OverrideRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> InspectionPublic:
    now = utcnow()
    inspection = inspection_flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection_id,
        day=body.date,
        on_site=body.on_site,
        actor=principal.actor,
        now=now,
    )
    commit_or_conflict(session)
    return service.public(session, inspection, rules=rules, now=now)


@router.post(
    "/{inspection_id}/milestones",
    response_model=InspectionPublic,
    summary="Record report_published, action_statement_published or closed",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "The inspection is closed"}
    ),
)
def record_milestone(
    inspection_id: uuid.UUID,
    body: MilestoneRequest,
    session: SessionDep,
    rules: RulesDep,
    principal: InspectionsWriter,
) -> InspectionPublic:
    now = utcnow()
    inspection = inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection_id,
        key=body.key,
        day=body.date,
        actor=principal.actor,
        now=now,
    )
    commit_or_conflict(session)
    return service.public(session, inspection, rules=rules, now=now)


@router.get(
    "/{inspection_id}/timeline",
    response_model=TimelinePublic,
    summary="Who did what, when",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def read_timeline(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader, page: CursorPageDep
) -> TimelinePublic:
    """Oldest first, at most `limit`, and `next_cursor` to send back as `cursor` for the entries
    after them (null on the last page). Entries written while a client pages through come after
    the cursor, so none is skipped or read twice."""
    service.get(session, inspection_id)
    found = timeline.page(
        session, inspection_id, after=page.after, limit=page.limit, fold=False, oldest_first=True
    )
    entries = [row.entry for row in found.rows if row.entry is not None]
    return TimelinePublic(
        items=[TimelineEntryPublic.of(entry) for entry in entries],
        next_cursor=encode_cursor(*found.rows[-1].position) if found.more and found.rows else None,
    )
