"""The outbox: every message the service produced (the embedded outbox channel's record, and
what the real channels sent), newest first, filtered by inspection, purpose, medium and status;
and one message with its full text, links clickable.

Anyone signed in sees the list, with addresses masked unless they may manage contacts. The
links in messages (acknowledgement, mark-done) act in the recipient's name, so only people with
that right see them: in the list (each message's acknowledgement link) and on a message's own
page, which shows its full text."""

from __future__ import annotations

import math
import re
import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, func, select

from service.api.deps import ReadSessionDep
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.contacts_pages import PAGE_SIZE, pagination
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.message_text import as_html
from service.api.pages.rendering import render
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.inspections.service import list_inspections
from service.notify.base import Medium
from service.notify.masking import mask_email, mask_phone
from service.notify.models import CANCELLED, DELIVERED, FAILED, QUEUED, SENDING, SENT, Message
from service.notify.render import Purpose
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["outbox pages"])

MessageReader = Annotated[User, Depends(require_permission(Permission.manage_contacts))]

STATUSES: dict[str, tuple[str, str]] = {
    QUEUED: ("Queued", "govuk-tag--grey"),
    SENDING: ("Sending", "govuk-tag--light-blue"),
    SENT: ("Sent", "govuk-tag--blue"),
    DELIVERED: ("Delivered", "govuk-tag--green"),
    FAILED: ("Failed", "govuk-tag--red"),
    CANCELLED: ("Cancelled", "govuk-tag--grey"),
}
ACK_LINK = re.compile(r"https?://\S+?/ack/[A-Za-z0-9_.~=-]+")
MEDIA = {Medium.email.value: "E-mail", Medium.sms.value: "Text message"}
INSPECTION_CHOICES = 50


def _address(message: Message, full: bool) -> str:
    if full:
        return message.address
    return mask_email(message.address) if message.medium == "email" else mask_phone(message.address)


def _inspection_label(inspection: Inspection, zone: Any) -> str:
    when = inspection.notified_at.astimezone(zone).strftime("%-d %B %Y, %H:%M")
    return f"{'Rehearsal' if inspection.drill else 'Inspection'} of {when}"


def _select(options: list[tuple[str, str]], chosen: str, everything: str) -> list[dict[str, Any]]:
    return [{"value": "", "text": everything, "selected": not chosen}] + [
        {"value": value, "text": text, "selected": value == chosen} for value, text in options
    ]


@router.get("/outbox")
def outbox_page(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    inspection: Annotated[str, Query(max_length=64)] = "",
    purpose: Annotated[str, Query(max_length=32)] = "",
    medium: Annotated[str, Query(max_length=8)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    settings = request.app.state.settings
    values = {"inspection": inspection, "purpose": purpose, "medium": medium, "status": status}
    form = PageForm(values=values)
    filters: list[Any] = []
    if inspection:
        try:
            filters.append(Message.inspection_id == uuid.UUID(inspection))
        except ValueError:
            form.add("inspection", "Choose an inspection from the list")
    if purpose:
        if purpose in {p.value for p in Purpose}:
            filters.append(Message.purpose == purpose)
        else:
            form.add("purpose", "Choose a purpose from the list")
    if medium:
        if medium in MEDIA:
            filters.append(Message.medium == medium)
        else:
            form.add("medium", "Choose a medium from the list")
    if status:
        if status in STATUSES:
            filters.append(Message.status == status)
        else:
            form.add("status", "Choose a status from the list")
    messages: list[Message] = []
    total = 0
    if not form.errors:
        total = session.exec(select(func.count()).select_from(Message).where(*filters)).one()
        messages = list(
            session.exec(
                select(Message)
                .where(*filters)
                .order_by(col(Message.created_at).desc(), col(Message.priority), col(Message.id))
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            ).all()
        )
    names = _names(session, {m.contact_id for m in messages if m.contact_id})
    full = can(user.role, Permission.manage_contacts)
    inspections = list_inspections(session, limit=INSPECTION_CHOICES)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return render(
        request,
        "outbox.html",
        {
            "form": form,
            "rows": [
                {
                    "message": m,
                    "to": names.get(m.contact_id or "", ""),
                    "address": _address(m, full),
                    "status": STATUSES.get(m.status, (m.status, "govuk-tag--grey")),
                    "medium": MEDIA.get(m.medium, m.medium),
                    "ack_link": _ack_link(m) if full else None,
                }
                for m in messages
            ],
            "total": total,
            "first_shown": (page - 1) * PAGE_SIZE + 1,
            "full": full,
            "inspection_items": _select(
                [(str(i.id), _inspection_label(i, settings.zone)) for i in inspections],
                inspection,
                "All inspections and rehearsals",
            ),
            "purpose_items": _select([(p.value, p.value) for p in Purpose], purpose, "All"),
            "medium_items": _select(list(MEDIA.items()), medium, "All"),
            "status_items": _select([(k, v[0]) for k, v in STATUSES.items()], status, "All"),
            "pagination": pagination("/outbox", values, page, pages) if pages > 1 else None,
        },
        status_code=422 if form.errors else 200,
    )


def _ack_link(message: Message) -> str | None:
    """The acknowledgement link in the message, so that on the embedded channel someone testing
    the tree can follow it from the list as the recipient would (the page it opens asks before
    recording anything)."""
    found = ACK_LINK.search(message.body)
    return found.group(0) if found else None


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(ids))).all()
    return dict(rows)


@router.get("/outbox/{message_id}")
def message_page(
    request: Request, user: MessageReader, session: ReadSessionDep, message_id: str
) -> Response:
    try:
        ident = uuid.UUID(message_id)
    except ValueError:
        return not_found(request, "There is no such message.")
    message = session.get(Message, ident)
    if message is None:
        return not_found(request, "There is no such message.")
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    return render(
        request,
        "outbox_message.html",
        {
            "message": message,
            "contact": contact,
            "body_html": as_html(message.body),
            "status": STATUSES.get(message.status, (message.status, "govuk-tag--grey")),
            "medium": MEDIA.get(message.medium, message.medium),
        },
    )
