"""What the history route answers."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from service.history import Outcome, Past
from service.paging import CursorList


class DeadlineOutcomePublic(BaseModel):
    key: str
    label: str
    due: date
    met_on: date | None
    outcome: Outcome


class PastPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "inspection_id": "3f1c2a9e-5d1b-4d6e-9a35-0d9b8f6b2c11",
                    "framework": "sif-2013",
                    "notified_at": "2015-09-14T09:30:00Z",
                    "status": "closed",
                    "on_site_start": "2015-09-15",
                    "inspection_end": "2015-10-08",
                    "judgements": {"help_and_protection": "inadequate", "leadership": "inadequate"},
                    "overall": "inadequate",
                    "people": 412,
                    "seconds_until_steering_group_acknowledged": 540.0,
                    "seconds_until_everyone_reached": 1260.5,
                    "deadlines": [
                        {
                            "key": "publication",
                            "label": "Inspection report published",
                            "due": "2015-11-19",
                            "met_on": "2015-11-27",
                            "outcome": "missed",
                        }
                    ],
                }
            ]
        }
    )

    inspection_id: uuid.UUID
    framework: str
    notified_at: datetime
    status: str
    on_site_start: date | None
    inspection_end: date | None
    judgements: dict[str, str] = Field(description="Judgement key to grade, as recorded")
    overall: str | None = Field(description="What the framework's overall rule gives")
    people: int = Field(description="People in its communication tree")
    seconds_until_steering_group_acknowledged: float | None
    seconds_until_everyone_reached: float | None
    deadlines: list[DeadlineOutcomePublic]


class HistoryPublic(CursorList[PastPublic]):
    """Newest call first."""


def public(past: Past) -> PastPublic:
    return PastPublic(
        inspection_id=past.inspection.id,
        framework=past.inspection.framework,
        notified_at=past.inspection.notified_at,
        status=past.status,
        on_site_start=past.on_site_start,
        inspection_end=past.inspection_end,
        judgements=past.judgements,
        overall=past.overall,
        people=past.people,
        seconds_until_steering_group_acknowledged=past.steering_group_seconds,
        seconds_until_everyone_reached=past.everyone_reached_seconds,
        deadlines=[
            DeadlineOutcomePublic(
                key=d.key,
                label=d.label,
                due=d.due,
                met_on=d.met_on,
                outcome=d.outcome,
            )
            for d in past.deadlines
        ],
    )
