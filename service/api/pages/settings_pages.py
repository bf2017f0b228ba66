"""Settings: the council's own closure days (days the council is shut that are not bank
holidays). Everyone may read them: they move deadlines. Adding or removing one moves every open
inspection's deadlines and reminders in the same transaction, exactly as the API does, and is
recorded in the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from service.api.deps import ReadSessionDep, RulesDep, SessionDep, SettingsDep
from service.api.pages.auth import CurrentUser, cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.forms import read_date
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.calendar.closures import ClosureDayExists, list_closure_days
from service.db import utcnow
from service.errors import InvalidInput
from service.inspections import flows as inspection_flows
from service.inspections.schemas import ClosureDayCreate
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["settings pages"])

ClosureKeeper = Annotated[User, Depends(require_permission(Permission.manage_closure_days))]
FIELD_IDS = {"date": "date-day", "reason": "reason"}


def _actor(user: User) -> str:
    return f"user:{user.username}"


def _page(
    request: Request, session: Session, form: PageForm | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "settings_closure_days.html",
        {
            "closures": list_closure_days(session),
            "form": form or PageForm(ids=dict(FIELD_IDS)),
            "today": utcnow().astimezone(request.app.state.rules.zone).date(),
            "region": request.app.state.settings.bank_holiday_region,
        },
        status_code=status_code,
    )


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _read(form: PageForm) -> ClosureDayCreate | None:
    """The form as the API's own closure-day body (the same limits), or None with errors."""
    chosen = read_date(
        form,
        "date",
        missing="Enter the date the council is closed, for example 24 12 2026",
        label="Date",
    )
    try:
        closure = ClosureDayCreate(date=chosen or dt.date.min, reason=form.value("reason"))
    except ValidationError:
        blank = not form.value("reason").strip()
        form.add(
            "reason",
            "Enter why the council is closed"
            if blank
            else "Reason must be 200 characters or fewer",
        )
        return None
    return None if form.errors else closure


@router.get("/settings")
def settings_page(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    return _page(request, session)


@router.post("/settings/closure-days")
def add_closure(
    request: Request,
    user: ClosureKeeper,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    settings: SettingsDep,
    day: Annotated[str, Form(alias="date-day")] = "",
    month: Annotated[str, Form(alias="date-month")] = "",
    year: Annotated[str, Form(alias="date-year")] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    form = PageForm(
        values={"date-day": day, "date-month": month, "date-year": year, "reason": reason},
        ids=dict(FIELD_IDS),
    )
    closure = _read(form)
    if closure is None:
        return _page(request, reading, form, 422)
    try:
        _, moved = inspection_flows.add_closure(
            session,
            rules=rules,
            day=closure.date,
            reason=closure.reason,
            actor=_actor(user),
            now=utcnow(),
        )
    except (ClosureDayExists, InvalidInput) as exc:
        session.rollback()  # `reading` shows the form again
        text = str(exc)
        form.add("date", text[:1].upper() + text[1:])
        return _page(request, reading, form, 409 if isinstance(exc, ClosureDayExists) else 422)
    session.commit()
    text = f"{closure.date.strftime('%-d %B %Y')} added as a closure day"
    if moved:
        text += f"; deadlines moved for {moved} open inspection{'s' if moved != 1 else ''}"
    response = see_other("/settings")
    flash(request, response, text, secure=cookies_secure(settings))
    return response


@router.get("/settings/closure-days/{day}/remove")
def confirm_removal(
    request: Request, _: ClosureKeeper, session: ReadSessionDep, day: str
) -> Response:
    chosen = _day(day)
    closure = next((c for c in list_closure_days(session) if c.day == chosen), None)
    if closure is None:
        return not_found(request, f"{day} is not a closure day.")
    return render(request, "settings_remove.html", {"closure": closure})


@router.post("/settings/closure-days/{day}/remove")
def remove_closure(
    request: Request,
    user: ClosureKeeper,
    session: SessionDep,
    reading: ReadSessionDep,
    rules: RulesDep,
    settings: SettingsDep,
    day: str,
) -> Response:
    chosen = _day(day)
    if chosen is None:
        return not_found(request, f"{day} is not a closure day.")
    try:
        moved = inspection_flows.remove_closure(
            session, rules=rules, day=chosen, actor=_actor(user), now=utcnow()
        )
    except InvalidInput as exc:
        session.rollback()  # `reading` shows the page again
        form = PageForm(errors={"date": exc.message}, ids={"date": f"closure-{chosen}"})
        return _page(request, reading, form, 422)
    if moved is None:
        return not_found(request, f"{day} is not a closure day.")
    session.commit()
    text = f"{chosen.strftime('%-d %B %Y')} is no longer a closure day"
    if moved:
        text += f"; deadlines moved for {moved} open inspection{'s' if moved != 1 else ''}"
    response = see_other("/settings")
    flash(request, response, text, secure=cookies_secure(settings))
    return response
