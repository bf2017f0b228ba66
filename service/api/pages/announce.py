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
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from service.api import idempotency
from service.api.deps import ReadSessionDep, RulesDep, SessionDep, nudge
from service.api.pages.auth import cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.forms import read_date
from service.api.pages.framework import page_router, see_other
from service.api.pages.rendering import render
from service.cascade.reach import reach
from service.db import utcnow
from service.errors import Conflict, InvalidInput
from service.inspections import flows as inspection_flows
from service.inspections import service
from service.inspections.schemas import AnnounceRequest
from service.inspections.timetable import TimetableError
from service.rules import Rules
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


def _actor(user: User) -> str:
    return f"user:{user.username}"


def _blank_form(request: Request, rules: Rules) -> PageForm:
    """Defaults: the framework most councils use and the present moment, on London's clock."""
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


def _read(rules: Rules, form: PageForm, *, drill: bool) -> AnnounceRequest | None:
    """The form as the domain's announce request, or None with the form's errors filled in.
    The rules themselves (framework known, not in the future) are the domain's."""
    day = read_date(
        form,
        "call_date",
        missing="Enter the date of the call, for example 17 11 2026",
        label="Date of the call",
    )
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
    if announced.notified_at > utcnow() + inspection_flows.FUTURE_TOLERANCE:
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
    """Who the tree reaches, how many tasks start and the on-site days, each from its domain."""
    reached = reach(session, rules.steering_group)
    try:
        table = service.planned_timetable(
            session, rules=rules, framework=announced.framework, notified_at=announced.notified_at
        )
        start, end, warnings = table.on_site_start, table.inspection_end, list(table.warnings)
    except TimetableError as exc:
        start, end, warnings = None, None, [str(exc)]
    return Preview(
        people=reached.people,
        by_email=reached.by_email,
        by_sms=reached.by_sms,
        unreachable=reached.unreachable,
        steering_group=reached.steering_group,
        tasks=rules.plans.task_count(announced.framework),
        on_site_start=start,
        inspection_end=end,
        warnings=warnings,
    )


def _framework_items(rules: Rules, chosen: str) -> list[dict[str, object]]:
    return [
        {"value": f.key, "text": f.name, "selected": f.key == chosen}
        for f in rules.frameworks.all()
    ]


def _form_page(
    request: Request, rules: Rules, flow: Flow, form: PageForm, status_code: int = 200
) -> Response:
    return render(
        request,
        "announce_form.html",
        {
            "flow": flow,
            "form": form,
            "frameworks": _framework_items(rules, form.value("framework")),
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


def _confirm_page(
    request: Request, session: Session, rules: Rules, flow: Flow, values: dict[str, str]
) -> Response:
    form = PageForm(values=values, ids=dict(FIELD_IDS))
    announced = _read(rules, form, drill=flow.drill)
    if announced is not None:
        _live_problem(session, rules, form, drill=flow.drill)
    if form.errors or announced is None:
        return _form_page(request, rules, flow, form, 422)
    outline = preview(session, rules, announced)
    framework = rules.framework(announced.framework)
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


def _start(
    request: Request,
    session: Session,
    rules: Rules,
    flow: Flow,
    user: User,
    values: dict[str, str],
) -> Response:
    """The press: announce in one transaction with the remembered key, then wake the workers."""
    form = PageForm(values=values, ids=dict(FIELD_IDS))
    announced = _read(rules, form, drill=flow.drill)
    key = form.value("announce_key") or None
    if announced is None:
        earlier = idempotency.find(session, principal=_actor(user), operation=OPERATION, key=key)
        if key and earlier is not None:  # the same press, again: show what it started
            return see_other(_inspection_path(earlier.response.get("id")))
        return _form_page(request, rules, flow, form, 422)
    now = utcnow()

    def start() -> tuple[int, dict[str, Any]]:
        inspection = inspection_flows.announce(
            session, rules=rules, request=announced, actor=_actor(user), now=now
        )
        return 201, {"id": str(inspection.id), "drill": inspection.drill}

    try:
        once = idempotency.run_once(
            session,
            principal=_actor(user),
            operation=OPERATION,
            key=key,
            body=announced.model_dump(mode="json"),
            action=start,
            now=now,
        )
    except Conflict as exc:
        form.add("framework", exc.message[:1].upper() + exc.message[1:])
        return _form_page(request, rules, flow, form, 409)
    except InvalidInput as exc:
        session.rollback()
        _on_field(form, exc.field, exc.message)
        return _form_page(request, rules, flow, form, 422)
    if once.replayed:  # the same press, again (or racing itself): show what it started
        return see_other(_inspection_path(once.response.get("id")))
    nudge(request)
    response = see_other(_inspection_path(once.response["id"]))
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
def announce_page(request: Request, _: Announcer, rules: RulesDep) -> Response:
    return _form_page(request, rules, ANNOUNCE, _blank_form(request, rules))


@router.post("/announce")
def announce_check(
    request: Request, _: Announcer, values: Values, session: ReadSessionDep, rules: RulesDep
) -> Response:
    return _confirm_page(request, session, rules, ANNOUNCE, values)


@router.post("/announce/confirm")
def announce_confirm(
    request: Request, user: Announcer, values: Values, session: SessionDep, rules: RulesDep
) -> Response:
    return _start(request, session, rules, ANNOUNCE, user, values)


@router.get("/rehearsal")
def rehearsal_page(request: Request, _: DrillRunner, rules: RulesDep) -> Response:
    return _form_page(request, rules, REHEARSE, _blank_form(request, rules))


@router.post("/rehearsal")
def rehearsal_check(
    request: Request, _: DrillRunner, values: Values, session: ReadSessionDep, rules: RulesDep
) -> Response:
    return _confirm_page(request, session, rules, REHEARSE, values)


@router.post("/rehearsal/confirm")
def rehearsal_confirm(
    request: Request, user: DrillRunner, values: Values, session: SessionDep, rules: RulesDep
) -> Response:
    return _start(request, session, rules, REHEARSE, user, values)
