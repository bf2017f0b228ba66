"""Who holds each plan role: one person a role, whose tasks follow them; unmapping a role gives
its tasks to the steering-group lead."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.errors import commit_or_conflict
from service.api.pages.auth import CurrentUser
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import (
    PLAN_CHANGED,
    PlanManager,
    active_people,
    done,
    people_items,
    sentence,
)
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.plan import roles
from service.rules import Rules
from service.users import service as users

router = page_router(tags=["plan pages"])


def _roles_page(
    request: Request,
    session: Session,
    rules: Rules,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    listed = roles.list_roles(session, rules=rules)
    people = active_people(session)
    form = form or PageForm()
    return render(
        request,
        "plan_roles.html",
        {
            "roles": [
                {
                    "role": role,
                    "items": people_items(
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
def roles_page(
    request: Request, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    return _roles_page(request, session, rules)


@router.post("/roles/{role}")
def assign_role(
    request: Request,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    role: str,
    contact_id: Annotated[str, Form()] = "",
) -> Response:
    """`reading` shows the roles again when the choice is refused."""
    field = f"contact_id-{role}"
    ids = {field: f"contact-{role}"}
    values = {field: contact_id}
    if not contact_id.strip():
        form = PageForm(values=values, errors={field: "Select who holds this role"}, ids=ids)
        return _roles_page(request, reading, rules, form, 422)
    try:
        held = roles.assign(
            session,
            rules=rules,
            role=role,
            contact_id=contact_id.strip(),
            actor=users.actor_for(user),
            now=utcnow(),
        )
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such role.")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        form = PageForm(values=values, errors={field: sentence(exc.message)}, ids=ids)
        code = 422 if isinstance(exc, InvalidInput) else 409
        return _roles_page(request, reading, rules, form, code)
    nudge(request)
    return done(request, "/roles", f"{held.label} is now {held.contact_name}")


@router.post("/roles/{role}/unmap")
def unmap_role(
    request: Request, user: PlanManager, session: SessionDep, rules: RulesDep, role: str
) -> Response:
    label = rules.plans.roles().get(role, role)
    try:
        roles.unassign(session, rules=rules, role=role, actor=users.actor_for(user), now=utcnow())
        commit_or_conflict(session, PLAN_CHANGED)
    except NotFound:
        return not_found(request, "There is no such role.")
    nudge(request)
    return done(request, "/roles", f"No one holds {label} now; its tasks go to the lead")
