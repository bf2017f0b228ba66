"""The one-click "mark done" link of task reminders. GET shows a page with one button and records
nothing (e-mail security scanners follow links); POST records. No login: the signed link is the
credential, and no CSRF token for the same reasons as the acknowledgement page (ack.py): marking
done is idempotent and a forger would need the link itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.pages.rendering import render
from service.db import utcnow
from service.plan import flows
from service.signed_links import LinkExpired, LinkInvalid, LinkVoided

router = APIRouter(tags=["task pages"], include_in_schema=False)


def _problem(request: Request, *, expired: bool) -> HTMLResponse:
    return render(
        request,
        "task_done_problem.html",
        {"expired": expired},
        status_code=410 if expired else 404,
        public=True,
    )


def _voided(request: Request, exc: LinkVoided) -> HTMLResponse:
    """409: the link is genuine, but the task changed hands or was reopened after it was sent."""
    return render(
        request, "task_done_problem.html", {"voided": exc.why}, status_code=409, public=True
    )


@router.get("/tasks/done/{token}", response_class=HTMLResponse)
def confirm_page(
    token: str, request: Request, session: ReadSessionDep, rules: RulesDep
) -> HTMLResponse:
    try:
        link = flows.describe_done_link(
            session, token, max_age_seconds=rules.messaging.ack_max_age_seconds, now=utcnow()
        )
    except LinkExpired:
        return _problem(request, expired=True)
    except LinkInvalid:
        return _problem(request, expired=False)
    except LinkVoided as exc:
        return _voided(request, exc)
    return render(request, "task_done.html", {"link": link, "zone": rules.zone}, public=True)


@router.post("/tasks/done/{token}", response_class=HTMLResponse)
def mark_done(token: str, request: Request, session: SessionDep, rules: RulesDep) -> HTMLResponse:
    try:
        link = flows.mark_done_by_link(
            session, token, max_age_seconds=rules.messaging.ack_max_age_seconds, now=utcnow()
        )
    except LinkExpired:
        return _problem(request, expired=True)
    except LinkInvalid:
        return _problem(request, expired=False)
    except LinkVoided as exc:
        session.rollback()
        return _voided(request, exc)
    session.commit()
    return render(request, "task_done.html", {"link": link, "zone": rules.zone}, public=True)
