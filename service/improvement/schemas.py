"""What the improvement routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session, col, select

from service.contacts.models import Contact
from service.improvement.meeting_days import MAX_MEETINGS
from service.improvement.service import Pathway
from service.request_models import RequestBody

RoleKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class BoardPublic(BaseModel):
    name: str
    members: list[str] = Field(description="Plan roles; each role's person is reminded")


class MeetingPublic(BaseModel):
    id: int
    number: int = Field(description="1 for the board's first meeting")
    starts_at: datetime
    status: str = Field(description="`scheduled`; withdrawn pathways' meetings are `cancelled`")
    report_task_id: str | None = Field(description="The progress report due before it")


class PathwayTaskPublic(BaseModel):
    id: str
    key: str
    title: str
    owner_role: str | None
    owner_contact_id: str | None
    owner_name: str | None
    status: str
    due_at: datetime | None
    reminder_rule: str | None


class ImprovementPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "opened_at": "2027-01-26T14:05:00Z",
                    "grade": "inadequate",
                    "board": {
                        "name": "Improvement board",
                        "members": [
                            "improvement_board_chair",
                            "dcs_office",
                            "lead_member",
                            "partnerships_lead",
                        ],
                    },
                    "meetings": [
                        {
                            "id": 1,
                            "number": 1,
                            "starts_at": "2027-02-23T10:00:00Z",
                            "status": "scheduled",
                            "report_task_id": "6f1c1f0e-8f7e-4a51-9d43-0e6b5f1f2a10",
                        }
                    ],
                    "tasks": [
                        {
                            "id": "6f1c1f0e-8f7e-4a51-9d43-0e6b5f1f2a10",
                            "key": "improvement-report-1",
                            "title": "Progress report to the improvement board meeting of "
                            "Tuesday 23 February 2027, 10:00",
                            "owner_role": "dcs_office",
                            "owner_contact_id": "dcs",
                            "owner_name": "Folasade Adeyemi",
                            "status": "to_do",
                            "due_at": "2027-02-16T17:00:00Z",
                            "reminder_rule": "2 working days before",
                        }
                    ],
                }
            ]
        }
    )

    opened_at: datetime
    grade: str = Field(description="The overall grade that opened the pathway")
    board: BoardPublic | None = Field(description="Null when the framework lists no board")
    meetings: list[MeetingPublic] = Field(
        description=f"Scheduled meetings, soonest first (at most {MAX_MEETINGS})"
    )
    tasks: list[PathwayTaskPublic] = Field(
        description="The pathway's plan tasks (category `improvement`), by due time; change "
        "them through `/api/v1/inspections/{id}/tasks/{task_id}`"
    )


class MeetingMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="The meeting's id")
    starts_at: AwareDatetime = Field(description="Its new time, with an offset; in the future")


class BoardPut(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "members": [
                        "improvement_board_chair",
                        "dcs_office",
                        "lead_member",
                        "partnerships_lead",
                    ],
                    "meetings": [{"id": 1, "starts_at": "2027-02-24T14:00:00+00:00"}],
                }
            ]
        },
    )

    members: list[RoleKey] | None = Field(
        default=None,
        min_length=1,
        max_length=30,
        description="The board's members as plan roles (`GET /api/v1/roles`); left out: unchanged",
    )
    meetings: list[MeetingMove] = Field(
        default_factory=list,
        max_length=MAX_MEETINGS,
        description="Meetings to move; each moves its reminder and its progress report",
    )


def public(session: Session, pathway: Pathway) -> ImprovementPublic:
    owners = {task.owner_contact_id for task in pathway.tasks if task.owner_contact_id}
    names = dict(
        session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(owners))).all()
    )
    board = pathway.board
    return ImprovementPublic(
        opened_at=board.opened_at,
        grade=board.grade,
        board=BoardPublic(name=board.name, members=list(board.members))
        if pathway.has_board
        else None,
        meetings=[
            MeetingPublic(
                id=meeting.id or 0,
                number=meeting.number,
                starts_at=meeting.starts_at,
                status=meeting.status,
                report_task_id=str(meeting.report_task_id) if meeting.report_task_id else None,
            )
            for meeting in pathway.meetings
        ],
        tasks=[
            PathwayTaskPublic(
                id=str(task.id),
                key=task.key,
                title=task.title,
                owner_role=task.owner_role,
                owner_contact_id=task.owner_contact_id,
                owner_name=names.get(task.owner_contact_id or ""),
                status=task.status,
                due_at=task.due_at,
                reminder_rule=task.reminder_rule,
            )
            for task in pathway.tasks
        ],
    )
