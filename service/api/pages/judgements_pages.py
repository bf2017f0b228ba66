"""An inspection's Judgements page: everyone signed in reads the report's judgements and the
overall judgement the framework's rule gives; the lead and admins record them from the report."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import done, find_inspection, sentence, title_of
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import OVERALL
from service.improvement import flows as improvement
from service.improvement import service as pathways
from service.improvement.models import ImprovementBoard, PathwayStatus
from service.improvement.schemas import public as pathway_public
from service.inspections.models import Inspection
from service.judgements import service
from service.judgements.schemas import public
from service.rules import Rules
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["judgements pages"])

Recorder = Annotated[User, Depends(require_permission(Permission.record_outcome))]
NO_INSPECTION = "There is no such inspection."
FIELD_PREFIX = "grade-"
MAX_FIELDS = 100


def _page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    judged = service.read(session, rules=rules, inspection_id=inspection.id)
    shown = public(judged)
    board = session.get(ImprovementBoard, inspection.id)
    if form is None:
        values = {f"{FIELD_PREFIX}{key}": grade for key, grade in judged.grades.items()}
        form = PageForm(values=values)
    return render(
        request,
        "judgements.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "shown": shown,
            "listed": judged.framework.judgements is not None,
            "overall_key": OVERALL,
            "prefix": FIELD_PREFIX,
            "form": form,
            "pathway_open": board is not None and board.status == PathwayStatus.open.value,
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/judgements")
def judgements_page(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _page(request, session, rules, inspection)


@router.post("/inspections/{inspection_id}/judgements")
async def record_judgements(
    request: Request,
    inspection_id: str,
    user: Recorder,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    """A blank choice leaves that judgement unrecorded; a refused set is shown at its field
    with nothing written. The database work runs off the event loop."""
    submitted = await request.form()
    values = {
        name[:80]: str(value)[:64]
        for name, value in list(submitted.items())[:MAX_FIELDS]
        if name.startswith(FIELD_PREFIX) and isinstance(value, str)
    }
    return await run_in_threadpool(
        _record, request, inspection_id, user, session, reading, rules, values
    )


def _record(
    request: Request,
    inspection_id: str,
    user: User,
    session: Session,
    reading: Session,
    rules: Rules,
    values: dict[str, str],
) -> Response:
    inspection = find_inspection(reading, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    grades = {
        name.removeprefix(FIELD_PREFIX): value.strip()
        for name, value in values.items()
        if value.strip()
    }
    try:
        improvement.record_judgements(
            session,
            rules=rules,
            inspection_id=inspection.id,
            grades=grades,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        commit_or_conflict(session)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        form = PageForm(values=values)
        key, _, rest = exc.message.partition(": ")
        if isinstance(exc, InvalidInput) and f"{FIELD_PREFIX}{key}" in values and rest:
            form.add(f"{FIELD_PREFIX}{key}", sentence(rest))
            return _page(request, reading, rules, inspection, form=form, status_code=422)
        form.ids["judgements"] = "judgements-form"
        form.add("judgements", sentence(exc.message))
        status_code = 409 if isinstance(exc, Conflict) else 422
        return _page(request, reading, rules, inspection, form=form, status_code=status_code)
    return done(request, f"/inspections/{inspection.id}/judgements", "Judgements saved")


@router.get("/inspections/{inspection_id}/improvement")
def improvement_page(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    """The improvement pathway an inadequate outcome opened: its board, meetings and tasks."""
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    try:
        shown = pathway_public(
            session, pathways.read(session, rules=rules, inspection_id=inspection.id)
        )
        closed_reason = None
    except NotFound as exc:
        shown, closed_reason = None, sentence(exc.message.partition(": ")[2])
    return render(
        request,
        "improvement.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "shown": shown,
            "closed_reason": closed_reason,
            "roles": rules.plans.roles(),
        },
    )
