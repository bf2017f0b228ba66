"""An inspection's tasks: list with filters, read, change, comment, add ad hoc."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep
from service.db import utcnow
from service.plan import tasks
from service.plan.definitions import Category
from service.plan.schemas import (
    CommentCreate,
    CommentPublic,
    TaskCreate,
    TaskDetail,
    TaskList,
    TaskUpdate,
)

router = APIRouter(prefix="/api/v1/inspections/{inspection_id}/tasks", tags=["tasks"])

CHANGED_AT_ONCE = "the tasks changed at the same moment; try again"
NOT_FOUND = "No such inspection or task"


@router.get(
    "",
    response_model=TaskList,
    summary="The plan's tasks: overdue first, then by due time, then in the plan's order",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def list_tasks(
    inspection_id: uuid.UUID,
    session: ReadSessionDep,
    rules: RulesDep,
    _: PlanReader,
    page: CursorPageDep,
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
        limit=page.limit,
        cursor=page.cursor,
    )


@router.get(
    "/{task_id}",
    response_model=TaskDetail,
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def read_task(
    inspection_id: uuid.UUID, task_id: uuid.UUID, session: ReadSessionDep, _: PlanReader
) -> TaskDetail:
    return tasks.read(session, inspection_id, task_id, now=utcnow())


@router.patch(
    "/{task_id}",
    response_model=TaskDetail,
    summary="Change status, owner, due time (and an ad-hoc task's wording): only the fields sent",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "The inspection is closed"}
    ),
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
        changes=body,
        actor=principal.actor,
        now=now,
    )
    commit_or_conflict(session, CHANGED_AT_ONCE)
    nudge(request)
    return tasks.detail(session, task, now=now)


@router.post(
    "/{task_id}/comments",
    status_code=201,
    response_model=CommentPublic,
    summary="Comment on a task",
    responses=error_responses(
        401, 403, 422, described={404: NOT_FOUND, 409: "The inspection is closed"}
    ),
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
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return CommentPublic(at=comment.at, author=comment.author, text=comment.text)


@router.post(
    "",
    status_code=201,
    response_model=TaskDetail,
    summary="Add an ad-hoc task",
    responses=error_responses(
        401,
        403,
        422,
        described={
            404: NOT_FOUND,
            409: "The key is taken (`task_id` names its task) or the inspection is closed",
        },
    ),
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
    commit_or_conflict(session, CHANGED_AT_ONCE)
    nudge(request)
    response.headers["Location"] = f"/api/v1/inspections/{inspection_id}/tasks/{task.id}"
    return tasks.detail(session, task, now=now)
