"""The 18-case audit: enter the cases the lead inspector names, record each one's progress, see
where the audit stands and export the findings for the inspection team."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, keyset
from service.db import utcnow
from service.inspections import service as inspections
from service.paging import microseconds
from service.plan import case_audit, case_audit_report
from service.plan.case_audit import CasesRejected, NewCase
from service.plan.schemas import (
    AuditCasePublic,
    AuditCasesPublic,
    AuditSummary,
    CasesAdded,
    CasesCreate,
    CaseUpdate,
)

router = APIRouter(prefix="/api/v1/inspections", tags=["audit"])

NOT_FOUND = "No such inspection or case"
CHANGED_AT_ONCE = (
    "the audit changed at the same moment (the same reference entered twice?); "
    "reload it and try again"
)
CSV_TYPE = "text/csv; charset=utf-8"


def _rejected(exc: CasesRejected) -> JSONResponse:
    detail = []
    for error in exc.errors:
        loc: list[str | int] = ["body", "cases"]
        if error.index is not None:
            loc.append(error.index)
        if error.field is not None:
            loc.append(error.field)
        detail.append({"loc": loc, "msg": error.message, "type": "value_error"})
    return JSONResponse(status_code=422, content={"detail": detail})


@router.post(
    "/{inspection_id}/audit/cases",
    status_code=201,
    response_model=CasesAdded,
    summary="Enter the cases the lead inspector named: all of them or none",
    responses=error_responses(
        401,
        403,
        described={
            404: NOT_FOUND,
            409: "The inspection is closed, or the same case was entered at once",
            422: "Nothing was added; `detail[].loc` is `[body, cases, index, field]` for each "
            "problem, `[body, cases]` for the list as a whole (e.g. too many cases)",
        },
    ),
)
def add_cases(
    inspection_id: uuid.UUID,
    body: CasesCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> Any:
    now = utcnow()
    try:
        added = case_audit.add_cases(
            session,
            rules=rules,
            inspection_id=inspection_id,
            cases=[NewCase(**case.model_dump()) for case in body.cases],
            actor=principal.actor,
            now=now,
        )
    except CasesRejected as exc:
        session.rollback()
        return _rejected(exc)
    reply = CasesAdded(
        cases=case_audit_report.public_cases(session, rules, added.cases),
        remaining=added.remaining,
    )
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return reply


@router.patch(
    "/{inspection_id}/audit/cases/{case_id}",
    response_model=AuditCasePublic,
    summary="Assign auditors, move the status, grade, record findings",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "The inspection is closed"}
    ),
)
def update_case(
    inspection_id: uuid.UUID,
    case_id: uuid.UUID,
    body: CaseUpdate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> AuditCasePublic:
    case = case_audit.update_case(
        session,
        rules=rules,
        inspection_id=inspection_id,
        case_id=case_id,
        changes=body,
        actor=principal.actor,
        now=utcnow(),
    )
    [public] = case_audit_report.public_cases(session, rules, [case])
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return public


@router.delete(
    "/{inspection_id}/audit/cases/{case_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a mistyped case (only while not started)",
    responses=error_responses(
        401,
        403,
        422,
        described={404: NOT_FOUND, 409: "The case is under way, or the inspection closed"},
    ),
)
def delete_case(
    inspection_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, principal: PlanWriter
) -> Response:
    case_audit.delete_case(
        session, inspection_id=inspection_id, case_id=case_id, actor=principal.actor, now=utcnow()
    )
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return Response(status_code=204)


@router.get(
    "/{inspection_id}/audit",
    response_model=AuditSummary,
    summary="Progress, grades, stage due times and what is overdue",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def read_audit(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: PlanReader
) -> AuditSummary:
    inspection = inspections.get(session, inspection_id)
    return case_audit_report.summary(session, rules=rules, inspection=inspection, now=utcnow())


@router.get(
    "/{inspection_id}/audit.csv",
    summary="The findings as CSV for the inspection team (UTF-8 with BOM, London times)",
    response_class=Response,
    responses={
        200: {"content": {CSV_TYPE: {}}},
        **error_responses(401, 403, described={404: NOT_FOUND}),
    },
)
def export_audit(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: PlanReader
) -> Response:
    inspection = inspections.get(session, inspection_id)
    content = case_audit_report.export_csv(
        session,
        inspection_id=inspection_id,
        grades=rules.framework(inspection.framework).grades,
        zone=rules.zone,
    )
    filename = case_audit_report.csv_filename(utcnow(), rules.zone)
    return Response(
        content=content,
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{inspection_id}/audit/cases",
    response_model=AuditCasesPublic,
    summary="The cases named for audit, in the order entered",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def list_cases(
    inspection_id: uuid.UUID,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
    page: CursorPageDep,
) -> AuditCasesPublic:
    """The same cases as the audit's summary, as a list to page through."""
    inspections.get(session, inspection_id)
    found, next_cursor = keyset(
        case_audit.list_cases(session, inspection_id),
        page=page,
        key=lambda case: (microseconds(case.created_at), case.reference, str(case.id)),
        kinds=(int, str, str),
    )
    return AuditCasesPublic(
        items=case_audit_report.public_cases(session, rules, found), next_cursor=next_cursor
    )
