"""Action plan pages: the inspection's plans with their RAG counts, one plan's recommendations
and actions, and one action's progress. Everyone signed in reads them; those who keep the plan
(coordinators, admins) change them. Input is checked by the API's own request models and the
rules in service/actions/, shown at the field; nothing is half-written."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.actions import service
from service.actions.schemas import (
    ActionChangeRequest,
    ActionCreate,
    PlanCreate,
    RecommendationCreate,
    UpdateCreate,
    action_public,
    plan_detail,
    plan_summary,
    update_public,
)
from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import CurrentUser
from service.api.pages.forms import Form as PageForm
from service.api.pages.forms import read_date
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import (
    PlanManager,
    active_people,
    done,
    find_inspection,
    people_items,
    sentence,
    title_of,
)
from service.api.pages.rendering import render
from service.db import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.inspections.models import Inspection
from service.rules import Rules
from service.users import service as users
from service.users.models import User

router = page_router(tags=["action plan pages"])

NO_INSPECTION = "There is no such inspection."
MAX_FIELD = 5000
MAX_FIELDS = 30
MISSING = {
    "title": "Enter a title",
    "text": "Enter the text",
    "agency": "Choose the agency that leads it",
    "owner_contact_id": "Choose who owns it",
    "rag_reason": "Say why",
}
RAG_WORDS = {"red": "Red", "amber": "Amber", "green": "Green"}
Model = TypeVar("Model", bound=BaseModel)


def _number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {
        name[:64]: value[:MAX_FIELD].strip()
        for name, value in list(data.items())[:MAX_FIELDS]
        if isinstance(value, str)
    }


def _validated(model: type[Model], values: dict[str, Any], form: PageForm) -> Model | None:
    """The API's request model checks the page's input too: one set of rules, shown at fields."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            blank = values.get(field) in (None, "")
            form.add(
                field,
                MISSING.get(field, "") if blank and field in MISSING else sentence(error["msg"]),
            )
        return None


def _judgement_items(rules: Rules, inspection: Inspection, chosen: str) -> list[dict[str, Any]]:
    framework = rules.framework(inspection.framework)
    found = framework.judgements.judgements if framework.judgements else []
    items = [{"value": "", "text": "None", "selected": not chosen}]
    return items + [
        {"value": j.key, "text": j.label, "selected": j.key == chosen}
        for j in found
        if j.key_judgement
    ]


def _agency_items(session: Session, chosen: str, *, blank: str) -> list[dict[str, Any]]:
    items = [{"value": "", "text": blank, "selected": not chosen}]
    return items + [
        {"value": key, "text": name, "selected": key == chosen}
        for key, name in service.agency_names(session).items()
    ]


def _list_page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    form = form or PageForm()
    plans, _ = service.plans_page(
        session, inspection_id=inspection.id, after=None, limit=service.MAX_PLANS
    )
    now = utcnow()
    return render(
        request,
        "action_plans.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "plans": [plan_summary(session, plan, rules=rules, now=now) for plan in plans],
            "judgements": _judgement_items(rules, inspection, form.value("judgement")),
            "partners": _agency_items(session, form.value("partner"), blank="None"),
            "form": form,
        },
        status_code=status_code,
    )


def _plan_page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    plan_id: int,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    try:
        plan = service.plan_of(session, inspection.id, plan_id)
    except NotFound:
        return not_found(request, "There is no such action plan.")
    form = form or PageForm()
    return render(
        request,
        "action_plan.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "plan": plan_detail(session, plan, rules=rules, now=utcnow()),
            "agencies": _agency_items(session, form.value("agency"), blank="Choose an agency"),
            "people": people_items(
                active_people(session), form.value("owner_contact_id"), blank="Choose a person"
            ),
            "rag_words": RAG_WORDS,
            "form": form,
        },
        status_code=status_code,
    )


def _action_page(
    request: Request,
    session: Session,
    rules: Rules,
    inspection: Inspection,
    action_id: int,
    *,
    form: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    try:
        row = service.action_row(session, inspection.id, action_id)
    except NotFound:
        return not_found(request, "There is no such action.")
    shown = action_public(row, now=utcnow(), local_date=rules.local_date)
    return render(
        request,
        "action.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "action": shown,
            "plan": service.plan_of(session, inspection.id, shown.plan_id),
            "updates": [update_public(u) for u in service.updates_of(session, action_id)],
            "rag_words": RAG_WORDS,
            "form": form or PageForm(values={"rag": shown.rag.value}),
        },
        status_code=status_code,
    )


# --- reading ---------------------------------------------------------------------------------


@router.get("/inspections/{inspection_id}/action-plans")
def plans_page(
    request: Request, inspection_id: str, _: CurrentUser, session: ReadSessionDep, rules: RulesDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _list_page(request, session, rules, inspection)


@router.get("/inspections/{inspection_id}/action-plans/{plan_id}")
def plan_page(
    request: Request,
    inspection_id: str,
    plan_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _plan_page(request, session, rules, inspection, _number(plan_id))


@router.get("/inspections/{inspection_id}/actions/{action_id}")
def action_page(
    request: Request,
    inspection_id: str,
    action_id: str,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _action_page(request, session, rules, inspection, _number(action_id))


# --- changing --------------------------------------------------------------------------------


class _Step:
    """One form's post: validate, apply the rule in one transaction, show the page again with
    the problems at their fields, or go back to it with a message."""

    def __init__(
        self, request: Request, user: User, session: Session, reading: Session, rules: Rules
    ):
        self.request, self.user, self.session, self.reading, self.rules = (
            request,
            user,
            session,
            reading,
            rules,
        )

    def run(
        self, inspection_id: str, values: dict[str, str], apply: Any, again: Any, back: Any
    ) -> Response:
        inspection = find_inspection(self.reading, inspection_id)
        if inspection is None:
            return not_found(self.request, NO_INSPECTION)
        form = PageForm(
            values=values,
            ids={"owner_contact_id": "owner-contact-id", "on": "on-day", "due_on": "due_on-day"},
        )
        message: str | None = None
        try:
            message = apply(inspection, form, users.actor_for(self.user), utcnow())
            if not form.errors:
                commit_or_conflict(self.session)
        except InvalidInput as exc:
            form.add(exc.field, sentence(exc.message))
        except (Conflict, NotFound) as exc:
            form.add("form", sentence(exc.message))
        if form.errors or message is None:
            self.session.rollback()
            form.ids.setdefault("form", "main-content")
            code = 409 if "form" in form.errors else 422
            return again(inspection, form, code)
        return done(self.request, back(inspection), message)


@router.post("/inspections/{inspection_id}/action-plans")
async def start_plan(
    request: Request,
    inspection_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    values = await _form(request)

    def apply(inspection: Inspection, form: PageForm, actor: str, now: Any) -> str | None:
        body = _validated(
            PlanCreate,
            {
                "title": values.get("title", ""),
                "judgement": values.get("judgement") or None,
                "partner": values.get("partner") or None,
            },
            form,
        )
        if body is None:
            return None
        plan = service.create_plan(
            session,
            rules=rules,
            inspection_id=inspection.id,
            title=body.title,
            judgement=body.judgement,
            partner=body.partner,
            actor=actor,
            now=now,
        )
        return f"Action plan {plan.title!r} started"

    step = _Step(request, user, session, reading, rules)
    return await run_in_threadpool(
        step.run,
        inspection_id,
        values,
        apply,
        lambda inspection, form, code: _list_page(
            request, reading, rules, inspection, form=form, status_code=code
        ),
        lambda inspection: f"/inspections/{inspection.id}/action-plans",
    )


@router.post("/inspections/{inspection_id}/action-plans/{plan_id}/recommendations")
async def add_recommendation(
    request: Request,
    inspection_id: str,
    plan_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    values = await _form(request)
    number = _number(plan_id)

    def apply(inspection: Inspection, form: PageForm, actor: str, now: Any) -> str | None:
        body = _validated(RecommendationCreate, {"text": values.get("text", "")}, form)
        if body is None:
            return None
        service.add_recommendation(
            session,
            rules=rules,
            inspection_id=inspection.id,
            plan_id=number,
            text=body.text,
            judgement=None,
            actor=actor,
            now=now,
        )
        return "Recommendation added"

    step = _Step(request, user, session, reading, rules)
    return await run_in_threadpool(
        step.run,
        inspection_id,
        values,
        apply,
        lambda inspection, form, code: _plan_page(
            request, reading, rules, inspection, number, form=form, status_code=code
        ),
        lambda inspection: f"/inspections/{inspection.id}/action-plans/{number}",
    )


@router.post("/inspections/{inspection_id}/recommendations/{recommendation_id}/actions")
async def add_action(
    request: Request,
    inspection_id: str,
    recommendation_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    values = await _form(request)
    number = _number(recommendation_id)
    plan_id = 0

    def apply(inspection: Inspection, form: PageForm, actor: str, now: Any) -> str | None:
        nonlocal plan_id
        _, plan = service.recommendation_of(session, inspection.id, number)
        plan_id = plan.id or 0
        due = read_date(form, "due_on", missing="Enter the date it is due", label="Due date")
        body = _validated(
            ActionCreate,
            {
                "title": values.get("title", ""),
                "agency": values.get("agency", ""),
                "owner_contact_id": values.get("owner_contact_id", ""),
                "due_on": due or "2000-01-01",
                "rag": values.get("rag") or "green",
                "rag_reason": values.get("rag_reason") or None,
            },
            form,
        )
        if body is None or due is None:
            return None
        service.add_action(
            session,
            rules=rules,
            inspection_id=inspection.id,
            recommendation_id=number,
            title=body.title,
            agency=body.agency,
            owner_contact_id=body.owner_contact_id,
            due_on=due,
            rag=body.rag,
            rag_reason=body.rag_reason,
            actor=actor,
            now=now,
        )
        return f"Action {body.title!r} added"

    step = _Step(request, user, session, reading, rules)

    def again(inspection: Inspection, form: PageForm, code: int) -> Response:
        form.values["recommendation_id"] = str(number)
        return _plan_page(request, reading, rules, inspection, plan_id, form=form, status_code=code)

    return await run_in_threadpool(
        step.run,
        inspection_id,
        values,
        apply,
        again,
        lambda inspection: f"/inspections/{inspection.id}/action-plans/{plan_id}",
    )


@router.post("/inspections/{inspection_id}/actions/{action_id}")
async def change_action(
    request: Request,
    inspection_id: str,
    action_id: str,
    user: PlanManager,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
) -> Response:
    """One form per change: `change` says which (status, progress or done)."""
    values = await _form(request)
    number = _number(action_id)

    def apply(inspection: Inspection, form: PageForm, actor: str, now: Any) -> str | None:
        change = values.get("change")
        if change == "progress":
            on = read_date(form, "on", missing="Enter the date of the progress", label="Date")
            body = _validated(
                UpdateCreate,
                {
                    "on": on or "2000-01-01",
                    "text": values.get("text", ""),
                    "evidence_url": values.get("evidence_url") or None,
                },
                form,
            )
            if body is None or on is None:
                return None
            service.add_update(
                session,
                rules=rules,
                inspection_id=inspection.id,
                action_id=number,
                on=on,
                text=body.text,
                evidence_url=str(body.evidence_url) if body.evidence_url else None,
                actor=actor,
                now=now,
            )
            return "Progress recorded"
        if change == "status":
            fields = {"rag": values.get("rag", ""), "rag_reason": values.get("rag_reason") or None}
            message = "Status changed"
        elif change in ("done", "reopen"):
            fields = {"done": change == "done"}
            message = "Marked done" if change == "done" else "Reopened"
        else:
            form.add("form", "Choose what to change")
            return None
        body = _validated(ActionChangeRequest, fields, form)
        if body is None:
            return None
        service.change_action(
            session,
            rules=rules,
            inspection_id=inspection.id,
            action_id=number,
            change=service.ActionChange(
                sent=frozenset(body.model_fields_set), **body.model_dump(exclude_unset=True)
            ),
            actor=actor,
            now=now,
        )
        return message

    step = _Step(request, user, session, reading, rules)
    return await run_in_threadpool(
        step.run,
        inspection_id,
        values,
        apply,
        lambda inspection, form, code: _action_page(
            request, reading, rules, inspection, number, form=form, status_code=code
        ),
        lambda inspection: f"/inspections/{inspection.id}/actions/{number}",
    )
