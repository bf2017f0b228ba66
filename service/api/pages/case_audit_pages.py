"""The audit of the 18 cases the lead inspector names: adding cases, recording each one's
audit, re-audit and findings, and the findings as CSV for the inspection team."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages import printing
from service.api.pages.auth import CurrentUser, PageForbidden
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import (
    PLAN_CHANGED,
    PlanManager,
    active_people,
    done,
    find_inspection,
    parse_id,
    people_items,
    sentence,
    title_of,
)
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.plan import case_audit, case_audit_report
from service.plan.models import AuditStatus
from service.plan.schemas import CaseUpdate
from service.rules import Rules
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["plan pages"])

AUDIT_LABELS = {
    AuditStatus.not_started.value: ("Not started", "govuk-tag--grey"),
    AuditStatus.audited.value: ("Audited", "govuk-tag--blue"),
    AuditStatus.re_audited.value: ("Re-audited", "govuk-tag--purple"),
    AuditStatus.findings_reported.value: ("Findings reported", "govuk-tag--green"),
}
CASES_IDS = {
    "references": "references",
    "auditor_contact_id": "auditor",
    "reauditor_contact_id": "reauditor",
}


def _audit_page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection_id: str,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, "There is no such inspection.")
    report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=utcnow())
    closed = inspections.is_closed(session, inspection.id)
    people = active_people(session) if not closed else []
    framework = rules.framework(inspection.framework)
    form = form or PageForm()
    return render(
        request,
        "plan_audit.html",
        {
            "inspection": inspection,
            "inspection_title": title_of(inspection),
            "report": report,
            "grades": framework.grades,
            "closed": closed,
            "form": form,
            "audit_labels": AUDIT_LABELS,
            "auditor_items": people_items(
                people, form.value("auditor_contact_id"), blank="None yet"
            ),
            "reauditor_items": people_items(
                people, form.value("reauditor_contact_id"), blank="None yet"
            ),
            "people": people,
            "moderation_text": case_audit_report.moderation_text,
            "finding_fields": FINDING_FIELDS,
            # Per-case fields are `<field>-<case id>`: the case with an error shows its form open.
            "error_case": next((key.split("-", 1)[1] for key in form.errors if "-" in key), None),
        },
        status_code=status_code,
    )


FINDING_FIELDS = (
    ("strengths", "Strengths"),
    ("areas_for_improvement", "Areas for improvement"),
    ("good_practice", "Good practice"),
    ("findings", "Summary of findings"),
)
"""In the order the report shows them: the three kinds, then the free summary."""


def _report_context(session: Session, rules: Rules, inspection: Inspection) -> dict[str, Any]:
    return {
        "inspection": inspection,
        "inspection_title": title_of(inspection),
        "report": case_audit_report.summary(
            session, rules=rules, inspection=inspection, now=utcnow()
        ),
        "grades": rules.framework(inspection.framework).grades,
        "moderation_text": case_audit_report.moderation_text,
        "finding_sections": FINDING_FIELDS,
    }


def _may_read_audit(user: User) -> None:
    """The findings are about children: only people who keep or read the audit."""
    if not (can(user.role, Permission.view_audit) or can(user.role, Permission.manage_plan)):
        raise PageForbidden(user, "view audit")


def _audit_report(
    request: Request,
    user: User,
    session: Session,
    rules: Rules,
    inspection_id: str,
    shape: Literal["page", "pdf", "csv"],
) -> Response:
    """The audit for the people who keep or read it: the report page, the same on A4 for the
    steering group's papers, or the findings as CSV for the inspection team."""
    _may_read_audit(user)
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, "There is no such inspection.")
    now = utcnow()
    if shape == "csv":
        content = case_audit_report.export_csv(
            session,
            inspection_id=inspection.id,
            grades=rules.framework(inspection.framework).grades,
            zone=rules.zone,
        )
        filename = case_audit_report.csv_filename(now, rules.zone)
        return Response(
            content=content,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
    context = _report_context(session, rules, inspection)
    if shape == "page":
        return render(request, "audit_report.html", context)
    return printing.pdf_response(
        request,
        "audit_report_print.html",
        {**context, "title": "Case audit report"},
        filename=f"audit-report-{now.astimezone(rules.zone).date().isoformat()}.pdf",
        made=now,
    )


@router.get("/inspections/{inspection_id}/audit/report")
def audit_report_page(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
) -> Response:
    return _audit_report(request, user, session, rules, inspection_id, "page")


@router.get("/inspections/{inspection_id}/audit/report.pdf")
def audit_report_pdf(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
) -> Response:
    return _audit_report(request, user, session, rules, inspection_id, "pdf")


@router.get("/inspections/{inspection_id}/audit.csv")
def audit_csv(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
) -> Response:
    return _audit_report(request, user, session, rules, inspection_id, "csv")


@router.get("/inspections/{inspection_id}/audit")
def audit_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, rules: RulesDep, inspection_id: str
) -> Response:
    return _audit_page(request, session, rules, inspection_id)


def _rejected_cases(
    exc: case_audit.CasesRejected, lines: list[str], values: dict[str, str]
) -> PageForm:
    """Every problem at its field; a reference's problem names its line."""
    form = PageForm(values=values, ids=CASES_IDS)
    for error in exc.errors:
        field = error.field if error.field in CASES_IDS else "references"
        if field == "references" and error.index is not None:
            text = f"Line {error.index + 1} ({lines[error.index][:40]}): {error.message}"
        else:
            text = sentence(error.message)
        if field in form.errors:
            form.errors[field] += "; " + text
        else:
            form.errors[field] = sentence(text)
    if not lines:
        form.errors["references"] = "Enter at least one case reference, one per line"
    return form


@router.post("/inspections/{inspection_id}/audit/cases")
def add_cases(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    references: Annotated[str, Form()] = "",
    auditor_contact_id: Annotated[str, Form()] = "",
    reauditor_contact_id: Annotated[str, Form()] = "",
) -> Response:
    """`reading` shows the audit again when the cases are refused."""
    values = {
        "references": references,
        "auditor_contact_id": auditor_contact_id,
        "reauditor_contact_id": reauditor_contact_id,
    }
    found = parse_id(inspection_id)
    if found is None:
        return not_found(request, "There is no such inspection.")
    lines = [line.strip() for line in references.splitlines() if line.strip()]
    new = [
        case_audit.NewCase(
            reference=line,
            auditor_contact_id=auditor_contact_id.strip() or None,
            reauditor_contact_id=reauditor_contact_id.strip() or None,
        )
        for line in lines
    ]
    try:
        added = case_audit.add_cases(
            session,
            rules=rules,
            inspection_id=found,
            cases=new,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        count = len(added.cases)
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such inspection.")
    except case_audit.CasesRejected as exc:
        session.rollback()
        form = _rejected_cases(exc, lines, values)
        return _audit_page(request, reading, rules, inspection_id, form=form, status_code=422)
    except Conflict as exc:
        session.rollback()
        form = PageForm(values=values, errors={"references": sentence(exc.message)}, ids=CASES_IDS)
        return _audit_page(request, reading, rules, inspection_id, form=form, status_code=409)
    return done(
        request,
        f"/inspections/{inspection_id}/audit",
        f"{count} case{'s' * (count != 1)} added to the audit",
    )


@router.post("/inspections/{inspection_id}/audit/cases/{case_id}")
def update_case(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    case_id: str,
    status: Annotated[str, Form()] = "",
    first_tier_grade: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    findings: Annotated[str, Form()] = "",
    strengths: Annotated[str, Form()] = "",
    areas_for_improvement: Annotated[str, Form()] = "",
    good_practice: Annotated[str, Form()] = "",
    auditor_contact_id: Annotated[str, Form()] = "",
    reauditor_contact_id: Annotated[str, Form()] = "",
) -> Response:
    """`reading` shows the audit again, the case's form open, when the change is refused."""
    inspection_uuid, case_uuid = parse_id(inspection_id), parse_id(case_id)
    if inspection_uuid is None or case_uuid is None:
        return not_found(request, "There is no such case.")
    sent = {
        "status": status,
        "first_tier_grade": first_tier_grade,
        "grade": grade,
        "findings": findings,
        "strengths": strengths,
        "areas_for_improvement": areas_for_improvement,
        "good_practice": good_practice,
        "auditor_contact_id": auditor_contact_id,
        "reauditor_contact_id": reauditor_contact_id,
    }
    fields = tuple(sent)
    values = {f"{name}-{case_id}": value for name, value in sent.items()}
    ids = {f"{name}-{case_id}": f"{name.replace('_', '-')}-{case_id}" for name in fields}
    changes: dict[str, Any] = {name: value or None for name, value in sent.items()}
    if not status:
        changes.pop("status")
    try:
        case = case_audit.update_case(
            session,
            rules=rules,
            inspection_id=inspection_uuid,
            case_id=case_uuid,
            changes=CaseUpdate.model_construct(**changes),
            actor=users.actor_for(user),
            now=utcnow(),
        )
        reference = case.reference
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such case.")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, InvalidInput) else "status"
        key = f"{field}-{case_id}" if f"{field}-{case_id}" in ids else f"status-{case_id}"
        form = PageForm(values=values, errors={key: sentence(exc.message)}, ids=ids)
        code = 422 if isinstance(exc, InvalidInput) else 409
        return _audit_page(request, reading, rules, inspection_id, form=form, status_code=code)
    return done(request, f"/inspections/{inspection_id}/audit", f"Case {reference} updated")
