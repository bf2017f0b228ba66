"""The 18-case audit: enter the cases the lead inspector names, record each one's progress, see
where the audit stands and export the findings for the inspection team."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep
from service.db import utcnow
from service.errors import Conflict
from service.inspections import service as inspections
from service.plan import audit, audit_report
from service.plan.audit import CasesRejected, NewCase
from service.plan.audit_report import AuditCasePublic, AuditSummary
from service.plan.models import AuditStatus
from service.request_models import RequestBody

router = APIRouter(prefix="/api/v1/inspections", tags=["audit"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The API key lacks the scope"},
    404: {"description": "No such inspection or case"},
    409: {"description": "The inspection is closed"},
    422: {"description": "Bad input; `detail[].loc` names the field"},
}
CSV_TYPE = "text/csv; charset=utf-8"


class CaseIn(RequestBody):
    reference: str = Field(
        description="The case number only, never a name: " + audit.REFERENCE_RULE,
        examples=["CIN-004512"],
    )
    auditor_contact_id: str | None = Field(default=None, max_length=64)
    reauditor_contact_id: str | None = Field(default=None, max_length=64)


class CasesIn(RequestBody):
    cases: list[CaseIn] = Field(min_length=1, max_length=audit.MAX_CASES)


class CaseUpdate(RequestBody):
    """Only the fields sent change; `null` clears one (where the status allows it)."""

    auditor_contact_id: str | None = Field(default=None, max_length=64)
    reauditor_contact_id: str | None = Field(default=None, max_length=64)
    status: AuditStatus | None = Field(
        default=None,
        description="One step on, or one step back to correct a mistake: not_started, audited, "
        "re_audited, findings_reported",
    )
    grade: str | None = Field(default=None, max_length=64, description="On the framework's scale")
    findings: str | None = Field(default=None, description="Up to 2000 characters")

    @model_validator(mode="after")
    def _something(self) -> CaseUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "send at least one of: auditor_contact_id, reauditor_contact_id, status, grade, "
                "findings"
            )
        return self


class CasesAdded(BaseModel):
    cases: list[AuditCasePublic]
    remaining: int
    """How many more cases the framework's count leaves room for."""


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


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "the audit changed at the same moment (the same reference entered twice?); "
            "reload it and try again"
        ) from exc


@router.post(
    "/{inspection_id}/audit/cases",
    status_code=201,
    response_model=CasesAdded,
    summary="Enter the cases the lead inspector named: all of them or none",
    responses={
        **ERRORS,
        409: {"description": "The inspection is closed, or the same case was entered at once"},
        422: {
            "description": "Nothing was added; `detail[].loc` is `[body, cases, index, field]` "
            "for each problem, `[body, cases]` for the list as a whole (e.g. too many cases)"
        },
    },
)
def add_cases(
    inspection_id: uuid.UUID,
    body: CasesIn,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> Any:
    now = utcnow()
    try:
        added = audit.add_cases(
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
    names = audit_report.contact_names(session, added.cases)
    reply = CasesAdded(
        cases=[AuditCasePublic.of(row, names) for row in added.cases], remaining=added.remaining
    )
    _commit(session)
    return reply


@router.patch(
    "/{inspection_id}/audit/cases/{case_id}",
    response_model=AuditCasePublic,
    summary="Assign auditors, move the status, grade, record findings",
    responses=ERRORS,
)
def update_case(
    inspection_id: uuid.UUID,
    case_id: uuid.UUID,
    body: CaseUpdate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> AuditCasePublic:
    case = audit.update_case(
        session,
        rules=rules,
        inspection_id=inspection_id,
        case_id=case_id,
        changes=body.model_dump(exclude_unset=True),
        actor=principal.actor,
        now=utcnow(),
    )
    public = AuditCasePublic.of(case, audit_report.contact_names(session, [case]))
    _commit(session)
    return public


@router.delete(
    "/{inspection_id}/audit/cases/{case_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a mistyped case (only while not started)",
    responses={**ERRORS, 409: {"description": "The case is under way, or the inspection closed"}},
)
def delete_case(
    inspection_id: uuid.UUID, case_id: uuid.UUID, session: SessionDep, principal: PlanWriter
) -> Response:
    audit.delete_case(
        session, inspection_id=inspection_id, case_id=case_id, actor=principal.actor, now=utcnow()
    )
    _commit(session)
    return Response(status_code=204)


@router.get(
    "/{inspection_id}/audit",
    response_model=AuditSummary,
    summary="Progress, grades, stage due times and what is overdue",
    responses={k: v for k, v in ERRORS.items() if k != 409},
)
def read_audit(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: PlanReader
) -> AuditSummary:
    inspection = inspections.get(session, inspection_id)
    return audit_report.summary(session, rules=rules, inspection=inspection, now=utcnow())


@router.get(
    "/{inspection_id}/audit.csv",
    summary="The findings as CSV for the inspection team (UTF-8 with BOM, London times)",
    response_class=Response,
    responses={
        200: {"content": {CSV_TYPE: {}}},
        **{k: v for k, v in ERRORS.items() if k not in (409, 422)},
    },
)
def export_audit(
    inspection_id: uuid.UUID, session: ReadSessionDep, rules: RulesDep, _: PlanReader
) -> Response:
    inspections.get(session, inspection_id)
    content = audit_report.export_csv(session, inspection_id=inspection_id, zone=rules.zone)
    filename = audit_report.csv_filename(utcnow(), rules.zone)
    return Response(
        content=content,
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
