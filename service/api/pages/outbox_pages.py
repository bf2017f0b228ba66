"""The outbox: every message the service produced (the embedded outbox channel's record, and
what the real channels sent), newest first, filtered by inspection, purpose, medium and status;
and one message with its full text, links clickable.

Anyone signed in sees the list, with addresses masked unless they may manage contacts. The
links in messages (acknowledgement, mark-done) act in the recipient's name, so only people with
that right see them: in the list (each message's acknowledgement link) and on a message's own
page, which shows its full text."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from service.api.deps import ReadSessionDep
from service.api.pages.auth import CurrentUser, require_permission
from service.api.pages.contacts_pages import PAGE_SIZE, pagination
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.rendering import render
from service.contacts import service as contacts
from service.contacts.models import Contact
from service.inspections.models import Inspection
from service.inspections.service import list_inspections
from service.notify import listing
from service.notify.channels.base import Medium
from service.notify.models import Message, MessageStatus, Purpose
from service.notify.templates.html import as_html
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["outbox pages"])

MessageReader = Annotated[User, Depends(require_permission(Permission.manage_contacts))]

STATUSES: dict[str, tuple[str, str]] = {
    MessageStatus.queued: ("Queued", "govuk-tag--grey"),
    MessageStatus.sending: ("Sending", "govuk-tag--light-blue"),
    MessageStatus.sent: ("Sent", "govuk-tag--blue"),
    MessageStatus.delivered: ("Delivered", "govuk-tag--green"),
    MessageStatus.failed: ("Failed", "govuk-tag--red"),
    MessageStatus.cancelled: ("Cancelled", "govuk-tag--grey"),
}
MEDIA = {Medium.email.value: "E-mail", Medium.sms.value: "Text message"}
INSPECTION_CHOICES = 50


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
    chosen: dict[str, Any] = {}
    if inspection:
        try:
            chosen["inspection_id"] = uuid.UUID(inspection)
        except ValueError:
            form.add("inspection", "Choose an inspection from the list")
    if purpose:
        if purpose in {p.value for p in Purpose}:
            chosen["purpose"] = purpose
        else:
            form.add("purpose", "Choose a purpose from the list")
    if medium:
        if medium in MEDIA:
            chosen["medium"] = medium
        else:
            form.add("medium", "Choose a medium from the list")
    if status:
        if status in STATUSES:
            chosen["status"] = status
        else:
            form.add("status", "Choose a status from the list")
    found = listing.MessagePage(items=[], total=0)
    if not form.errors:
        found = listing.page(
            session,
            listing.MessageFilter(**chosen),
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    messages, total = found.items, found.total
    names = contacts.names_of(session, {m.contact_id for m in messages if m.contact_id})
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
                    "address": listing.shown_address(m, full=full),
                    "status": STATUSES.get(m.status, (m.status, "govuk-tag--grey")),
                    "medium": MEDIA.get(m.medium, m.medium),
                    "ack_link": listing.ack_link(m) if full else None,
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
            "body_html": as_html(
                message.body,
                paragraph_class="govuk-body",
                link_class="govuk-link",
                list_class="govuk-list govuk-list--bullet",
            ),
            "status": STATUSES.get(message.status, (message.status, "govuk-tag--grey")),
            "medium": MEDIA.get(message.medium, message.medium),
        },
    )
