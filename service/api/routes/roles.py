"""Plan roles to people: who is the logistics lead, the audit lead, ..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, keyset
from service.db import utcnow
from service.plan import roles
from service.plan.schemas import RoleAssign, RolePublic, RolesPublic

router = APIRouter(prefix="/api/v1/roles", tags=["roles"])

CHANGED_AT_ONCE = "the role changed at the same moment; try again"
NOT_FOUND = "No plan names this role (the message lists the known roles)"
RoleKey = Annotated[str, Path(max_length=64)]


@router.get(
    "",
    response_model=RolesPublic,
    summary="Every role any plan names, with who holds it",
    responses=error_responses(401, 403, 422),
)
def list_roles(
    session: ReadSessionDep, rules: RulesDep, _: PlanReader, page: CursorPageDep
) -> RolesPublic:
    """By role key."""
    found, next_cursor = keyset(
        roles.list_roles(session, rules=rules), page=page, key=lambda row: (row.role,), kinds=(str,)
    )
    return RolesPublic(items=found, next_cursor=next_cursor)


@router.put(
    "/{role}",
    response_model=RolePublic,
    summary="Give a role to an active contact; the role's open tasks move to them",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def assign_role(
    request: Request,
    role: RoleKey,
    body: RoleAssign,
    session: SessionDep,
    rules: RulesDep,
    principal: PlanWriter,
) -> RolePublic:
    """Open tasks of the role in open inspections move to the new person (their deputy while
    they are inactive), except tasks reassigned by hand."""
    public = roles.assign(
        session,
        rules=rules,
        role=role,
        contact_id=body.contact_id,
        actor=principal.actor,
        now=utcnow(),
    )
    commit_or_conflict(session, CHANGED_AT_ONCE)
    nudge(request)
    return public


@router.delete(
    "/{role}",
    status_code=204,
    summary="No one holds the role: its open tasks go to the steering-group lead",
    responses=error_responses(401, 403, 422, described={404: NOT_FOUND}),
)
def unassign_role(
    request: Request, role: RoleKey, session: SessionDep, rules: RulesDep, principal: PlanWriter
) -> Response:
    roles.unassign(session, rules=rules, role=role, actor=principal.actor, now=utcnow())
    commit_or_conflict(session, CHANGED_AT_ONCE)
    nudge(request)
    return Response(status_code=204)
