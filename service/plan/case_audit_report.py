"""Where the 18-case audit stands, and the findings as a spreadsheet for the inspection team.

The stages' due times are the due times of the plan tasks the template's `audit:` section names,
so they follow the timetable as those tasks do (overrides, closure days); a plan without that
section gives no due times. A stage is overdue once its due time has passed while fewer cases
than the framework's count have reached it: cases not yet entered count as not started."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from service import spreadsheet
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.plan.case_audit import STAGES, list_cases
from service.plan.models import AuditCase, AuditStatus, Task
from service.plan.schemas import (
    AuditCasePublic,
    AuditDue,
    AuditProgress,
    AuditSummary,
    Moderation,
    ModerationSummary,
)

if TYPE_CHECKING:
    from service.rules import Rules
UNGRADED = "ungraded"
TIMED_STAGES = (AuditStatus.audited, AuditStatus.re_audited, AuditStatus.findings_reported)
CSV_COLUMNS = (
    "reference",
    "status",
    "first_tier_grade",
    "grade",
    "moderation",
    "findings",
    "strengths",
    "areas_for_improvement",
    "good_practice",
    "auditor",
    "re-auditor",
    "audited_at",
    "re_audited_at",
    "reported_at",
)


def contact_names(session: Session, cases: Iterable[AuditCase]) -> dict[str, str]:
    """Names of everyone auditing, active or not (contacts are never deleted)."""
    ids = {
        value
        for case in cases
        for value in (case.auditor_contact_id, case.reauditor_contact_id)
        if value
    }
    if not ids:
        return {}
    rows = session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(ids))).all()
    return dict(rows)


def public_cases(session: Session, rules: Rules, cases: list[AuditCase]) -> list[AuditCasePublic]:
    """Cases of one inspection as the API shows them, moderation included."""
    if not cases:
        return []
    inspection = session.get(Inspection, cases[0].inspection_id)
    assert inspection is not None
    grades = rules.framework(inspection.framework).grades
    names = contact_names(session, cases)
    return [AuditCasePublic.of(case, names, grades) for case in cases]


def moderation(cases: Iterable[AuditCase], grades: Sequence[str]) -> ModerationSummary:
    """First tier against senior re-audit, over the cases graded by both."""
    matrix = {first: dict.fromkeys(grades, 0) for first in grades}
    outcomes = {"agreed": 0, "raised": 0, "lowered": 0}
    for case in cases:
        moved = Moderation.of(case.first_tier_grade, case.grade, grades)
        if moved is None:
            continue
        outcomes[moved.outcome] += 1
        matrix[case.first_tier_grade or ""][case.grade or ""] += 1
    compared = sum(outcomes.values())
    return ModerationSummary(
        compared=compared,
        **outcomes,
        agreement_percent=round(100 * outcomes["agreed"] / compared) if compared else None,
        matrix=matrix,
    )


def stage_due(
    session: Session, rules: Rules, inspection: Inspection
) -> dict[AuditStatus, datetime | None]:
    dues: dict[AuditStatus, datetime | None] = {stage: None for stage in TIMED_STAGES}
    plan = rules.plans.get(inspection.framework)
    if plan is None or plan.audit is None:
        return dues
    keys = {AuditStatus(stage): key for stage, key in plan.audit.model_dump().items()}
    rows = session.exec(
        select(Task.key, Task.due_at).where(
            Task.inspection_id == inspection.id, col(Task.key).in_(set(keys.values()))
        )
    ).all()
    by_key = dict(rows)
    for stage, key in keys.items():
        dues[stage] = by_key.get(key)
    return dues


def summary(
    session: Session, *, rules: Rules, inspection: Inspection, now: datetime
) -> AuditSummary:
    framework = rules.framework(inspection.framework)
    cases = list_cases(session, inspection.id)
    names = contact_names(session, cases)
    counts = {stage: 0 for stage in STAGES}
    by_grade = {grade: 0 for grade in framework.grades}
    by_grade[UNGRADED] = 0
    for case in cases:
        counts[AuditStatus(case.status)] += 1
        key = case.grade if case.grade in by_grade and case.grade != UNGRADED else UNGRADED
        by_grade[key] += 1
    dues = stage_due(session, rules, inspection)
    needed = max(framework.audit_cases, len(cases))
    overdue = []
    for stage in TIMED_STAGES:
        due = dues[stage]
        reached = sum(
            n for status, n in counts.items() if STAGES.index(status) >= STAGES.index(stage)
        )
        if due is not None and due <= now and reached < needed:
            overdue.append(stage)
    return AuditSummary(
        expected=framework.audit_cases,
        cases=[AuditCasePublic.of(case, names, framework.grades) for case in cases],
        progress=AuditProgress(
            not_started=counts[AuditStatus.not_started],
            audited=counts[AuditStatus.audited],
            re_audited=counts[AuditStatus.re_audited],
            findings_reported=counts[AuditStatus.findings_reported],
            total=len(cases),
        ),
        by_grade=by_grade,
        moderation=moderation(cases, framework.grades),
        due=AuditDue(
            audited=dues[AuditStatus.audited],
            re_audited=dues[AuditStatus.re_audited],
            findings_reported=dues[AuditStatus.findings_reported],
        ),
        overdue=overdue,
    )


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def moderation_text(moved: Moderation | None) -> str:
    if moved is None:
        return ""
    if moved.outcome == "agreed":
        return "agreed"
    return f"{moved.outcome} {abs(moved.steps)} grade{'s' * (abs(moved.steps) != 1)}"


def export_csv(
    session: Session, *, inspection_id: uuid.UUID, grades: Sequence[str], zone: ZoneInfo
) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads the accents), CRLF rows, London times."""
    cases = list_cases(session, inspection_id)
    names = contact_names(session, cases)
    rows = [
        (
            case.reference,
            case.status,
            case.first_tier_grade,
            case.grade,
            moderation_text(Moderation.of(case.first_tier_grade, case.grade, grades)),
            case.findings,
            case.strengths,
            case.areas_for_improvement,
            case.good_practice,
            names.get(case.auditor_contact_id or "", case.auditor_contact_id),
            names.get(case.reauditor_contact_id or "", case.reauditor_contact_id),
            _local(case.audited_at, zone),
            _local(case.re_audited_at, zone),
            _local(case.reported_at, zone),
        )
        for case in cases
    ]
    return spreadsheet.write_csv(CSV_COLUMNS, rows, bom=True)


def csv_filename(now: datetime, zone: ZoneInfo) -> str:
    return f"audit-{now.astimezone(zone).date().isoformat()}.csv"
