"""What the plan's pages share (tasks, roles, the case audit): who may change the plan, the
people to choose from, the inspection a path names and the words for the outcome. The rules are
in service/plan/; these pages call them in one transaction and show their InvalidInput at the
field it names, so nothing is half-written and no rule is checked twice."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.pages.auth import cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.framework import see_other
from service.contacts import service as contacts
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.users.models import User
from service.users.permissions import Permission

PlanManager = Annotated[User, Depends(require_permission(Permission.manage_plan))]
MAX_CONTACT_CHOICES = 500
"""Selects of people list at most this many active contacts (by name); a tree larger than that
is searched on the contacts page, and the API takes any contact id."""
PLAN_CHANGED = "the plan changed at the same moment; try again"
"""For commit_or_conflict: two people changing the same thing at once, one wins and the other
is told at the field."""


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def find_inspection(session: Session, inspection_id: str) -> Inspection | None:
    found = parse_id(inspection_id)
    return session.get(Inspection, found) if found else None


def title_of(inspection: Inspection) -> str:
    kind = "Rehearsal" if inspection.drill else "Inspection"
    return f"{kind} announced {inspection.notified_at:%-d %B %Y}"


def active_people(session: Session) -> list[Contact]:
    people, _ = contacts.list_contacts(session, active=True, limit=MAX_CONTACT_CHOICES)
    return people


def people_items(
    people: list[Contact], chosen: str | None, *, blank: str | None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if blank is not None:
        items.append({"value": "", "text": blank, "selected": not chosen})
    items += [
        {
            "value": person.id,
            "text": f"{person.name} ({person.role})" if person.role else person.name,
            "selected": person.id == chosen,
        }
        for person in people
    ]
    return items


def done(request: Request, path: str, message: str) -> Response:
    response = see_other(path)
    flash(request, response, message, secure=cookies_secure(request.app.state.settings))
    return response


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:]
