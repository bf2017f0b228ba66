"""The communication tree's progress for one inspection, and the rehearsal report."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from service.api.deps import InspectionsReader, ReadSessionDep
from service.api.errors import error_responses
from service.cascade import progress
from service.cascade.schemas import CascadeProgress, RehearsalReport
from service.db import utcnow
from service.inspections import service

router = APIRouter(prefix="/api/v1/inspections", tags=["cascade"])


@router.get(
    "/{inspection_id}/cascade",
    response_model=CascadeProgress,
    summary="Cascade progress: counts by status and tree level, broken links, reach times",
    responses=error_responses(401, 403, 422, described={404: "No such inspection"}),
)
def read_progress(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader
) -> CascadeProgress:
    return progress.progress(session, service.get(session, inspection_id), now=utcnow())


@router.get(
    "/{inspection_id}/cascade/report",
    response_model=RehearsalReport,
    summary="Rehearsal report: time to the steering group, % acknowledged at 15/30/60 minutes",
    responses=error_responses(401, 403, 422, described={404: "No such inspection"}),
)
def read_report(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader
) -> RehearsalReport:
    return progress.rehearsal_report(session, service.get(session, inspection_id))
