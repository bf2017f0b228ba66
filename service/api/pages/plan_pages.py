"""The plan on the pages: an inspection's tasks (filters, mark done, status, owner, comments,
ad-hoc tasks), who holds each plan role, and the case audit with its CSV. The rules are in
service/plan/; these pages call them in one transaction and show their InvalidInput at the
field it names, so nothing is half-written and no rule is checked twice."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.api.deps import nudge
from service.api.pages.auth import CurrentUser, PageForbidden, cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.contacts import service as contacts
from service.contacts.models import Contact
from service.db import reader, utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Milestone
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.inspections.service import Rules
from service.plan import audit, audit_report, roles, tasks
from service.plan.models import AuditStatus, TaskStatus
from service.plan.templates import Category
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["plan pages"])

PlanManager = Annotated[User, Depends(require_permission(Permission.manage_plan))]
MAX_CONTACT_CHOICES = 500
"""Selects of people list at most this many active contacts (by name); a tree larger than that
is searched on the contacts page, and the API takes any contact id."""

STATUS_LABELS = {
    TaskStatus.to_do.value: ("To do", "govuk-tag--grey"),
    TaskStatus.in_progress.value: ("In progress", "govuk-tag--blue"),
    TaskStatus.done.value: ("Done", "govuk-tag--green"),
    TaskStatus.blocked.value: ("Blocked", "govuk-tag--red"),
}
AUDIT_LABELS = {
    AuditStatus.not_started.value: ("Not started", "govuk-tag--grey"),
    AuditStatus.audited.value: ("Audited", "govuk-tag--blue"),
    AuditStatus.re_audited.value: ("Re-audited", "govuk-tag--purple"),
    AuditStatus.findings_reported.value: ("Findings reported", "govuk-tag--green"),
}
CATEGORY_LABELS = {c.value: c.value.replace("_", " ").capitalize() for c in Category}


# --- shared ----------------------------------------------------------------------------------


def _rules(request: Request) -> Rules:
    return request.app.state.rules


def _reading(request: Request) -> Session:
    return Session(reader(request.app.state.engine), expire_on_commit=False)


def _writing(request: Request) -> Session:
    return Session(request.app.state.engine, expire_on_commit=False)


def _id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _inspection(session: Session, inspection_id: str) -> Inspection | None:
    found = _id(inspection_id)
    return session.get(Inspection, found) if found else None


def _closed(session: Session, inspection: Inspection) -> bool:
    return Milestone.closed.value in inspections.milestones_of(session, inspection.id)


def _title(inspection: Inspection) -> str:
    kind = "Rehearsal" if inspection.drill else "Inspection"
    return f"{kind} announced {inspection.notified_at:%-d %B %Y}"


def _active_people(session: Session) -> list[Contact]:
    people, _ = contacts.list_contacts(session, active=True, limit=MAX_CONTACT_CHOICES)
    return people


def _people_items(
    people: list[Contact], chosen: str | None, *, blank: str | None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if blank is not None:
        items.append({"value": "", "text": blank, "selected": not chosen})
    items += [
        {
            "value": person.id,
            "text": f"{person.name} ({person.role})" if person.role else person.name,
            "selected": person.id == chosen,
        }
        for person in people
    ]
    return items


def _done(request: Request, path: str, message: str) -> Response:
    response = see_other(path)
    flash(request, response, message, secure=cookies_secure(request.app.state.settings))
    return response


def _commit(session: Session) -> None:
    """Two people changing the same thing at once: one wins, the other is told to try again."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the plan changed at the same moment; try again") from exc


def _first_problem(exc: ValidationError, labels: dict[str, str]) -> tuple[str, str]:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "title"
    return field, labels.get(field, str(error["msg"]))


# --- /plan -----------------------------------------------------------------------------------


@router.get("/plan")
def plan_page(request: Request, _: CurrentUser) -> Response:
    """The plan of the live inspection, else of the latest one; with none yet, the roles."""
    with _reading(request) as session:
        chosen = inspections.live_inspection(session)
        if chosen is None:
            latest = inspections.list_inspections(session, limit=1)
            chosen = latest[0] if latest else None
    if chosen is None:
        return see_other("/roles")
    return see_other(f"/inspections/{chosen.id}/tasks")


# --- tasks -----------------------------------------------------------------------------------


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


def _grouped(items: list[tasks.TaskPublic]) -> list[dict[str, Any]]:
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
    inspection_id: str,
    *,
    add_form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    params = {
        key: request.query_params.get(key, "").strip()
        for key in ("owner", "status", "category", "overdue")
    }
    rules = _rules(request)
    now = utcnow()
    with _reading(request) as session:
        inspection = _inspection(session, inspection_id)
        if inspection is None:
            return not_found(request, "There is no such inspection.")
        chosen, filter_form = _filters(params)
        try:
            listed = tasks.list_tasks(session, inspection.id, rules=rules, now=now, **chosen)
        except InvalidInput as exc:
            filter_form.add(exc.field, exc.message[:1].upper() + exc.message[1:])
            listed = tasks.list_tasks(session, inspection.id, rules=rules, now=now)
        everything = tasks.list_tasks(session, inspection.id, rules=rules, now=now)
        owners = sorted(
            {
                (item.owner_name or item.owner_contact_id, item.owner_contact_id)
                for item in everything.items
                if item.owner_contact_id
            },
        )
        closed = _closed(session, inspection)
        people = _active_people(session) if not closed else []
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
            "heading": _title(inspection),
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
            "add_owner_items": _people_items(
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
def tasks_page(request: Request, _: CurrentUser, inspection_id: str) -> Response:
    return _tasks_page(request, inspection_id)


def _task_page(
    request: Request,
    inspection_id: str,
    task_id: str,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    found = _id(task_id)
    with _reading(request) as session:
        inspection = _inspection(session, inspection_id)
        if inspection is None or found is None:
            return not_found(request, "There is no such task.")
        try:
            task = tasks.read(session, inspection.id, found, now=utcnow())
        except NotFound:
            return not_found(request, "There is no such task.")
        closed = _closed(session, inspection)
        people = _active_people(session) if not closed else []
    form = form or PageForm()
    chosen_status = form.value("status") or task.status
    return render(
        request,
        "plan_task.html",
        {
            "inspection": inspection,
            "inspection_title": _title(inspection),
            "task": task,
            "form": form,
            "closed": closed,
            "status_labels": STATUS_LABELS,
            "category_labels": CATEGORY_LABELS,
            "chosen_status": chosen_status,
            "reason": form.value("blocked_reason")
            if "blocked_reason" in form.values
            else (task.blocked_reason or ""),
            "owner_items": _people_items(
                people,
                form.value("owner_contact_id") or task.owner_contact_id,
                blank="Give it back to its role" if task.owner_role else None,
            ),
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/tasks/{task_id}")
def task_page(request: Request, _: CurrentUser, inspection_id: str, task_id: str) -> Response:
    return _task_page(request, inspection_id, task_id)


STATUS_IDS = {"status": "status", "blocked_reason": "blocked-reason"}


def _change_task(
    request: Request,
    user: User,
    inspection_id: str,
    task_id: str,
    changes: dict[str, Any],
    *,
    values: dict[str, str],
    ids: dict[str, str],
    back: str,
) -> tuple[Response | None, str]:
    """Apply the change; on refusal the task page with the error at its field (422, or 409 for a
    closed inspection). Returns (error page, task title)."""
    inspection_uuid, task_uuid = _id(inspection_id), _id(task_id)
    if inspection_uuid is None or task_uuid is None:
        return not_found(request, "There is no such task."), ""
    with _writing(request) as session:
        try:
            task = tasks.update(
                session,
                rules=_rules(request),
                inspection_id=inspection_uuid,
                task_id=task_uuid,
                changes=changes,
                actor=users.actor_for(user),
                now=utcnow(),
            )
            title = task.title
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such task."), ""
        except InvalidInput as exc:
            session.rollback()
            form = PageForm(values=values, errors={exc.field: _sentence(exc.message)}, ids=ids)
            return _page_for(request, back, inspection_id, task_id, form, 422), ""
        except Conflict as exc:
            session.rollback()
            field = next(iter(ids))
            form = PageForm(values=values, errors={field: _sentence(exc.message)}, ids=ids)
            return _page_for(request, back, inspection_id, task_id, form, 409), ""
    nudge(request)
    return None, title


def _page_for(
    request: Request, back: str, inspection_id: str, task_id: str, form: PageForm, status: int
) -> Response:
    if back == "list":
        return _tasks_page(request, inspection_id, add_form=form, status_code=status)
    return _task_page(request, inspection_id, task_id, form=form, status_code=status)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


@router.post("/inspections/{inspection_id}/tasks/{task_id}/done")
def mark_done(request: Request, user: PlanManager, inspection_id: str, task_id: str) -> Response:
    problem, title = _change_task(
        request,
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
    return _done(request, f"/inspections/{inspection_id}/tasks", f"‘{title}’ is done")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/status")
def change_status(
    request: Request,
    user: PlanManager,
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
        return _task_page(request, inspection_id, task_id, form=form, status_code=422)
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
            return _task_page(request, inspection_id, task_id, form=form, status_code=422)
    problem, title = _change_task(
        request, user, inspection_id, task_id, changes, values=values, ids=STATUS_IDS, back="task"
    )
    if problem is not None:
        return problem
    label = STATUS_LABELS[status][0].lower()
    path = f"/inspections/{inspection_id}/tasks/{task_id}"
    return _done(request, path, f"‘{title}’ is now {label}")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/owner")
def change_owner(
    request: Request,
    user: PlanManager,
    inspection_id: str,
    task_id: str,
    owner_contact_id: Annotated[str, Form()] = "",
) -> Response:
    values = {"owner_contact_id": owner_contact_id}
    ids = {"owner_contact_id": "owner-contact-id"}
    problem, title = _change_task(
        request,
        user,
        inspection_id,
        task_id,
        {"owner_contact_id": owner_contact_id.strip() or None},
        values=values,
        ids=ids,
        back="task",
    )
    if problem is not None:
        return problem
    path = f"/inspections/{inspection_id}/tasks/{task_id}"
    return _done(request, path, f"‘{title}’ has a new owner")


@router.post("/inspections/{inspection_id}/tasks/{task_id}/comments")
def comment(
    request: Request,
    user: PlanManager,
    inspection_id: str,
    task_id: str,
    text: Annotated[str, Form()] = "",
) -> Response:
    values = {"text": text}
    ids = {"text": "comment-text"}
    inspection_uuid, task_uuid = _id(inspection_id), _id(task_id)
    if inspection_uuid is None or task_uuid is None:
        return not_found(request, "There is no such task.")
    message = None
    if not text.strip():
        message = "Enter your comment"
    elif len(text.strip()) > tasks.MAX_COMMENT:
        message = f"Keep the comment to {tasks.MAX_COMMENT} characters or fewer"
    if message:
        form = PageForm(values=values, errors={"text": message}, ids=ids)
        return _task_page(request, inspection_id, task_id, form=form, status_code=422)
    with _writing(request) as session:
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
            form = PageForm(values=values, errors={"text": _sentence(exc.message)}, ids=ids)
            code = 422 if isinstance(exc, InvalidInput) else 409
            return _task_page(request, inspection_id, task_id, form=form, status_code=code)
    return _done(request, f"/inspections/{inspection_id}/tasks/{task_id}#comments", "Comment added")


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


@router.post("/inspections/{inspection_id}/tasks")
def add_task(
    request: Request,
    user: PlanManager,
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
    found = _id(inspection_id)
    if found is None:
        return not_found(request, "There is no such inspection.")
    raw: dict[str, Any] = {"title": title, "category": category}
    if description.strip():
        raw["description"] = description
    if owner_contact_id.strip():
        raw["owner_contact_id"] = owner_contact_id.strip()
    try:
        wanted = tasks.TaskCreate.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_problem(exc, ADD_MESSAGES)
        form = PageForm(values=values, errors={field: message}, ids=ADD_IDS)
        return _tasks_page(request, inspection_id, add_form=form, status_code=422)
    with _writing(request) as session:
        try:
            task = tasks.create(
                session,
                rules=_rules(request),
                inspection_id=found,
                request=wanted,
                actor=users.actor_for(user),
                now=utcnow(),
            )
            title = task.title
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such inspection.")
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            field = exc.field if isinstance(exc, InvalidInput) else "title"
            form = PageForm(values=values, errors={field: _sentence(exc.message)}, ids=ADD_IDS)
            code = 422 if isinstance(exc, InvalidInput) else 409
            return _tasks_page(request, inspection_id, add_form=form, status_code=code)
    nudge(request)
    return _done(request, f"/inspections/{inspection_id}/tasks", f"‘{title}’ has been added")


# --- roles -----------------------------------------------------------------------------------


def _roles_page(request: Request, form: PageForm | None = None, status_code: int = 200) -> Response:
    with _reading(request) as session:
        listed = roles.list_roles(session, rules=_rules(request))
        people = _active_people(session)
    form = form or PageForm()
    return render(
        request,
        "plan_roles.html",
        {
            "roles": [
                {
                    "role": role,
                    "items": _people_items(
                        people,
                        form.value(f"contact_id-{role.role}") or role.contact_id,
                        blank="Choose a person",
                    ),
                }
                for role in listed
            ],
            "form": form,
        },
        status_code=status_code,
    )


@router.get("/roles")
def roles_page(request: Request, _: CurrentUser) -> Response:
    return _roles_page(request)


@router.post("/roles/{role}")
def assign_role(
    request: Request, user: PlanManager, role: str, contact_id: Annotated[str, Form()] = ""
) -> Response:
    field = f"contact_id-{role}"
    ids = {field: f"contact-{role}"}
    values = {field: contact_id}
    if not contact_id.strip():
        form = PageForm(values=values, errors={field: "Select who holds this role"}, ids=ids)
        return _roles_page(request, form, 422)
    with _writing(request) as session:
        try:
            held = roles.assign(
                session,
                rules=_rules(request),
                role=role,
                contact_id=contact_id.strip(),
                actor=users.actor_for(user),
                now=utcnow(),
            )
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such role.")
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            form = PageForm(values=values, errors={field: _sentence(exc.message)}, ids=ids)
            return _roles_page(request, form, 422 if isinstance(exc, InvalidInput) else 409)
    nudge(request)
    return _done(request, "/roles", f"{held.label} is now {held.contact_name}")


@router.post("/roles/{role}/unmap")
def unmap_role(request: Request, user: PlanManager, role: str) -> Response:
    with _writing(request) as session:
        try:
            label = _rules(request).plans.roles().get(role, role)
            roles.unassign(
                session, rules=_rules(request), role=role, actor=users.actor_for(user), now=utcnow()
            )
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such role.")
    nudge(request)
    return _done(request, "/roles", f"No one holds {label} now; its tasks go to the lead")


# --- audit -----------------------------------------------------------------------------------


def _audit_page(
    request: Request,
    inspection_id: str,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    rules = _rules(request)
    with _reading(request) as session:
        inspection = _inspection(session, inspection_id)
        if inspection is None:
            return not_found(request, "There is no such inspection.")
        report = audit_report.summary(session, rules=rules, inspection=inspection, now=utcnow())
        closed = _closed(session, inspection)
        people = _active_people(session) if not closed else []
    framework = rules.framework(inspection.framework)
    form = form or PageForm()
    return render(
        request,
        "plan_audit.html",
        {
            "inspection": inspection,
            "inspection_title": _title(inspection),
            "report": report,
            "grades": framework.grades,
            "closed": closed,
            "form": form,
            "audit_labels": AUDIT_LABELS,
            "auditor_items": _people_items(
                people, form.value("auditor_contact_id"), blank="None yet"
            ),
            "reauditor_items": _people_items(
                people, form.value("reauditor_contact_id"), blank="None yet"
            ),
            "people": people,
            # Per-case fields are `<field>-<case id>`: the case with an error shows its form open.
            "error_case": next((key.split("-", 1)[1] for key in form.errors if "-" in key), None),
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/audit")
def audit_page(request: Request, _: CurrentUser, inspection_id: str) -> Response:
    return _audit_page(request, inspection_id)


@router.get("/inspections/{inspection_id}/audit.csv")
def audit_csv(request: Request, user: CurrentUser, inspection_id: str) -> Response:
    """The findings for the inspection team: only people who keep or read the audit."""
    if not (can(user.role, Permission.view_audit) or can(user.role, Permission.manage_plan)):
        raise PageForbidden(user, "view audit")
    rules = _rules(request)
    with _reading(request) as session:
        inspection = _inspection(session, inspection_id)
        if inspection is None:
            return not_found(request, "There is no such inspection.")
        content = audit_report.export_csv(session, inspection_id=inspection.id, zone=rules.zone)
    filename = audit_report.csv_filename(utcnow(), rules.zone)
    return Response(
        content=content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


CASES_IDS = {
    "references": "references",
    "auditor_contact_id": "auditor",
    "reauditor_contact_id": "reauditor",
}


@router.post("/inspections/{inspection_id}/audit/cases")
def add_cases(
    request: Request,
    user: PlanManager,
    inspection_id: str,
    references: Annotated[str, Form()] = "",
    auditor_contact_id: Annotated[str, Form()] = "",
    reauditor_contact_id: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "references": references,
        "auditor_contact_id": auditor_contact_id,
        "reauditor_contact_id": reauditor_contact_id,
    }
    found = _id(inspection_id)
    if found is None:
        return not_found(request, "There is no such inspection.")
    lines = [line.strip() for line in references.splitlines() if line.strip()]
    new = [
        audit.NewCase(
            reference=line,
            auditor_contact_id=auditor_contact_id.strip() or None,
            reauditor_contact_id=reauditor_contact_id.strip() or None,
        )
        for line in lines
    ]
    with _writing(request) as session:
        try:
            added = audit.add_cases(
                session,
                rules=_rules(request),
                inspection_id=found,
                cases=new,
                actor=users.actor_for(user),
                now=utcnow(),
            )
            count = len(added.cases)
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such inspection.")
        except audit.CasesRejected as exc:
            session.rollback()
            form = PageForm(values=values, ids=CASES_IDS)
            for error in exc.errors:
                field = error.field if error.field in CASES_IDS else "references"
                if field == "references" and error.index is not None:
                    text = f"Line {error.index + 1} ({lines[error.index][:40]}): {error.message}"
                else:
                    text = _sentence(error.message)
                if field in form.errors:
                    form.errors[field] += "; " + text
                else:
                    form.errors[field] = _sentence(text)
            if not lines:
                form.errors["references"] = "Enter at least one case reference, one per line"
            return _audit_page(request, inspection_id, form=form, status_code=422)
        except Conflict as exc:
            session.rollback()
            form = PageForm(
                values=values, errors={"references": _sentence(exc.message)}, ids=CASES_IDS
            )
            return _audit_page(request, inspection_id, form=form, status_code=409)
    return _done(
        request,
        f"/inspections/{inspection_id}/audit",
        f"{count} case{'s' * (count != 1)} added to the audit",
    )


@router.post("/inspections/{inspection_id}/audit/cases/{case_id}")
def update_case(
    request: Request,
    user: PlanManager,
    inspection_id: str,
    case_id: str,
    status: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    findings: Annotated[str, Form()] = "",
    auditor_contact_id: Annotated[str, Form()] = "",
    reauditor_contact_id: Annotated[str, Form()] = "",
) -> Response:
    inspection_uuid, case_uuid = _id(inspection_id), _id(case_id)
    if inspection_uuid is None or case_uuid is None:
        return not_found(request, "There is no such case.")
    fields = ("status", "grade", "findings", "auditor_contact_id", "reauditor_contact_id")
    given = (status, grade, findings, auditor_contact_id, reauditor_contact_id)
    sent = dict(zip(fields, given, strict=True))
    values = {f"{name}-{case_id}": value for name, value in sent.items()}
    ids = {f"{name}-{case_id}": f"{name.replace('_', '-')}-{case_id}" for name in fields}
    changes: dict[str, Any] = {name: value or None for name, value in sent.items()}
    if not status:
        changes.pop("status")
    with _writing(request) as session:
        try:
            case = audit.update_case(
                session,
                rules=_rules(request),
                inspection_id=inspection_uuid,
                case_id=case_uuid,
                changes=changes,
                actor=users.actor_for(user),
                now=utcnow(),
            )
            reference = case.reference
            _commit(session)
        except NotFound:
            return not_found(request, "There is no such case.")
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            field = exc.field if isinstance(exc, InvalidInput) else "status"
            key = f"{field}-{case_id}" if f"{field}-{case_id}" in ids else f"status-{case_id}"
            form = PageForm(values=values, errors={key: _sentence(exc.message)}, ids=ids)
            code = 422 if isinstance(exc, InvalidInput) else 409
            return _audit_page(request, inspection_id, form=form, status_code=code)
    return _done(request, f"/inspections/{inspection_id}/audit", f"Case {reference} updated")
