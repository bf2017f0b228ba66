"""What happened, for reading back: an inspection's timeline, the audit log of changes that
belong to no inspection, and the report of how fast the tree reached everyone.

A cascade of 10,000 people writes 10,000 acknowledgements and perhaps as many escalations: on
the timeline those are folded into one row per minute with a count (filtering by their kind
shows each person), so the lead's own changes stay findable."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from service.api.deps import ReadSessionDep
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.audit import AuditEvent
from service.cascade import progress
from service.inspections import service
from service.inspections.models import Inspection
from service.timeline import TimelineEntry
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["record pages"])

PAGE_SIZE = 50
MAX_PAGE = 100_000
COLLAPSED = {
    "cascade_escalated": ("{n} people did not acknowledge in time and were escalated", "escalated"),
    "cascade_acknowledged": ("{n} people acknowledged", "acknowledged"),
}
"""Kinds written once per person: folded into one row per minute, unless filtered on."""
RECENT_REHEARSALS = 20

Auditor = Annotated[User, Depends(require_permission(Permission.view_audit))]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]


@dataclass(frozen=True)
class Row:
    """One line of the timeline: an entry, or a minute's worth of one per-person kind."""

    at: datetime
    kind: str
    count: int = 1
    entry: TimelineEntry | None = None

    @property
    def summary(self) -> str:
        if self.entry is not None:
            return self.entry.summary
        return COLLAPSED[self.kind][0].format(n=self.count)


def _inspection(session: Session, raw_id: str) -> Inspection | None:
    try:
        return session.get(Inspection, uuid.UUID(raw_id))
    except ValueError:
        return None


def _label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def timeline_rows(
    session: Session, inspection_id: uuid.UUID, kind: str | None
) -> list[tuple[datetime, int, str, int]]:
    """(at, newest id, kind, count) newest first, per-person kinds folded per minute. Reads only
    three small columns, so a tree of 10,000 costs milliseconds; the page then loads its 50."""
    query = sa.select(TimelineEntry.id, TimelineEntry.at, TimelineEntry.kind).where(  # type: ignore[call-overload]
        TimelineEntry.inspection_id == inspection_id
    )
    if kind:
        query = query.where(TimelineEntry.kind == kind)
    rows: list[tuple[datetime, int, str, int]] = []
    folded: dict[tuple[str, datetime], list[Any]] = {}
    for entry_id, at, entry_kind in session.execute(query).all():
        if entry_kind in COLLAPSED and entry_kind != kind:
            minute = at.replace(second=0, microsecond=0)
            bucket = folded.setdefault((entry_kind, minute), [at, entry_id, 0])
            bucket[0], bucket[1] = max(bucket[0], at), max(bucket[1], entry_id)
            bucket[2] += 1
        else:
            rows.append((at, entry_id, entry_kind, 1))
    rows += [(at, last, k, n) for (k, _), (at, last, n) in folded.items()]
    rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
    return rows


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
    kinds = sorted(
        session.exec(
            select(TimelineEntry.kind)
            .where(TimelineEntry.inspection_id == inspection.id)
            .distinct()
        ).all()
    )
    kind = kind if kind in kinds else ""
    everything = timeline_rows(session, inspection.id, kind or None)
    shown = everything[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    singles = [entry_id for _, entry_id, k, n in shown if n == 1]
    entries = {
        e.id: e
        for e in session.exec(select(TimelineEntry).where(col(TimelineEntry.id).in_(singles)))
    }
    rows = [
        Row(at=at, kind=k, count=n, entry=entries.get(entry_id) if n == 1 else None)
        for at, entry_id, k, n in shown
    ]
    rows = [r for r in rows if r.entry is not None or r.kind in COLLAPSED]
    return render(
        request,
        "records_timeline.html",
        {
            "inspection": inspection,
            "rows": rows,
            "total": len(everything),
            "kind": kind,
            "kind_items": [{"value": "", "text": "Everything", "selected": not kind}]
            + [{"value": k, "text": _label(k), "selected": k == kind} for k in kinds],
            "collapsed": COLLAPSED,
            "label": _label,
            **_pages(request, page, len(everything), kind=kind),
        },
    )


@router.get("/audit-log")
def audit_log(
    request: Request,
    _: Auditor,
    session: ReadSessionDep,
    page: PageNumber = 1,
    action: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    actions = sorted(session.exec(select(AuditEvent.action).distinct()).all())
    action = action if action in actions else ""
    query = select(AuditEvent)
    counting = select(sa.func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
        counting = counting.where(AuditEvent.action == action)
    total = session.exec(counting).one()
    events = session.exec(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return render(
        request,
        "records_audit.html",
        {
            "events": events,
            "total": total,
            "action": action,
            "action_items": [{"value": "", "text": "Every change", "selected": not action}]
            + [{"value": a, "text": _label(a), "selected": a == action} for a in actions],
            "label": _label,
            **_pages(request, page, total, action=action),
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
    broken_reasons = Counter(b["reason"] or "no reason recorded" for b in report["broken"])
    return render(
        request,
        "records_report.html",
        {
            "inspection": inspection,
            "report": report,
            "duration": _duration,
            "broken_reasons": broken_reasons.most_common(),
            "rehearsals": service.list_inspections(session, drill=True, limit=RECENT_REHEARSALS),
        },
    )
