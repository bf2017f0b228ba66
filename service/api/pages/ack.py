"""The one-click acknowledgement. GET shows a page with one button and records nothing (e-mail
security scanners follow links); POST records. No login: the signed link is the credential.

No CSRF token either, on purpose: the link (an HMAC-signed, expiring, single-purpose token of
about 43 characters) is the secret, and a forger who had it could simply open it. A forged POST
can only do what the link's holder may do, once: acknowledging is idempotent and records the
link, never a session. Cookies play no part, so there is nothing for another site to ride on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.api.deps import ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.pages.rendering import render
from service.cascade import flows
from service.db import utcnow
from service.signed_links import LinkExpired, LinkInvalid

router = APIRouter(tags=["acknowledgement pages"], include_in_schema=False)


def _problem(request: Request, *, expired: bool) -> HTMLResponse:
    return render(
        request,
        "ack_problem.html",
        {"expired": expired},
        status_code=410 if expired else 404,
        public=True,
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str, request: Request, session: ReadSessionDep, rules: RulesDep
) -> HTMLResponse:
    try:
        holder = flows.describe_link(session, token, rules=rules, now=utcnow())
    except LinkExpired:
        return _problem(request, expired=True)
    except LinkInvalid:
        return _problem(request, expired=False)
    return render(
        request, "ack.html", {"holder": holder, "done": False, "zone": rules.zone}, public=True
    )


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(token: str, request: Request, session: SessionDep, rules: RulesDep) -> HTMLResponse:
    try:
        holder = flows.acknowledge_link(session, token, rules=rules, now=utcnow())
    except LinkExpired:
        return _problem(request, expired=True)
    except LinkInvalid:
        return _problem(request, expired=False)
    session.commit()
    nudge(request)
    return render(
        request, "ack.html", {"holder": holder, "done": True, "zone": rules.zone}, public=True
    )
