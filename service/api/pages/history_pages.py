"""The History page: every real inspection side by side (dates, judgements, how fast the tree
reached people, deadlines met or missed), so the steering group and scrutiny see the trend."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from service import history
from service.api.deps import ReadSessionDep, RulesDep
from service.api.pages.auth import CurrentUser
from service.api.pages.framework import page_router
from service.api.pages.rendering import render
from service.db import utcnow

router = page_router(tags=["history pages"])

SHOWN = 50
"""The newest this many; the API pages through the rest."""


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "Not yet"
    if seconds < 60:
        return "under a minute"
    whole = round(seconds / 60)
    return (
        f"{whole} minute{'s' if whole != 1 else ''}" if whole < 120 else f"{whole / 60:.1f} hours"
    )


@router.get("/history")
def history_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    found, more = history.page(
        session, rules=rules, today=rules.local_date(utcnow()), offset=0, limit=SHOWN
    )
    return render(
        request,
        "history.html",
        {"past": found, "more": more, "minutes": minutes, "frameworks": rules.frameworks},
    )
