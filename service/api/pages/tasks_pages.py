"""An inspection's tasks on the pages: the list with its filters, one task, marking done,
status, owner, comments and ad-hoc tasks; `/plan` finds the live or latest inspection's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from service.api.deps import ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.errors import commit_or_conflict
from service.api.pages.auth import CurrentUser
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.plan_shared import (
    PLAN_CHANGED,
    PlanManager,
    active_people,
    done,
    find_inspection,
    parse_id,
    people_items,
    sentence,
    title_of,
)
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections import service as inspections
from service.plan import tasks
from service.plan.definitions import Category
from service.plan.models import TaskStatus
from service.plan.schemas import MAX_COMMENT, TaskCreate, TaskPublic, TaskUpdate
from service.rules import Rules
from service.users import service as users
from service.users.models import User

router = page_router(tags=["plan pages"])

STATUS_LABELS = {
    TaskStatus.to_do.value: ("To do", "govuk-tag--grey"),
    TaskStatus.in_progress.value: ("In progress", "govuk-tag--blue"),
    TaskStatus.done.value: ("Done", "govuk-tag--green"),
    TaskStatus.blocked.value: ("Blocked", "govuk-tag--red"),
}
CATEGORY_LABELS = {c.value: c.value.replace("_", " ").capitalize() for c in Category}
STATUS_IDS = {"status": "status", "blocked_reason": "blocked-reason"}
ADD_IDS = {
    "title": "new-title",
    "description": "new-description",
    "category": "new-category",
    "owner_contact_id": "new-owner",
}
ADD_MESSAGES = {
    "title": "Enter the task's title, in 200 characters or fewer",
    "description": "Describe the task in 5000 characters or fewer",
    "category": "Select the task's category",
    "owner_contact_id": "Select who owns the task",
}


@router.get("/plan")
def plan_page(_: CurrentUser, session: ReadSessionDep) -> Response:
    """The plan of the live inspection, else of the latest one; with none yet, the roles."""
    chosen = inspections.live_inspection(session)
    if chosen is None:
        latest = inspections.list_inspections(session, limit=1)
        chosen = latest[0] if latest else None
    if chosen is None:
        return see_other("/roles")
    return see_other(f"/inspections/{chosen.id}/tasks")


def _filters(params: dict[str, str]) -> tuple[dict[str, Any], PageForm]:
    """The GET form's choices as list_tasks takes them; a bad one is an error at its field."""
    form = PageForm(
        values=dict(params),
        ids={
            "owner": "filter-owner",
            "status": "filter-status",
            "category": "filter-category",
            "overdue": "filter-overdue",
        },
    )
    chosen: dict[str, Any] = {}
    if params.get("owner"):
        chosen["owner"] = params["owner"]
    if params.get("status"):
        if params["status"] not in STATUS_LABELS:
            form.add("status", "Select a status from the list")
        else:
            chosen["status"] = [params["status"]]
    if params.get("category"):
        try:
            chosen["category"] = Category(params["category"])
        except ValueError:
            form.add("category", "Select a category from the list")
    if params.get("overdue"):
        if params["overdue"] not in ("yes", "no"):
            form.add("overdue", "Select whether to show overdue tasks only or none of them")
        else:
            chosen["overdue"] = params["overdue"] == "yes"
    return chosen, form


def _grouped(items: list[TaskPublic]) -> list[dict[str, Any]]:
    """By owner, in the order the list puts them (overdue first), so owners with overdue work
    come first."""
    groups: dict[str | None, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(
            item.owner_contact_id,
            {"name": item.owner_name or "No owner", "id": item.owner_contact_id, "tasks": []},
        )
        group["tasks"].append(item)
    for group in groups.values():
        group["overdue"] = sum(1 for task in group["tasks"] if task.overdue)
    return list(groups.values())


def _tasks_page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection_id: str,
    *,
    add_form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    params = {
        key: request.query_params.get(key, "").strip()
        for key in ("owner", "status", "category", "overdue")
    }
    now = utcnow()
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, "There is no such inspection.")
    chosen, filter_form = _filters(params)
    try:
        listed = tasks.list_tasks(session, inspection.id, rules=rules, now=now, **chosen)
    except InvalidInput as exc:
        filter_form.add(exc.field, sentence(exc.message))
        listed = tasks.list_tasks(session, inspection.id, rules=rules, now=now)
    everything = tasks.list_tasks(session, inspection.id, rules=rules, now=now)
    owners = sorted(
        {
            (item.owner_name or item.owner_contact_id, item.owner_contact_id)
            for item in everything.items
            if item.owner_contact_id
        },
    )
    closed = inspections.is_closed(session, inspection.id)
    people = active_people(session) if not closed else []
    form = add_form or filter_form
    if add_form is not None and filter_form.errors:
        add_form.errors = {**filter_form.errors, **add_form.errors}
    if filter_form.errors and status_code == 200:
        status_code = 422
    return render(
        request,
        "plan_tasks.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "groups": _grouped(listed.items),
            "shown": len(listed.items),
            "total": len(everything.items),
            "warnings": listed.warnings,
            "filters": params,
            "filtered": any(params.values()),
            "filter_form": filter_form,
            "owner_items": [{"value": "", "text": "Anyone", "selected": not params["owner"]}]
            + [
                {"value": cid, "text": name, "selected": cid == params["owner"]}
                for name, cid in owners
            ],
            "status_items": [{"value": "", "text": "Any status"}]
            + [
                {"value": key, "text": label, "selected": key == params["status"]}
                for key, (label, _) in STATUS_LABELS.items()
            ],
            "category_items": [{"value": "", "text": "Any category"}]
            + [
                {"value": key, "text": label, "selected": key == params["category"]}
                for key, label in CATEGORY_LABELS.items()
            ],
            "overdue_items": [
                {"value": "", "text": "Overdue or not"},
                {"value": "yes", "text": "Overdue only", "selected": params["overdue"] == "yes"},
                {"value": "no", "text": "Not overdue", "selected": params["overdue"] == "no"},
            ],
            "add_form": add_form or PageForm(ids={"owner_contact_id": "new-owner"}),
            "form": form,
            "add_category_items": [{"value": "", "text": "Choose a category"}]
            + [
                {
                    "value": key,
                    "text": label,
                    "selected": add_form is not None and add_form.value("category") == key,
                }
                for key, label in CATEGORY_LABELS.items()
            ],
            "add_owner_items": people_items(
                people,
                add_form.value("owner_contact_id") if add_form else None,
                blank="The steering-group lead",
            ),
            "closed": closed,
            "status_labels": STATUS_LABELS,
            "category_labels": CATEGORY_LABELS,
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/tasks")
def tasks_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, rules: RulesDep, inspection_id: str
) -> Response:
    return _tasks_page(request, session, rules, inspection_id)


def _task_page(
    request: Request,
    session: Session,
    inspection_id: str,
    task_id: str,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    found = parse_id(task_id)
    inspection = find_inspection(session, inspection_id)
    if inspection is None or found is None:
        return not_found(request, "There is no such task.")
    try:
        task = tasks.read(session, inspection.id, found, now=utcnow())
    except NotFound:
        return not_found(request, "There is no such task.")
    closed = inspections.is_closed(session, inspection.id)
    people = active_people(session) if not closed else []
    form = form or PageForm()
    chosen_status = form.value("status") or task.status
    return render(
        request,
        "plan_task.html",
        {
            "inspection": inspection,
            "inspection_title": title_of(inspection),
            "task": task,
            "form": form,
            "closed": closed,
            "status_labels": STATUS_LABELS,
            "category_labels": CATEGORY_LABELS,
            "chosen_status": chosen_status,
            "reason": form.value("blocked_reason")
            if "blocked_reason" in form.values
            else (task.blocked_reason or ""),
            "owner_items": people_items(
                people,
                form.value("owner_contact_id") or task.owner_contact_id,
                blank="Give it back to its role" if task.owner_role else None,
            ),
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/tasks/{task_id}")
def task_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, inspection_id: str, task_id: str
) -> Response:
    return _task_page(request, session, inspection_id, task_id)


def _change_task(
    request: Request,
    session: Session,
    reading: Session,
    rules: Rules,
    user: User,
    inspection_id: str,
    task_id: str,
    changes: dict[str, Any],
    *,
    values: dict[str, str],
    ids: dict[str, str],
    back: str,
) -> tuple[Response | None, str]:
    """Apply the change in `session`; on refusal, the page `back` names read from `reading`
    with the error at its field (422, or 409 for a closed inspection). Returns (error page,
    task title)."""
    inspection_uuid, task_uuid = parse_id(inspection_id), parse_id(task_id)
    if inspection_uuid is None or task_uuid is None:
        return not_found(request, "There is no such task."), ""
    try:
        task = tasks.update(
            session,
            rules=rules,
            inspection_id=inspection_uuid,
            task_id=task_uuid,
            changes=TaskUpdate.model_construct(**changes),
            actor=users.actor_for(user),
            now=utcnow(),
        )
        title = task.title
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such task."), ""
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, InvalidInput) else next(iter(ids))
        form = PageForm(values=values, errors={field: sentence(exc.message)}, ids=ids)
        code = 422 if isinstance(exc, InvalidInput) else 409
        if back == "list":
            listed = _tasks_page(
                request, reading, rules, inspection_id, add_form=form, status_code=code
            )
            return listed, ""
        return _task_page(request, reading, inspection_id, task_id, form=form, status_code=code), ""
    nudge(request)
    return None, title


@router.post("/inspections/{inspection_id}/tasks/{task_id}/done")
def mark_done(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    task_id: str,
) -> Response:
    problem, title = _change_task(
        request,
        session,
        reading,
        rules,
        user,
        inspection_id,
        task_id,
        {"status": TaskStatus.done.value},
        values={},
        ids={"done": f"done-{task_id}"},
        back="list",
    )
    if problem is not None:
        return problem
    return done(request, f"/inspections/{inspection_id}/tasks", f"‘{title}’ is done")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/status")
def change_status(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    task_id: str,
    status: Annotated[str, Form()] = "",
    blocked_reason: Annotated[str, Form()] = "",
) -> Response:
    values = {"status": status, "blocked_reason": blocked_reason}
    if status not in STATUS_LABELS:
        form = PageForm(
            values=values, errors={"status": "Select the task's status"}, ids=STATUS_IDS
        )
        return _task_page(request, reading, inspection_id, task_id, form=form, status_code=422)
    changes: dict[str, Any] = {"status": status}
    reason = blocked_reason.strip()
    if status == TaskStatus.blocked.value:
        changes["blocked_reason"] = reason or None
        if len(reason) > 500:
            form = PageForm(
                values=values,
                errors={"blocked_reason": "Say why in 500 characters or fewer"},
                ids=STATUS_IDS,
            )
            return _task_page(request, reading, inspection_id, task_id, form=form, status_code=422)
    problem, title = _change_task(
        request,
        session,
        reading,
        rules,
        user,
        inspection_id,
        task_id,
        changes,
        values=values,
        ids=STATUS_IDS,
        back="task",
    )
    if problem is not None:
        return problem
    label = STATUS_LABELS[status][0].lower()
    path = f"/inspections/{inspection_id}/tasks/{task_id}"
    return done(request, path, f"‘{title}’ is now {label}")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/owner")
def change_owner(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    task_id: str,
    owner_contact_id: Annotated[str, Form()] = "",
) -> Response:
    problem, title = _change_task(
        request,
        session,
        reading,
        rules,
        user,
        inspection_id,
        task_id,
        {"owner_contact_id": owner_contact_id.strip() or None},
        values={"owner_contact_id": owner_contact_id},
        ids={"owner_contact_id": "owner-contact-id"},
        back="task",
    )
    if problem is not None:
        return problem
    path = f"/inspections/{inspection_id}/tasks/{task_id}"
    return done(request, path, f"‘{title}’ has a new owner")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/comments")
def comment(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    inspection_id: str,
    task_id: str,
    text: Annotated[str, Form()] = "",
) -> Response:
    values = {"text": text}
    ids = {"text": "comment-text"}
    inspection_uuid, task_uuid = parse_id(inspection_id), parse_id(task_id)
    if inspection_uuid is None or task_uuid is None:
        return not_found(request, "There is no such task.")
    message = None
    if not text.strip():
        message = "Enter your comment"
    elif len(text.strip()) > MAX_COMMENT:
        message = f"Keep the comment to {MAX_COMMENT} characters or fewer"
    if message:
        form = PageForm(values=values, errors={"text": message}, ids=ids)
        return _task_page(request, reading, inspection_id, task_id, form=form, status_code=422)
    try:
        tasks.add_comment(
            session,
            inspection_id=inspection_uuid,
            task_id=task_uuid,
            text=text,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        session.commit()
    except NotFound:
        return not_found(request, "There is no such task.")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        form = PageForm(values=values, errors={"text": sentence(exc.message)}, ids=ids)
        code = 422 if isinstance(exc, InvalidInput) else 409
        return _task_page(request, reading, inspection_id, task_id, form=form, status_code=code)
    return done(request, f"/inspections/{inspection_id}/tasks/{task_id}#comments", "Comment added")


def _first_problem(exc: ValidationError, labels: dict[str, str]) -> tuple[str, str]:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "title"
    return field, labels.get(field, str(error["msg"]))


@router.post("/inspections/{inspection_id}/tasks")
def add_task(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    inspection_id: str,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    owner_contact_id: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "title": title,
        "description": description,
        "category": category,
        "owner_contact_id": owner_contact_id,
    }
    found = parse_id(inspection_id)
    if found is None:
        return not_found(request, "There is no such inspection.")
    raw: dict[str, Any] = {"title": title, "category": category}
    if description.strip():
        raw["description"] = description
    if owner_contact_id.strip():
        raw["owner_contact_id"] = owner_contact_id.strip()
    try:
        wanted = TaskCreate.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_problem(exc, ADD_MESSAGES)
        form = PageForm(values=values, errors={field: message}, ids=ADD_IDS)
        return _tasks_page(request, reading, rules, inspection_id, add_form=form, status_code=422)
    try:
        task = tasks.create(
            session,
            rules=rules,
            inspection_id=found,
            request=wanted,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        title = task.title
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such inspection.")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, InvalidInput) else "title"
        form = PageForm(values=values, errors={field: sentence(exc.message)}, ids=ADD_IDS)
        code = 422 if isinstance(exc, InvalidInput) else 409
        return _tasks_page(request, reading, rules, inspection_id, add_form=form, status_code=code)
    nudge(request)
    return done(request, f"/inspections/{inspection_id}/tasks", f"‘{title}’ has been added")
