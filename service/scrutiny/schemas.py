"""What a committee's report says, as the API and the pages show it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from service.actions.models import Rag
from service.paging import CursorList
from service.request_models import RequestBody
from service.scrutiny.models import CommitteeKind


class CommitteeCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Children's Services Scrutiny", "kind": "scrutiny"}]
        }
    )

    name: str = Field(max_length=400, description="Unique; up to 200 characters")
    kind: CommitteeKind = CommitteeKind.scrutiny


class CommitteePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "Children's Services Scrutiny",
                    "kind": "scrutiny",
                    "created_at": "2026-03-02T09:00:00Z",
                    "created_by": "user:hoyelaran",
                }
            ]
        }
    )

    id: int
    name: str
    kind: CommitteeKind
    created_at: datetime
    created_by: str


class CommitteesPublic(CursorList[CommitteePublic]):
    """By name."""


class MeetingCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"committee_id": 1, "meets_on": "2026-04-14"}]}
    )

    committee_id: int = Field(ge=1, le=2**31 - 1)
    meets_on: date


class MeetingPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "inspection_id": "6f1c2a3e-8d4b-4c1e-9a7f-2b5d0e9c4a11",
                    "committee_id": 1,
                    "committee": "Children's Services Scrutiny",
                    "kind": "scrutiny",
                    "meets_on": "2026-04-14",
                }
            ]
        }
    )

    id: int
    inspection_id: uuid.UUID
    committee_id: int
    committee: str
    kind: CommitteeKind
    meets_on: date


class MeetingsPublic(CursorList[MeetingPublic]):
    """Oldest first."""


class ActionLine(BaseModel):
    id: int
    plan: str
    title: str
    agency: str
    owner: str | None
    due_on: date | None
    done_on: date | None
    rag: Rag
    rag_reason: str | None


class RagCounts(BaseModel):
    red: int
    amber: int
    green: int


class CompletedSoFar(BaseModel):
    on: date
    actions: int
    """Actions in the plans by the end of that day."""
    completed: int
    """Of them, done by the end of that day."""


class ScrutinyReport(BaseModel):
    """Progress between the committee's last meeting on these plans and this one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meeting": MeetingPublic.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
                    "since": "2026-03-10",
                    "actions": 24,
                    "new": [],
                    "completed": [
                        {
                            "id": 7,
                            "plan": "Help and protection",
                            "title": "Audit 20 child-in-need plans a month",
                            "agency": "Children's services",
                            "owner": "Tomasz Wójcik",
                            "due_on": "2026-04-30",
                            "done_on": "2026-04-02",
                            "rag": "green",
                            "rag_reason": None,
                        }
                    ],
                    "overdue": [],
                    "rag": {"red": 1, "amber": 5, "green": 18},
                    "over_time": [{"on": "2026-03-10", "actions": 24, "completed": 3}],
                    "made_at": "2026-04-13T16:00:00Z",
                }
            ]
        }
    )

    meeting: MeetingPublic
    since: date | None
    """The same committee's previous meeting on these plans; null: since the plans began."""
    actions: int
    """In the plans by the meeting day."""
    new: list[ActionLine]
    """Added after `since`, up to the meeting day."""
    completed: list[ActionLine]
    """Done after `since`, up to the meeting day."""
    overdue: list[ActionLine]
    """Due before the meeting day and not done by it."""
    rag: RagCounts
    """As the actions stand when the report is made (a RAG status keeps no history)."""
    over_time: list[CompletedSoFar]
    """Day by day from the first action to the meeting (week by week beyond two years)."""
    made_at: datetime
