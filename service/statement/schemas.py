"""What the statement-of-action routes take and answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.request_models import Line, Link, RequestBody
from service.statement.service import Statement


class DraftRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Written statement of action, February 2016",
                    "draft_url": "https://intranet.example.org/docs/wsoa-draft-3.docx",
                    "notes": "Draft 3 after the improvement board's comments",
                }
            ]
        },
    )

    title: Line | None = Field(default=None, description="Defaults to the statement's title")
    draft_url: Link | None = Field(default=None, description="Where the draft document is")
    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None


class ApproveRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "approved_by": "Cabinet",
                    "approved_on": "2016-02-09",
                    "meeting": "Cabinet, 9 February 2016",
                }
            ]
        },
    )

    approved_by: Line = Field(description="Who approved it (a person, a board or Cabinet)")
    approved_on: date
    meeting: Line = Field(description="The meeting that approved it")


class PublishRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "published_on": "2016-02-12",
                    "url": "https://www.example.org/childrens-services/ofsted-action-statement",
                }
            ]
        },
    )

    published_on: date
    url: Link = Field(description="Where the public reads it")


class DeadlinePublic(BaseModel):
    due: date
    working_days: int
    met_on: date | None
    working_days_left: int | None = Field(
        description="From today to the due date (negative once past); null once met"
    )


class StatementPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": "approved",
                    "title": "Written statement of action",
                    "draft_url": "https://intranet.example.org/docs/wsoa-draft-3.docx",
                    "notes": None,
                    "approved_by": "Cabinet",
                    "approved_on": "2016-02-09",
                    "meeting": "Cabinet, 9 February 2016",
                    "published_on": None,
                    "url": None,
                    "updated_at": "2016-02-09T18:30:00Z",
                    "updated_by": "user:hlamb",
                    "deadline": {
                        "due": "2016-03-11",
                        "working_days": 70,
                        "met_on": None,
                        "working_days_left": 23,
                    },
                }
            ]
        }
    )

    stage: Literal["none", "draft", "approved", "published"]
    title: str | None
    draft_url: str | None
    notes: str | None
    approved_by: str | None
    approved_on: date | None
    meeting: str | None
    published_on: date | None
    url: str | None
    updated_at: datetime | None
    updated_by: str | None
    deadline: DeadlinePublic | None = Field(
        description="The framework's `action_statement` deadline"
    )


def public(statement: Statement) -> StatementPublic:
    row, deadline = statement.row, statement.deadline
    return StatementPublic(
        stage=row.stage if row is not None else "none",  # type: ignore[arg-type]
        title=row.title if row else None,
        draft_url=row.draft_url if row else None,
        notes=row.notes if row else None,
        approved_by=row.approved_by if row else None,
        approved_on=row.approved_on if row else None,
        meeting=row.approved_at_meeting if row else None,
        published_on=row.published_on if row else None,
        url=row.published_url if row else None,
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
        deadline=DeadlinePublic(
            due=deadline.due,
            working_days=deadline.working_days,
            met_on=deadline.met_on,
            working_days_left=statement.working_days_left,
        )
        if deadline is not None
        else None,
    )
