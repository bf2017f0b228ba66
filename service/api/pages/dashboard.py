"""The inspections list, each inspection's dashboard, the full list of where its tree broke, and
the dashboard's live updates.

Live updates are server-sent events: the cascade's counts, sent when they change (checked every
`POLL_SECONDS`). A stream ends after `STREAM_SECONDS` and the browser's EventSource reconnects by
itself, so no connection outlives a deploy for long. Without JavaScript the page is complete as
served and has a Refresh link; it never reloads itself (a timed reload moves a screen reader
back to the top of the page)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from service.api.deps import ReadSessionDep, RulesDep
from service.api.pages import cascade_chart, dashboard_data, plan_charts, printing
from service.api.pages.auth import CurrentUser
from service.api.pages.framework import not_found, page_router
from service.api.pages.rendering import render
from service.cascade import counts as cascade_counts
from service.db import reader, utcnow
from service.errors import NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.rules import Rules

router = page_router(tags=["dashboard pages"])

LIST_LIMIT = 100
BROKEN_PAGE = 200
POLL_SECONDS = 2.0
STREAM_SECONDS = 300.0
RETRY_MS = 3000


def _inspection(session: Session, raw_id: str) -> Inspection | None:
    try:
        return inspections.get(session, uuid.UUID(raw_id))
    except (ValueError, NotFound):
        return None


def _missing(request: Request, raw_id: str) -> Response:
    return not_found(request, f"There is no inspection {raw_id[:64]}.")


@router.get("/inspections")
def inspections_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    listed = inspections.list_inspections(session, limit=LIST_LIMIT)
    return render(
        request,
        "dashboard_list.html",
        {
            "rows": inspections.summaries(
                session, listed, rules=rules, today=rules.local_date(utcnow())
            ),
            "tag_for": dashboard_data.status_tag,
        },
    )


@router.get("/inspections/{inspection_id}")
def dashboard_page(
    request: Request,
    inspection_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
    charts: str = "on",
) -> Response:
    """`?charts=off` leaves the charts out (the tables stay): for a slow connection, and for
    `bench/pages.py` to time the page with and without them in one run."""
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return _missing(request, inspection_id)
    now = utcnow()
    board = dashboard_data.gather(session, inspection, rules=rules, now=now)
    return render(request, "dashboard.html", _values(session, board, rules, charts=charts != "off"))


def _values(
    session: Session, board: dashboard_data.Dashboard, rules: Rules, *, charts: bool = True
) -> dict[str, Any]:
    """The dashboard's figures, and its charts: the cascade over time and the plan."""
    inspection = board.inspection
    if not charts:
        return dashboard_data.template_values(board) | {"charts_off": True}
    return (
        dashboard_data.template_values(board)
        | cascade_chart.values(session, inspection, now=board.now)
        | plan_charts.values(
            board.tasks,
            board.owners,
            rules=rules,
            today=board.today,
            chart_key=inspection.id.hex[:8],
        )
    )


@router.get("/inspections/{inspection_id}/summary.pdf")
def dashboard_pdf(
    request: Request,
    inspection_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    """The dashboard on A4 for the steering group's minutes, with the cascade over time."""
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return _missing(request, inspection_id)
    now = utcnow()
    board = dashboard_data.gather(session, inspection, rules=rules, now=now)
    called = rules.local_date(inspection.notified_at)
    kind = "Rehearsal of " if inspection.drill else "Inspection called "
    return printing.pdf_response(
        request,
        "dashboard_print.html",
        _values(session, board, rules) | {"title": kind + called.strftime("%-d %B %Y")},
        filename=f"{'rehearsal' if inspection.drill else 'inspection'}-summary-{called}.pdf",
        made=now,
    )


@router.get("/inspections/{inspection_id}/cascade-chart")
def cascade_chart_fragment(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep
) -> Response:
    """The cascade over time alone, for the dashboard's live updates to put in place."""
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return _missing(request, inspection_id)
    return render(
        request,
        "cascade_chart.html",
        {"inspection": inspection} | cascade_chart.values(session, inspection, now=utcnow()),
    )


@router.get("/inspections/{inspection_id}/broken")
def broken_page(
    request: Request,
    inspection_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    page: str = "1",
) -> Response:
    inspection = _inspection(session, inspection_id)
    if inspection is None:
        return _missing(request, inspection_id)
    # A hand-edited `?page=` is read leniently: a page list, not a form to correct.
    page_number = max(1, int(page)) if page.isdigit() and len(page) < 7 else 1
    total = cascade_counts.counts(session, inspection.id).overall.broken
    people = cascade_counts.broken_people(
        session, inspection.id, limit=BROKEN_PAGE, offset=(page_number - 1) * BROKEN_PAGE
    )
    return render(
        request,
        "dashboard_broken.html",
        {
            "inspection": inspection,
            "people": people,
            "total": total,
            "page": page_number,
            "first": (page_number - 1) * BROKEN_PAGE + 1,
            "more": page_number * BROKEN_PAGE < total,
        },
    )


def _find(engine: Engine, raw_id: str) -> Inspection | None:
    """A short session of its own: the request's sessions stay open until a stream ends."""
    with Session(reader(engine), expire_on_commit=False) as session:
        return _inspection(session, raw_id)


def _load_counts(engine: Engine, inspection_id: uuid.UUID) -> dict[str, Any]:
    """One short read a poll: nothing is held open between polls."""
    with Session(reader(engine)) as session:
        return cascade_counts.counts(session, inspection_id).as_json()


async def count_events(
    load: Callable[[], dict[str, Any]],
    *,
    interval: float,
    duration: float,
    disconnected: Callable[[], Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The counts at once, then again each time they change; the database is read in a worker
    thread so the event loop never waits on it."""
    last: dict[str, Any] | None = None
    ends = time.monotonic() + duration
    while True:
        if disconnected is not None and await disconnected():
            return
        figures = await run_in_threadpool(load)
        if figures != last:
            last = figures
            yield {"event": "counts", "data": json.dumps(figures), "retry": RETRY_MS}
        if time.monotonic() + interval > ends:
            return
        await anyio.sleep(interval)


@router.get("/inspections/{inspection_id}/events")
async def dashboard_events(request: Request, inspection_id: str, _: CurrentUser) -> Response:
    engine: Engine = request.app.state.engine
    inspection = await run_in_threadpool(_find, engine, inspection_id)
    if inspection is None:
        return _missing(request, inspection_id)
    found = inspection.id
    stream = count_events(
        lambda: _load_counts(engine, found),
        interval=POLL_SECONDS,
        duration=STREAM_SECONDS,
        disconnected=request.is_disconnected,
    )
    return EventSourceResponse(stream, headers={"Cache-Control": "no-store"})
