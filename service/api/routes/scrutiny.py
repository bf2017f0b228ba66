"""Committees (scrutiny, Cabinet, boards), the meetings that take an inspection's action plans,
and each meeting's report of the plans' progress since the committee's last one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, keyset
from service.db import utcnow
from service.scrutiny import export, report, service
from service.scrutiny.models import Committee, CommitteeKind
from service.scrutiny.schemas import (
    CommitteeCreate,
    CommitteePublic,
    CommitteesPublic,
    MeetingCreate,
    MeetingPublic,
    MeetingsPublic,
    ScrutinyReport,
)

router = APIRouter(prefix="/api/v1", tags=["scrutiny"])

InspectionId = Annotated[uuid.UUID, Path(description="The inspection's id")]
MeetingId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The meeting's id")]
NOT_FOUND = "No such inspection or meeting"
CSV_TYPE = "text/csv; charset=utf-8"


def committee_public(committee: Committee) -> CommitteePublic:
    assert committee.id is not None
    return CommitteePublic(
        id=committee.id,
        name=committee.name,
        kind=CommitteeKind(committee.kind),
        created_at=committee.created_at,
        created_by=committee.created_by,
    )


@router.get(
    "/committees",
    response_model=CommitteesPublic,
    summary="The council's committees, by name",
    responses=error_responses(401, 403, 422),
)
def list_committees(
    session: ReadSessionDep, _: PlanReader, page: CursorPageDep
) -> CommitteesPublic:
    items = [committee_public(c) for c in service.committees(session)]
    shown, cursor = keyset(items, page=page, key=lambda c: (c.name, c.id), kinds=(str, int))
    return CommitteesPublic(items=shown, next_cursor=cursor)


@router.post(
    "/committees",
    status_code=201,
    response_model=CommitteePublic,
    summary="Add a committee: scrutiny, cabinet, a board or other",
    responses=error_responses(401, 403, 422, described={409: "A committee of that name exists"}),
)
def add_committee(
    body: CommitteeCreate, session: SessionDep, principal: PlanWriter
) -> CommitteePublic:
    committee = service.add_committee(
        session, name=body.name, kind=body.kind, actor=principal.actor, now=utcnow()
    )
    commit_or_conflict(session)
    return committee_public(committee)


@router.get(
    "/inspections/{inspection_id}/committee-meetings",
    response_model=MeetingsPublic,
    summary="The meetings that take this inspection's action plans, oldest first",
    responses=error_responses(401, 403, 422, described={404: "No such inspection"}),
)
def list_meetings(
    inspection_id: InspectionId, session: ReadSessionDep, _: PlanReader, page: CursorPageDep
) -> MeetingsPublic:
    items = [report.meeting_public(m, c) for m, c in service.meetings(session, inspection_id)]
    shown, cursor = keyset(
        items, page=page, key=lambda m: (m.meets_on.isoformat(), m.id), kinds=(str, int)
    )
    return MeetingsPublic(items=shown, next_cursor=cursor)


@router.post(
    "/inspections/{inspection_id}/committee-meetings",
    status_code=201,
    response_model=MeetingPublic,
    summary="Add a meeting of a committee that takes this inspection's action plans",
    responses=error_responses(
        401,
        403,
        422,
        described={404: "No such inspection", 409: "Closed, or that committee meets that day"},
    ),
)
def add_meeting(
    inspection_id: InspectionId, body: MeetingCreate, session: SessionDep, principal: PlanWriter
) -> MeetingPublic:
    meeting = service.add_meeting(
        session,
        inspection_id=inspection_id,
        committee_id=body.committee_id,
        meets_on=body.meets_on,
        actor=principal.actor,
        now=utcnow(),
    )
    public = report.meeting_public(meeting, service.committee_of(session, body.committee_id))
    commit_or_conflict(session)
    return public


@router.get(
    "/inspections/{inspection_id}/committee-meetings/{meeting_id}/report",
    response_model=ScrutinyReport,
    summary="The meeting's report: new, completed and overdue actions, RAG, completions by day",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def read_report(
    inspection_id: InspectionId,
    meeting_id: MeetingId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
) -> ScrutinyReport:
    return report.build(
        session, rules, inspection_id=inspection_id, meeting_id=meeting_id, now=utcnow()
    )


@router.get(
    "/inspections/{inspection_id}/committee-meetings/{meeting_id}/report.csv",
    summary="The meeting's report as CSV (UTF-8 with BOM): one row per action, by section",
    response_class=Response,
    responses={
        200: {"content": {CSV_TYPE: {}}},
        **error_responses(401, 403, 422, described={404: NOT_FOUND}),
    },
)
def report_csv(
    inspection_id: InspectionId,
    meeting_id: MeetingId,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
) -> Response:
    found = report.build(
        session, rules, inspection_id=inspection_id, meeting_id=meeting_id, now=utcnow()
    )
    return Response(
        content=export.report_csv(found),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{export.filename(found, "csv")}"'},
    )
