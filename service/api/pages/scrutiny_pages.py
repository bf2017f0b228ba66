"""Scrutiny and Cabinet: the committees, the meetings that take an inspection's action plans, and
each meeting's report of progress since the committee's last one, as a page, an A4 PDF and CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages import charts, printing
from service.api.pages.auth import CurrentUser
from service.api.pages.forms import Form as PageForm
from service.api.pages.forms import read_date
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import (
    PLAN_CHANGED,
    PlanManager,
    done,
    find_inspection,
    parse_id,
    sentence,
    title_of,
)
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.rules import Rules
from service.scrutiny import export, report, service
from service.scrutiny.models import CommitteeKind
from service.scrutiny.schemas import ScrutinyReport
from service.users import service as users

router = page_router(tags=["scrutiny pages"])

NO_INSPECTION = "There is no such inspection."
NO_MEETING = "There is no such meeting."
KIND_WORDS = {
    CommitteeKind.scrutiny: "Scrutiny committee",
    CommitteeKind.cabinet: "Cabinet",
    CommitteeKind.board: "Board",
    CommitteeKind.other: "Other",
}


def _page(
    request: Request,
    session: Session,
    inspection: Inspection,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "scrutiny.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "committees": service.committees(session),
            "meetings": service.meetings(session, inspection.id),
            "closed": inspections.is_closed(session, inspection.id),
            "kinds": KIND_WORDS,
            "form": form or PageForm(ids={"kind": "kind", "meets_on": "meets_on-day"}),
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/scrutiny")
def scrutiny_page(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _page(request, session, inspection)


@router.post("/inspections/{inspection_id}/scrutiny/committees")
def add_committee(
    request: Request,
    inspection_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    name: Annotated[str, Form(max_length=400)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    inspection = find_inspection(reading, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    form = PageForm(values={"name": name, "kind": kind}, ids={"kind": "kind"})
    if kind not in {k.value for k in CommitteeKind}:
        form.add("kind", "Choose what kind of committee it is")
    if not name.strip():
        form.add("name", "Enter the committee's name")
    if not form.errors:
        try:
            service.add_committee(
                session,
                name=name,
                kind=CommitteeKind(kind),
                actor=users.actor_for(user),
                now=utcnow(),
            )
            commit_or_conflict(session, PLAN_CHANGED)
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            form.add("name", sentence(exc.message))
    if form.errors:
        code = 409 if "already" in form.errors.get("name", "") else 422
        return _page(request, reading, inspection, form=form, status_code=code)
    return done(request, f"/inspections/{inspection.id}/scrutiny", f"{name.strip()} added")


@router.post("/inspections/{inspection_id}/scrutiny/meetings")
def add_meeting(
    request: Request,
    inspection_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    committee_id: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[str, Form(alias="meets_on-day", max_length=10)] = "",
    month: Annotated[str, Form(alias="meets_on-month", max_length=10)] = "",
    year: Annotated[str, Form(alias="meets_on-year", max_length=10)] = "",
) -> Response:
    inspection = find_inspection(reading, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    form = PageForm(
        values={
            "committee_id": committee_id,
            "meets_on-day": day,
            "meets_on-month": month,
            "meets_on-year": year,
        },
        ids={"meets_on": "meets_on-day"},
    )
    chosen = int(committee_id) if committee_id.isascii() and committee_id.isdigit() else None
    if chosen is None or chosen > 2**31:
        form.add("committee_id", "Choose the committee")
    meets_on: date | None = read_date(
        form, "meets_on", missing="Enter the date of the meeting", label="Date of the meeting"
    )
    if not form.errors and chosen is not None and meets_on is not None:
        try:
            service.add_meeting(
                session,
                inspection_id=inspection.id,
                committee_id=chosen,
                meets_on=meets_on,
                actor=users.actor_for(user),
                now=utcnow(),
            )
            commit_or_conflict(session, PLAN_CHANGED)
        except InvalidInput as exc:
            session.rollback()
            form.add(exc.field, sentence(exc.message))
        except Conflict as exc:
            session.rollback()
            form.add("meets_on", sentence(exc.message))
    if form.errors:
        return _page(request, reading, inspection, form=form, status_code=422)
    return done(request, f"/inspections/{inspection.id}/scrutiny", "Meeting added")


def _report(
    session: Session, rules: Rules, inspection_id: str, meeting_id: str
) -> ScrutinyReport | None:
    inspection, meeting = parse_id(inspection_id), _meeting_id(meeting_id)
    if inspection is None or meeting is None:
        return None
    try:
        return report.build(
            session, rules, inspection_id=inspection, meeting_id=meeting, now=utcnow()
        )
    except NotFound:
        return None


def _meeting_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def summary_sentence(found: ScrutinyReport) -> str:
    if not found.over_time:
        return "No actions in the plans yet."
    last = found.over_time[-1]
    share = round(100 * last.completed / last.actions) if last.actions else 0
    return (
        f"{last.completed} of {last.actions} actions completed by "
        f"{found.meeting.meets_on.strftime('%-d %B %Y')} ({share}%); "
        f"{len(found.completed)} since the last meeting, {len(found.overdue)} overdue."
    )


def _context(found: ScrutinyReport, inspection: Inspection | None) -> dict[str, Any]:
    chart = None
    if found.over_time:
        chart = charts.line_chart(
            chart_id=f"completed-{found.meeting.id}",
            title="Actions completed over time",
            description=summary_sentence(found),
            days=[point.on for point in found.over_time],
            series=[
                charts.Series(
                    "actions",
                    "Actions in the plans",
                    [p.actions for p in found.over_time],
                    charts.GOVUK_BLUE,
                ),
                charts.Series(
                    "completed",
                    "Completed",
                    [p.completed for p in found.over_time],
                    charts.GOVUK_GREEN,
                ),
            ],
            y_label="Actions",
        )
    return {
        "inspection": inspection,
        "heading": title_of(inspection) if inspection else "",
        "report": found,
        "summary": summary_sentence(found),
        "chart": chart,
        "kinds": KIND_WORDS,
    }


def _serve(
    request: Request,
    session: Session,
    rules: Rules,
    inspection_id: str,
    meeting_id: str,
    shape: Literal["page", "pdf", "csv"],
) -> Response:
    """One report, three ways: the page, the A4 PDF for the papers, the spreadsheet."""
    found = _report(session, rules, inspection_id, meeting_id)
    if found is None:
        return not_found(request, NO_MEETING)
    if shape == "csv":
        return Response(
            content=export.report_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename(found, "csv")}"',
                "Cache-Control": "no-store",
            },
        )
    context = _context(found, find_inspection(session, inspection_id))
    if shape == "page":
        return render(request, "scrutiny_report.html", context)
    return printing.pdf_response(
        request,
        "scrutiny_report_print.html",
        {**context, "title": "Action plan progress"},
        filename=export.filename(found, "pdf"),
        made=found.made_at,
    )


MEETING = "/inspections/{inspection_id}/scrutiny/meetings/{meeting_id}"


@router.get(MEETING)
def report_page(
    request: Request,
    inspection_id: str,
    meeting_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return _serve(request, session, rules, inspection_id, meeting_id, "page")


@router.get(MEETING + "/report.pdf")
def report_pdf(
    request: Request,
    inspection_id: str,
    meeting_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return _serve(request, session, rules, inspection_id, meeting_id, "pdf")


@router.get(MEETING + "/report.csv")
def report_csv(
    request: Request,
    inspection_id: str,
    meeting_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return _serve(request, session, rules, inspection_id, meeting_id, "csv")
