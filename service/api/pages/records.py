"""What happened, for reading back: an inspection's timeline, the audit log of changes that
belong to no inspection, and the report of how fast the tree reached everyone. The timeline is
read (and its per-person kinds folded) by service.timeline, for the API as well."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from service import audit_log, timeline
from service.api.deps import ReadSessionDep
from service.api.pages import cascade_chart, printing, rehearsal_comparison
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.cascade import progress
from service.db import utcnow
from service.inspections import service
from service.inspections.models import Inspection
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["record pages"])

PAGE_SIZE = 50
MAX_PAGE = 100_000
FOLDED_WORDS = {"cascade_escalated": "escalated", "cascade_acknowledged": "acknowledged"}
"""What the people of a folded row did, for the "see each person" link's hidden text."""

Auditor = Annotated[User, Depends(require_permission(Permission.view_audit))]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def _inspection(session: Session, raw_id: str) -> Inspection | None:
    try:
        return session.get(Inspection, uuid.UUID(raw_id))
    except ValueError:
        return None


def _label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _pages(request: Request, page: int, total: int, **params: str) -> dict[str, Any]:
    """govukPagination's previous/next, keeping the filter."""
    last = max(1, math.ceil(total / PAGE_SIZE))

    def href(number: int) -> str:
        query = {**{k: v for k, v in params.items() if v}, "page": str(number)}
        return f"{request.url.path}?{urlencode(query)}"

    pagination: dict[str, Any] = {"landmarkLabel": "Pages"}
    if page > 1:
        pagination["previous"] = {"href": href(page - 1), "labelText": f"{page - 1} of {last}"}
    if page < last:
        pagination["next"] = {"href": href(page + 1), "labelText": f"{page + 1} of {last}"}
    return {"page": page, "last": last, "pagination": pagination}


@router.get("/timeline")
def latest_timeline(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    chosen = service.live_inspection(session)
    if chosen is None:
        newest = service.list_inspections(session, limit=1)
        chosen = newest[0] if newest else None
    if chosen is None:
        return render(request, "records_no_timeline.html")
    return see_other(f"/inspections/{chosen.id}/timeline")


@router.get("/inspections/{inspection_id}/timeline")
def timeline_page(
    request: Request,
    _: CurrentUser,
    session: ReadSessionDep,
    inspection_id: str,
    page: PageNumber = 1,
    kind: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, f"There is no inspection {inspection_id}.")
    kinds = timeline.kinds_of(session, inspection.id)
    kind = kind if kind in kinds else ""
    found = timeline.page(
        session,
        inspection.id,
        kinds=[kind] if kind else (),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "records_timeline.html",
        {
            "inspection": inspection,
            "rows": found.rows,
            "total": found.total,
            "kind": kind,
            "kind_items": [{"value": "", "text": "Everything", "selected": not kind}]
            + [{"value": k, "text": _label(k), "selected": k == kind} for k in kinds],
            "folded": FOLDED_WORDS,
            "label": _label,
            **_pages(request, page, found.total, kind=kind),
        },
    )


@router.get("/audit-log")
def audit_log_page(
    request: Request,
    _: Auditor,
    session: ReadSessionDep,
    page: PageNumber = 1,
    action: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    actions = audit_log.actions(session)
    action = action if action in actions else ""
    found = audit_log.page(
        session, action=action or None, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        "records_audit.html",
        {
            "events": found.events,
            "total": found.total,
            "action": action,
            "action_items": [{"value": "", "text": "Every change", "selected": not action}]
            + [{"value": a, "text": _label(a), "selected": a == action} for a in actions],
            "label": _label,
            **_pages(request, page, found.total, action=action),
        },
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "Not yet"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes} min")
    parts.append(f"{secs} s")
    return " ".join(parts)


@router.get("/inspections/{inspection_id}/report")
def report_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, inspection_id: str
) -> Response:
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, f"There is no inspection {inspection_id}.")
    report = progress.rehearsal_report(session, inspection)
    broken_reasons = Counter(b.reason or "no reason recorded" for b in report.broken)
    return render(
        request,
        "records_report.html",
        {
            "inspection": inspection,
            "report": report,
            "duration": _duration,
            "broken_reasons": broken_reasons.most_common(),
            **cascade_chart.values(session, inspection, now=utcnow()),
            **rehearsal_comparison.values(session, current=inspection.id),
        },
    )


@router.get("/rehearsals")
def rehearsals_page(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    """Every rehearsal side by side, oldest first: is the council getting faster?"""
    return render(
        request,
        "rehearsals_compared.html",
        {"duration": _duration, **rehearsal_comparison.values(session)},
    )


@router.get("/rehearsals.pdf")
def rehearsals_pdf(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    """The comparison on A4, for the steering group's minutes."""
    now = utcnow()
    return printing.pdf_response(
        request,
        "rehearsals_compared_print.html",
        {
            "title": "Rehearsals compared",
            "duration": _duration,
            **rehearsal_comparison.values(session),
        },
        filename=f"rehearsals-compared-{now.date().isoformat()}.pdf",
        made=now,
    )


@router.get("/inspections/{inspection_id}/report.pdf")
def report_pdf(
    request: Request, _: CurrentUser, session: ReadSessionDep, inspection_id: str
) -> Response:
    """The rehearsal report on A4 for the steering group's minutes, with its chart."""
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, f"There is no inspection {inspection_id[:64]}.")
    report = progress.rehearsal_report(session, inspection)
    now = utcnow()
    started = report.started_at.date().isoformat()
    return printing.pdf_response(
        request,
        "records_report_print.html",
        {
            "title": "Rehearsal report" if inspection.drill else "Communication tree report",
            "inspection": inspection,
            "report": report,
            "duration": _duration,
            "broken_reasons": Counter(
                b.reason or "no reason recorded" for b in report.broken
            ).most_common(),
            **cascade_chart.values(session, inspection, now=now),
            **rehearsal_comparison.values(session, current=inspection.id),
        },
        filename=f"{'rehearsal' if inspection.drill else 'cascade'}-report-{started}.pdf",
        made=now,
    )
