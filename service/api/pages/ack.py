"""The one-click acknowledgement. GET shows a page with one button and records nothing (e-mail
security scanners follow links); POST records. No login: the signed link is the credential."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.acks import AckLinkExpired, AckLinkInvalid
from service.api.deps import ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.pages.rendering import templates
from service.cascade import flows
from service.db import utcnow

router = APIRouter(tags=["acknowledgement pages"], include_in_schema=False)


def _problem(request: Request, *, expired: bool) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "ack_problem.html",
        {"expired": expired},
        status_code=410 if expired else 404,
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str, request: Request, session: ReadSessionDep, rules: RulesDep
) -> HTMLResponse:
    try:
        holder = flows.describe_link(session, token, rules=rules, now=utcnow())
    except AckLinkExpired:
        return _problem(request, expired=True)
    except AckLinkInvalid:
        return _problem(request, expired=False)
    return templates.TemplateResponse(
        request, "ack.html", {"holder": holder, "token": token, "done": False, "zone": rules.zone}
    )


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(token: str, request: Request, session: SessionDep, rules: RulesDep) -> HTMLResponse:
    try:
        holder = flows.acknowledge_link(session, token, rules=rules, now=utcnow())
    except AckLinkExpired:
        return _problem(request, expired=True)
    except AckLinkInvalid:
        return _problem(request, expired=False)
    session.commit()
    nudge(request)
    return templates.TemplateResponse(
        request, "ack.html", {"holder": holder, "token": token, "done": True, "zone": rules.zone}
    )
