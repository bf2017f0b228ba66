"""Announcing an inspection (or starting a rehearsal) from the notification call: a form, a
confirmation page that says what will happen, then one press that starts everything.

Nothing is written before that press. A double press, or a resent confirmation, starts nothing
twice: the form carries a random key that travels with the confirmation and is remembered
with the inspection (service/idempotency.py, scoped to the signed-in user); a second post with
the same key goes to the inspection the first one started."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service import idempotency
from service.api.deps import nudge
from service.api.pages.auth import cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import page_router, see_other
from service.api.pages.rendering import render
from service.cascade import service as cascade
from service.contacts.models import Contact
from service.db import reader, utcnow
from service.errors import Conflict, InvalidInput
from service.inspections import service
from service.inspections.models import AnnounceRequest
from service.inspections.service import Rules
from service.inspections.timetable import TimetableError, compute
from service.notify.base import Medium
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["announce pages"])

DEFAULT_FRAMEWORK = "sif-2013"
OPERATION = "announce"
"""The idempotency scope: the same operation name as the API, under the user's own actor."""
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TIME_PATTERN = re.compile(r"^\s*(\d{1,2})(?:\s*[:.]\s*(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.I)
FIELD_IDS = {
    "framework": "framework",
    "call_date": "call-date-day",
    "call_time": "call-time",
    "lead_inspector": "lead-inspector",
    "notes": "notes",
}

Announcer = Annotated[User, Depends(require_permission(Permission.announce))]
DrillRunner = Annotated[User, Depends(require_permission(Permission.run_drill))]


@dataclass(frozen=True)
class Flow:
    """What differs between announcing and rehearsing: the words and the addresses."""

    drill: bool
    path: str
    heading: str
    button: str

    @property
    def confirm_path(self) -> str:
        return self.path + "/confirm"


ANNOUNCE = Flow(False, "/announce", "Inspection announced", "Announce the inspection")
REHEARSE = Flow(True, "/rehearsal", "Run a rehearsal", "Start the rehearsal")


@dataclass(frozen=True)
class Preview:
    """What pressing the button will do, counted from today's contacts and rules."""

    people: int
    by_email: int
    by_sms: int
    unreachable: int
    steering_group: int
    tasks: int
    on_site_start: date | None
    inspection_end: date | None
    warnings: list[str]


def _rules(request: Request) -> Rules:
    return request.app.state.rules


def _actor(user: User) -> str:
    return f"user:{user.username}"


def _blank_form(request: Request) -> PageForm:
    """Defaults: the framework most councils use and the present moment, on London's clock."""
    rules = _rules(request)
    keys = rules.frameworks.keys()
    now = utcnow().astimezone(rules.zone)
    values = {
        "framework": DEFAULT_FRAMEWORK if DEFAULT_FRAMEWORK in keys else (keys[0] if keys else ""),
        "call_date-day": str(now.day),
        "call_date-month": str(now.month),
        "call_date-year": str(now.year),
        "call_time": now.strftime("%H:%M"),
        "announce_key": secrets.token_urlsafe(24),
    }
    for name in ("framework", "lead_inspector", "notes"):
        if name in request.query_params:
            values[name] = request.query_params[name]
    return PageForm(values=values, ids=dict(FIELD_IDS))


def _parse_date(form: PageForm) -> date | None:
    parts = [form.value(f"call_date-{p}").strip() for p in ("day", "month", "year")]
    if not all(parts):
        form.add("call_date", "Enter the date of the call, for example 17 11 2026")
        return None
    try:
        day, month, year = (int(p) for p in parts)
        return date(year, month, day)
    except ValueError:
        form.add("call_date", "Date of the call must be a real date")
        return None


def _parse_time(form: PageForm) -> time | None:
    text = form.value("call_time")
    found = TIME_PATTERN.match(text)
    if not text.strip():
        form.add("call_time", "Enter the time of the call, for example 10:30")
        return None
    if found is not None:
        hour, minute = int(found.group(1)), int(found.group(2) or 0)
        half = (found.group(3) or "").lower().replace(".", "")
        if half and 1 <= hour <= 12:
            hour = hour % 12 + (12 if half == "pm" else 0)
        elif half:
            hour = -1
        if (found.group(2) or half) and 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute)
    form.add("call_time", "Time of the call must be a real time, for example 10:30 or 2:15pm")
    return None


def _on_field(form: PageForm, field: str, message: str) -> None:
    """A rule's complaint, shown at the field the person typed."""
    name = {"notified_at": "call_time"}.get(field, field)
    if name not in FIELD_IDS:
        name = "framework"
    label = {
        "framework": "Framework",
        "call_time": "Time of the call",
        "call_date": "Date of the call",
        "lead_inspector": "Lead inspector",
        "notes": "Notes",
    }[name]
    text = message if message[:1].isupper() else f"{label} {message}"
    form.add(name, text)


def _read(request: Request, form: PageForm, *, drill: bool) -> AnnounceRequest | None:
    """The form as the domain's announce request, or None with the form's errors filled in.
    The rules themselves (framework known, not in the future) are the domain's."""
    rules = _rules(request)
    day = _parse_date(form)
    moment = _parse_time(form)
    if day is None or moment is None:
        return None
    notified_at = datetime.combine(day, moment, tzinfo=rules.zone).astimezone(UTC)
    try:
        announced = AnnounceRequest(
            framework=form.value("framework"),
            notified_at=notified_at,
            lead_inspector=form.value("lead_inspector") or None,
            notes=form.value("notes") or None,
            drill=drill,
        )
        rules.framework(announced.framework)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "framework"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "string_too_long":
                message = f"must be {error['ctx']['max_length']} characters or fewer"
            _on_field(form, "call_date" if field == "notified_at" else field, message)
        return None
    except InvalidInput as exc:
        _on_field(form, exc.field, exc.message)
        return None
    if announced.notified_at > utcnow() + service.FUTURE_TOLERANCE:
        form.add("call_time", "Time of the call must be now or in the past")
        return None
    return announced


def _live_problem(session: Session, rules: Rules, form: PageForm, *, drill: bool) -> None:
    """Said before the press, so nobody confirms something that cannot start."""
    live = None if drill else service.live_inspection(session)
    if live is not None:
        called = live.notified_at.astimezone(rules.zone).strftime("%-d %B %Y")
        form.add(
            "framework",
            f"An inspection is already live (Ofsted called on {called}). Record its closed "
            "milestone before announcing another; rehearsals are always allowed",
        )


def preview(session: Session, rules: Rules, announced: AnnounceRequest) -> Preview:
    """Counted the way the cascade will count: active people, by the channels they chose, and
    the steering group as the top of today's tree."""
    rows = session.execute(
        sa.select(  # type: ignore[call-overload]
            Contact.id,
            Contact.reports_to,
            Contact.active,
            Contact.email,
            Contact.mobile,
            Contact.channels,
        )
    ).all()
    everyone = {row.id: row for row in rows}
    levels = cascade.tree(everyone)
    by_email = by_sms = unreachable = 0
    for contact_id in levels:
        reach = cascade.addresses(everyone[contact_id])
        by_email += Medium.email in reach
        by_sms += Medium.sms in reach
        unreachable += not reach
    framework = rules.framework(announced.framework)
    plan = rules.plans.get(framework.key)
    try:
        table = compute(
            framework,
            rules.local_date(announced.notified_at),
            rules.calendar(session),
            {},
            {},
        )
        start, end, warnings = table.on_site_start, table.inspection_end, list(table.warnings)
    except TimetableError as exc:
        start, end, warnings = None, None, [str(exc)]
    return Preview(
        people=len(levels),
        by_email=by_email,
        by_sms=by_sms,
        unreachable=unreachable,
        steering_group=sum(1 for level, _ in levels.values() if level == 1),
        tasks=len(plan.tasks) if plan else 0,
        on_site_start=start,
        inspection_end=end,
        warnings=warnings,
    )


def _framework_items(request: Request, chosen: str) -> list[dict[str, object]]:
    return [
        {"value": f.key, "text": f.name, "selected": f.key == chosen}
        for f in _rules(request).frameworks.all()
    ]


def _form_page(request: Request, flow: Flow, form: PageForm, status_code: int = 200) -> Response:
    return render(
        request,
        "announce_form.html",
        {
            "flow": flow,
            "form": form,
            "frameworks": _framework_items(request, form.value("framework")),
        },
        status_code=status_code,
    )


def _values(
    framework: str,
    day: str,
    month: str,
    year: str,
    call_time: str,
    lead_inspector: str,
    notes: str,
    announce_key: str,
) -> dict[str, str]:
    return {
        "framework": framework.strip(),
        "call_date-day": day,
        "call_date-month": month,
        "call_date-year": year,
        "call_time": call_time,
        "lead_inspector": lead_inspector.strip(),
        "notes": notes.strip(),
        "announce_key": announce_key if KEY_PATTERN.match(announce_key) else "",
    }


def _confirm_page(request: Request, flow: Flow, values: dict[str, str]) -> Response:
    form = PageForm(values=values, ids=dict(FIELD_IDS))
    announced = _read(request, form, drill=flow.drill)
    with Session(reader(request.app.state.engine), expire_on_commit=False) as session:
        if announced is not None:
            _live_problem(session, _rules(request), form, drill=flow.drill)
        if form.errors or announced is None:
            return _form_page(request, flow, form, 422)
        outline = preview(session, _rules(request), announced)
        framework = _rules(request).framework(announced.framework)
    if not form.value("announce_key"):
        form.values["announce_key"] = secrets.token_urlsafe(24)
    return render(
        request,
        "announce_confirm.html",
        {
            "flow": flow,
            "form": form,
            "announced": announced,
            "framework": framework,
            "preview": outline,
        },
    )


def _inspection_path(inspection_id: object) -> str:
    return f"/inspections/{inspection_id}"


def _start(request: Request, flow: Flow, user: User, values: dict[str, str]) -> Response:
    """The press: announce in one transaction with the remembered key, then wake the workers."""
    form = PageForm(values=values, ids=dict(FIELD_IDS))
    announced = _read(request, form, drill=flow.drill)
    key = form.value("announce_key")
    scope = {"principal": _actor(user), "operation": OPERATION}
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        if key:
            earlier = idempotency.find(session, key=key, **scope)
            if earlier is not None:  # the same press, again: show what it started
                return see_other(_inspection_path(earlier.response.get("id")))
        if announced is None:
            return _form_page(request, flow, form, 422)
        now = utcnow()
        try:
            inspection = service.announce(
                session, rules=_rules(request), request=announced, actor=_actor(user), now=now
            )
            if key:
                idempotency.remember(
                    session,
                    key=key,
                    request_hash=idempotency.fingerprint(announced.model_dump(mode="json")),
                    status_code=201,
                    response={"id": str(inspection.id), "drill": inspection.drill},
                    now=now,
                    **scope,
                )
            session.commit()
        except (Conflict, IntegrityError) as exc:
            session.rollback()
            earlier = idempotency.find(session, key=key, **scope) if key else None
            if earlier is not None:  # a concurrent press with the same key won the race
                return see_other(_inspection_path(earlier.response.get("id")))
            if isinstance(exc, IntegrityError):
                raise
            form.add("framework", exc.message[:1].upper() + exc.message[1:])
            return _form_page(request, flow, form, 409)
        except InvalidInput as exc:
            session.rollback()
            _on_field(form, exc.field, exc.message)
            return _form_page(request, flow, form, 422)
        inspection_id = inspection.id
    nudge(request)
    response = see_other(_inspection_path(inspection_id))
    text = (
        "Rehearsal started: every message is marked as an exercise"
        if flow.drill
        else "Inspection announced: the communication tree, the plan and the deadlines have started"
    )
    flash(request, response, text, secure=cookies_secure(request.app.state.settings))
    return response


Text = Annotated[str, Form()]


def _form_values(
    framework: Text = "",
    day: Annotated[str, Form(alias="call_date-day")] = "",
    month: Annotated[str, Form(alias="call_date-month")] = "",
    year: Annotated[str, Form(alias="call_date-year")] = "",
    call_time: Text = "",
    lead_inspector: Text = "",
    notes: Text = "",
    announce_key: Text = "",
) -> dict[str, str]:
    return _values(framework, day, month, year, call_time, lead_inspector, notes, announce_key)


Values = Annotated[dict[str, str], Depends(_form_values)]


@router.get("/announce")
def announce_page(request: Request, _: Announcer) -> Response:
    return _form_page(request, ANNOUNCE, _blank_form(request))


@router.post("/announce")
def announce_check(request: Request, _: Announcer, values: Values) -> Response:
    return _confirm_page(request, ANNOUNCE, values)


@router.post("/announce/confirm")
def announce_confirm(request: Request, user: Announcer, values: Values) -> Response:
    return _start(request, ANNOUNCE, user, values)


@router.get("/rehearsal")
def rehearsal_page(request: Request, _: DrillRunner) -> Response:
    return _form_page(request, REHEARSE, _blank_form(request))


@router.post("/rehearsal")
def rehearsal_check(request: Request, _: DrillRunner, values: Values) -> Response:
    return _confirm_page(request, REHEARSE, values)


@router.post("/rehearsal/confirm")
def rehearsal_confirm(request: Request, user: DrillRunner, values: Values) -> Response:
    return _start(request, REHEARSE, user, values)
