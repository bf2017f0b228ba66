"""The communication tree's progress for one inspection, and the rehearsal report."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from service.api.deps import InspectionsReader, ReadSessionDep
from service.cascade import progress
from service.inspections import service

router = APIRouter(prefix="/api/v1/inspections", tags=["cascade"])


@router.get(
    "/{inspection_id}/cascade",
    summary="Cascade progress: counts by status and tree level, broken links, reach times",
)
def read_progress(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader
) -> dict[str, Any]:
    return progress.progress(session, service.get(session, inspection_id))


@router.get(
    "/{inspection_id}/cascade/report",
    summary="Rehearsal report: time to the steering group, % acknowledged at 15/30/60 minutes",
)
def read_report(
    inspection_id: uuid.UUID, session: ReadSessionDep, _: InspectionsReader
) -> dict[str, Any]:
    return progress.rehearsal_report(session, service.get(session, inspection_id))
