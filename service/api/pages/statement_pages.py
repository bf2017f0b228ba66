"""The written statement of action page: its stage beside the deadline for everyone signed in;
the lead and admins move it on (draft, approval at a meeting, publication)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.forms import Form as PageForm
from service.api.pages.forms import read_date
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import done, find_inspection, sentence, title_of
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput
from service.inspections.models import Inspection
from service.request_models import Link
from service.rules import Rules
from service.statement import flows, service
from service.statement.schemas import public
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["statement of action pages"])

Recorder = Annotated[User, Depends(require_permission(Permission.record_outcome))]
NO_INSPECTION = "There is no such inspection."
LIMITS = {"title": 200, "draft_url": 2000, "notes": 5000, "approved_by": 200, "meeting": 200}
LIMITS |= {"url": 2000} | {
    f"{d}-{p}": 4 for d in ("approved_on", "published_on") for p in ("day", "month", "year")
}
IDS = {
    "approved_on": "approved_on-day",
    "published_on": "published_on-day",
    "draft_url": "draft-url",
    "approved_by": "approved-by",
}
LABELS = {"approved_on": "Date approved", "published_on": "Date published"}
"""The date fields' own names, so an error from the rules reads as a sentence about the field."""
LINK: TypeAdapter[Any] = TypeAdapter(Link)


def _page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    shown = public(service.read(session, rules=rules, inspection_id=inspection.id, now=utcnow()))
    return render(
        request,
        "statement.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "shown": shown,
            "form": form or PageForm(values=_values(shown.model_dump()), ids=IDS),
        },
        status_code=status_code,
    )


def _values(shown: dict[str, Any]) -> dict[str, str]:
    values = {key: str(shown[key]) for key in ("title", "draft_url", "notes") if shown.get(key)}
    for name in ("approved_by", "meeting"):
        if shown.get(name):
            values[name] = str(shown[name])
    return values


async def _submitted(request: Request) -> PageForm:
    data = await request.form()
    values = {
        name: str(data.get(name, ""))[:limit].strip()
        for name, limit in LIMITS.items()
        if isinstance(data.get(name, ""), str)
    }
    return PageForm(values=values, ids=IDS)


def _link(form: PageForm, name: str, *, required: bool) -> str | None:
    text = form.value(name)
    if not text:
        if required:
            form.add(name, "Enter the address where it is published")
        return None
    try:
        return str(LINK.validate_python(text))
    except ValidationError:
        form.add(name, "Enter an address starting https:// or http://, up to 2,000 characters")
        return None


def _required(form: PageForm, name: str, message: str) -> str:
    if not form.value(name):
        form.add(name, message)
    return form.value(name)


async def _move_on(
    request: Request,
    inspection_id: str,
    user: User,
    session: Session,
    reading: Session,
    rules: Rules,
    step: str,
) -> Response:
    """The form is read here; the database work runs off the event loop."""
    form = await _submitted(request)
    return await run_in_threadpool(
        _apply, request, inspection_id, user, session, reading, rules, step, form
    )


def _apply(
    request: Request,
    inspection_id: str,
    user: User,
    session: Session,
    reading: Session,
    rules: Rules,
    step: str,
    form: PageForm,
) -> Response:
    inspection = find_inspection(reading, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    actor, now = users.actor_for(user), utcnow()
    try:
        if step == "draft":
            draft_url = _link(form, "draft_url", required=False)
            if not form.errors:
                flows.draft(
                    session,
                    rules=rules,
                    inspection_id=inspection.id,
                    title=form.value("title") or None,
                    draft_url=draft_url,
                    notes=form.value("notes") or None,
                    actor=actor,
                    now=now,
                )
        elif step == "approve":
            by = _required(form, "approved_by", "Enter who approved it")
            on: date | None = read_date(
                form, "approved_on", missing="Enter the date it was approved", label="Date approved"
            )
            meeting = _required(form, "meeting", "Enter the meeting that approved it")
            if not form.errors and on is not None:
                flows.approve(
                    session,
                    rules=rules,
                    inspection_id=inspection.id,
                    approved_by=by,
                    approved_on=on,
                    meeting=meeting,
                    actor=actor,
                    now=now,
                )
        else:
            published_on = read_date(
                form,
                "published_on",
                missing="Enter the date it was published",
                label="Date published",
            )
            url = _link(form, "url", required=True)
            if not form.errors and published_on is not None and url is not None:
                flows.publish(
                    session,
                    rules=rules,
                    inspection_id=inspection.id,
                    published_on=published_on,
                    url=url,
                    actor=actor,
                    now=now,
                )
        if not form.errors:
            commit_or_conflict(session)
    except InvalidInput as exc:
        label = LABELS.get(exc.field)
        form.add(exc.field, f"{label} {exc.message}" if label else sentence(exc.message))
    except Conflict as exc:
        form.ids["stage"] = "stage"
        form.add("stage", sentence(exc.message))
    if form.errors:
        session.rollback()
        code = 409 if "stage" in form.errors else 422
        return _page(request, reading, rules, inspection, form=form, status_code=code)
    words = {
        "draft": "Draft saved",
        "approve": "Approval recorded",
        "publish": "Publication recorded",
    }
    return done(request, f"/inspections/{inspection.id}/action-statement", words[step])


@router.get("/inspections/{inspection_id}/action-statement")
def statement_page(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _page(request, session, rules, inspection)


@router.post("/inspections/{inspection_id}/action-statement/draft")
async def save_draft(
    request: Request,
    inspection_id: str,
    user: Recorder,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return await _move_on(request, inspection_id, user, session, reading, rules, "draft")


@router.post("/inspections/{inspection_id}/action-statement/approve")
async def record_approval(
    request: Request,
    inspection_id: str,
    user: Recorder,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return await _move_on(request, inspection_id, user, session, reading, rules, "approve")


@router.post("/inspections/{inspection_id}/action-statement/publish")
async def record_publication(
    request: Request,
    inspection_id: str,
    user: Recorder,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    return await _move_on(request, inspection_id, user, session, reading, rules, "publish")
