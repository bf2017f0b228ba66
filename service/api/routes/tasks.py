"""An inspection's tasks: list with filters, read, change, comment, add ad hoc."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep, nudge
from service.db import utcnow
from service.errors import Conflict
from service.plan import tasks
from service.plan.tasks import (
    CommentCreate,
    CommentPublic,
    TaskCreate,
    TaskDetail,
    TaskList,
    TaskUpdate,
)
from service.plan.templates import Category

router = APIRouter(prefix="/api/v1/inspections/{inspection_id}/tasks", tags=["tasks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The API key lacks the scope"},
    404: {"description": "No such inspection or task"},
    422: {"description": "Bad input; `detail[].loc` names the field"},
}
CLOSED = {409: {"description": "The inspection is closed"}}


def _committed(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the tasks changed at the same moment; try again") from exc


@router.get(
    "",
    response_model=TaskList,
    summary="The plan's tasks: overdue first, then by due time, then in the plan's order",
    responses=ERRORS,
)
def list_tasks(
    inspection_id: uuid.UUID,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
    owner: Annotated[str | None, Query(max_length=64, description="A contact id")] = None,
    status: Annotated[
        list[str] | None,
        Query(description="to_do, in_progress, done, blocked; repeat or comma-separate"),
    ] = None,
    category: Category | None = None,
    overdue: bool | None = None,
) -> TaskList:
    """`warnings` name every role no one holds, tasks without an owner and tasks held by
    inactive people, whatever the filters."""
    return tasks.list_tasks(
        session,
        inspection_id,
        rules=rules,
        now=utcnow(),
        owner=owner,
        status=status,
        category=category,
        overdue=overdue,
    )


@router.get("/{task_id}", response_model=TaskDetail, responses=ERRORS)
def read_task(
    inspection_id: uuid.UUID, task_id: uuid.UUID, session: ReadSessionDep, _: PlanReader
) -> TaskDetail:
    return tasks.read(session, inspection_id, task_id, now=utcnow())


@router.patch(
    "/{task_id}",
    response_model=TaskDetail,
    summary="Change status, owner, due time (and an ad-hoc task's wording): only the fields sent",
    responses={**ERRORS, **CLOSED},
)
def update_task(
    request: Request,
    inspection_id: uuid.UUID,
    task_id: uuid.UUID,
    body: TaskUpdate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> TaskDetail:
    """`blocked` needs `blocked_reason`; leaving it clears the reason. `done` records who and
    when; reopening clears them. `owner_contact_id` pins the task to an active contact (`null`
    hands it back to its role). `due_at` works on any task and stops it following the timetable
    (`due_rule` becomes null)."""
    now = utcnow()
    task = tasks.update(
        session,
        rules=rules,
        inspection_id=inspection_id,
        task_id=task_id,
        changes=body.model_dump(exclude_unset=True),
        actor=principal.actor,
        now=now,
    )
    _committed(session)
    nudge(request)
    return tasks.detail(session, task, now=now)


@router.post(
    "/{task_id}/comments",
    status_code=201,
    response_model=CommentPublic,
    summary="Comment on a task",
    responses={**ERRORS, **CLOSED},
)
def comment_on_task(
    inspection_id: uuid.UUID,
    task_id: uuid.UUID,
    body: CommentCreate,
    session: SessionDep,
    principal: PlanWriter,
) -> CommentPublic:
    comment = tasks.add_comment(
        session,
        inspection_id=inspection_id,
        task_id=task_id,
        text=body.text,
        actor=principal.actor,
        now=utcnow(),
    )
    _committed(session)
    return CommentPublic(at=comment.at, author=comment.author, text=comment.text)


@router.post(
    "",
    status_code=201,
    response_model=TaskDetail,
    summary="Add an ad-hoc task",
    responses={
        **ERRORS,
        409: {
            "description": "The key is taken (`task_id` names its task) or the inspection is closed"
        },
    },
)
def add_task(
    request: Request,
    inspection_id: uuid.UUID,
    body: TaskCreate,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
    response: Response,
) -> TaskDetail:
    """Without `key`, one is made from the title. `depends_on` names existing tasks only, so no
    dependency cycle can form. Without an owner the task goes to the steering-group lead."""
    now = utcnow()
    task = tasks.create(
        session,
        rules=rules,
        inspection_id=inspection_id,
        request=body,
        actor=principal.actor,
        now=now,
    )
    _committed(session)
    nudge(request)
    response.headers["Location"] = f"/api/v1/inspections/{inspection_id}/tasks/{task.id}"
    return tasks.detail(session, task, now=now)
