"""Recording a report's judgements: all of them at once (the report gives them together), on
the timeline, and only when something changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service import timeline
from service.errors import Conflict
from service.frameworks import OVERALL, Framework, JudgementRules
from service.inspections.service import get, require_open
from service.judgements import overall
from service.judgements.models import JudgementRecord
from service.rules import Rules
from service.webhooks import service as webhooks

MAX_JUDGEMENTS = 40
"""More keys than any framework lists; a longer request is refused before it is looked at."""


@dataclass(frozen=True)
class Judged:
    framework: Framework
    grades: dict[str, str]
    overall: overall.Overall
    recorded_at: datetime | None
    recorded_by: str | None


def rules_of(framework: Framework) -> JudgementRules:
    if framework.judgements is None:
        raise Conflict(
            f"framework {framework.key!r} lists no judgements; add a `judgements` section to "
            "its file to record them"
        )
    return framework.judgements


def read(session: Session, *, rules: Rules, inspection_id: uuid.UUID) -> Judged:
    inspection = get(session, inspection_id)
    framework = rules.framework(inspection.framework)
    records = list(
        session.exec(
            select(JudgementRecord)
            .where(JudgementRecord.inspection_id == inspection_id)
            .order_by(col(JudgementRecord.key))
        ).all()
    )
    grades = {record.key: record.grade for record in records}
    latest = max(records, key=lambda record: record.recorded_at, default=None)
    if framework.judgements is None:
        decided = overall.Overall(None, "The framework lists no judgements.")
    else:
        decided = overall.decide(framework.judgements, grades)
    return Judged(
        framework=framework,
        grades=grades,
        overall=decided,
        recorded_at=latest.recorded_at if latest else None,
        recorded_by=latest.recorded_by if latest else None,
    )


def record(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    grades: dict[str, str],
    actor: str,
    now: datetime,
) -> tuple[Judged, bool]:
    """Replace the inspection's judgements with `grades` (a key left out is removed: the report
    is recorded whole, and a correction is a second PUT). True when anything changed."""
    inspection = require_open(session, inspection_id, what="its judgements")
    framework = rules.framework(inspection.framework)
    judgement_rules = rules_of(framework)
    overall.check(judgement_rules, grades)
    existing = {
        record.key: record
        for record in session.exec(
            select(JudgementRecord).where(JudgementRecord.inspection_id == inspection_id)
        ).all()
    }
    before = {key: record.grade for key, record in existing.items()}
    if before == grades:
        return read(session, rules=rules, inspection_id=inspection_id), False
    for key, record in existing.items():
        if key not in grades:
            session.delete(record)
    for key, grade in grades.items():
        record = existing.get(key)
        if record is None:
            session.add(
                JudgementRecord(
                    inspection_id=inspection_id,
                    key=key,
                    grade=grade,
                    recorded_at=now,
                    recorded_by=actor,
                )
            )
        elif record.grade != grade:
            record.grade, record.recorded_at, record.recorded_by = grade, now, actor
            session.add(record)
    decided = overall.decide(judgement_rules, grades)
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="judgements_recorded",
        summary=_summary(judgement_rules, decided),
        data={"judgements": dict(grades), "before": before, OVERALL: decided.grade},
        now=now,
    )
    session.flush()
    recorded = read(session, rules=rules, inspection_id=inspection_id)
    webhooks.emit(
        session,
        "inspection.judgements_recorded",
        lambda: _as_the_api_returns(inspection_id, recorded),
        inspection_id,
        now=now,
    )
    return recorded, True


def _as_the_api_returns(inspection_id: uuid.UUID, judged: Judged) -> dict[str, object]:
    from service.judgements.schemas import public  # the schemas module imports this one

    return {"inspection_id": str(inspection_id), **public(judged).model_dump(mode="json")}


def _summary(rules: JudgementRules, decided: overall.Overall) -> str:
    if decided.grade is None:
        return f"Judgements recorded; {rules.overall_label.lower()} not yet known"
    grade = decided.grade.replace("_", " ")
    return f"Judgements recorded: {rules.overall_label.lower()} {grade}"
