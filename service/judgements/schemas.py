"""What the judgements routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.judgements.service import MAX_JUDGEMENTS, Judged
from service.request_models import RequestBody

Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class JudgementsPut(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "judgements": {
                        "help_and_protection": "inadequate",
                        "looked_after": "requires_improvement",
                        "adoption": "good",
                        "care_leavers": "requires_improvement",
                        "leadership": "inadequate",
                        "overall": "inadequate",
                    }
                }
            ]
        },
    )

    judgements: dict[Text64, Text64] = Field(
        max_length=MAX_JUDGEMENTS,
        description="Judgement key to grade, as the framework lists them (`GET "
        "/api/v1/frameworks/{key}`, `judgements`); `overall` is the report's overall grade. "
        "A key left out is removed.",
    )


class JudgementPublic(BaseModel):
    key: str
    label: str
    grade: str | None = Field(description="Null until recorded")
    key_judgement: bool
    part_of: str | None = Field(description="The key judgement a graded sub-judgement belongs to")


class OverallPublic(BaseModel):
    label: str
    grade: str | None = Field(description="Null until the rule or the report decides it")
    reason: str


class JudgementsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "judgements": [
                        {
                            "key": "help_and_protection",
                            "label": "The experiences and progress of children who need help "
                            "and protection",
                            "grade": "inadequate",
                            "key_judgement": True,
                            "part_of": None,
                        }
                    ],
                    "overall": {
                        "label": "Overall effectiveness",
                        "grade": "inadequate",
                        "reason": "Inadequate in any key judgement makes the overall judgement "
                        "inadequate.",
                    },
                    "scale": ["outstanding", "good", "requires_improvement", "inadequate"],
                    "recorded_at": "2026-12-18T14:05:00Z",
                    "recorded_by": "user:hlamb",
                }
            ]
        }
    )

    judgements: list[JudgementPublic]
    overall: OverallPublic
    scale: list[str] = Field(description="The grades, best first")
    recorded_at: datetime | None
    recorded_by: str | None


def public(judged: Judged) -> JudgementsPublic:
    """The judgements as the API returns them (and a webhook carries them)."""
    rules = judged.framework.judgements
    items = rules.judgements if rules is not None else []
    return JudgementsPublic(
        judgements=[
            JudgementPublic(
                key=item.key,
                label=item.label,
                grade=judged.grades.get(item.key),
                key_judgement=item.key_judgement,
                part_of=item.part_of,
            )
            for item in items
        ],
        overall=OverallPublic(
            label=rules.overall_label if rules is not None else "Overall effectiveness",
            grade=judged.overall.grade,
            reason=judged.overall.reason,
        ),
        scale=list(rules.scale) if rules is not None else [],
        recorded_at=judged.recorded_at,
        recorded_by=judged.recorded_by,
    )
