"""Plan roles to people: who is the logistics lead, the audit lead, ..."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.api.deps import PlanReader, PlanWriter, ReadSessionDep, RulesDep, SessionDep, nudge
from service.db import utcnow
from service.errors import Conflict
from service.plan import roles
from service.plan.roles import RoleAssign, RolePublic

router = APIRouter(prefix="/api/v1/roles", tags=["roles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The API key lacks the scope"},
    404: {"description": "No plan names this role (the message lists the known roles)"},
    422: {"description": "Bad input; `detail[].loc` names the field"},
}
RoleKey = Annotated[str, Path(max_length=64)]


def _committed(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the role changed at the same moment; try again") from exc


@router.get("", summary="Every role any plan names, with who holds it")
def list_roles(
    session: ReadSessionDep, rules: RulesDep, _: PlanReader
) -> dict[str, list[RolePublic]]:
    return {"items": roles.list_roles(session, rules=rules)}


@router.put(
    "/{role}",
    response_model=RolePublic,
    summary="Give a role to an active contact; the role's open tasks move to them",
    responses=ERRORS,
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
    _committed(session)
    nudge(request)
    return public


@router.delete(
    "/{role}",
    status_code=204,
    summary="No one holds the role: its open tasks go to the steering-group lead",
    responses=ERRORS,
)
def unassign_role(
    request: Request, role: RoleKey, session: SessionDep, rules: RulesDep, principal: PlanWriter
) -> Response:
    roles.unassign(session, rules=rules, role=role, actor=principal.actor, now=utcnow())
    _committed(session)
    nudge(request)
    return Response(status_code=204)
