"""The home page: the live inspection, if any, with a way straight to its dashboard; the latest
inspections and rehearsals; and the buttons to start either, for those allowed to."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from service.api.deps import ReadSessionDep
from service.api.pages.auth import CurrentUser
from service.api.pages.framework import page_router
from service.api.pages.rendering import render
from service.cascade import counts as cascade_counts
from service.inspections.service import list_inspections, live_inspection

router = page_router(tags=["home page"])

RECENT = 5


@router.get("/")
def home(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    live = live_inspection(session)
    return render(
        request,
        "home.html",
        {
            "live": live,
            "live_counts": cascade_counts.counts(session, live.id).overall if live else None,
            "inspections": list_inspections(session, drill=False, limit=RECENT),
            "rehearsals": list_inspections(session, drill=True, limit=RECENT),
        },
    )
