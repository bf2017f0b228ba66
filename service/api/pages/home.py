"""The home page: for now, whether an inspection is live and a way to it (the dashboard pages
build on this)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from service.api.deps import ReadSessionDep
from service.api.pages.auth import CurrentUser
from service.api.pages.framework import page_router
from service.api.pages.rendering import render
from service.inspections.service import live_inspection

router = page_router(tags=["home page"])


@router.get("/")
def home(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    return render(request, "home.html", {"live": live_inspection(session)})
