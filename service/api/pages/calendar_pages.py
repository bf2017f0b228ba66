"""An inspection's Calendar page: make a feed (the whole inspection or one person's tasks), see
the feeds and revoke them. A new feed's address is shown once, on the page that made it, as an
API key is: only a hash of its secret is kept, so a lost address is replaced (make a new feed,
revoke the old), never shown again to whoever opens the page later."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.api.deps import ReadSessionDep, SessionDep
from service.api.errors import commit_or_conflict
from service.api.pages.auth import require_permission
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router
from service.api.pages.plan_shared import (
    active_people,
    done,
    find_inspection,
    people_items,
    sentence,
    title_of,
)
from service.api.pages.rendering import render
from service.calendar_feeds import feeds
from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.inspections.models import Inspection
from service.users import service as users
from service.users.models import User
from service.users.permissions import Permission

router = page_router(tags=["calendar pages"])

CalendarManager = Annotated[User, Depends(require_permission(Permission.manage_calendar_feeds))]
NO_INSPECTION = "There is no such inspection."
MAX_CONTACT_ID = 64
MAX_LISTED = 500
"""Feeds listed on the page; the API lists any number."""


def _page(
    request: Request,
    session: Session,
    inspection: Inspection,
    *,
    form: PageForm | None = None,
    made: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form = form or PageForm(ids={"contact_id": "contact-id"})
    rows, more = feeds.page(session, inspection_id=inspection.id, limit=MAX_LISTED)
    return render(
        request,
        "calendar_feeds.html",
        {
            "inspection": inspection,
            "heading": title_of(inspection),
            "feeds": rows,
            "more": more,
            "people": people_items(
                active_people(session),
                form.value("contact_id"),
                blank="The whole inspection: phases, on-site days, deadlines, every task",
            ),
            "form": form,
            "made": made,
        },
        status_code=status_code,
    )


@router.get("/inspections/{inspection_id}/calendar")
def calendar_page(
    request: Request, inspection_id: str, _: CalendarManager, session: ReadSessionDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    return _page(request, session, inspection)


@router.post("/inspections/{inspection_id}/calendar/feeds")
def create_feed(
    request: Request,
    inspection_id: str,
    user: CalendarManager,
    session: SessionDep,
    reading: ReadSessionDep,
    contact_id: Annotated[str, Form()] = "",
) -> Response:
    """Answers with the page itself (not a redirect), the only place the address is shown."""
    inspection = find_inspection(reading, inspection_id)
    if inspection is None:
        return not_found(request, NO_INSPECTION)
    chosen = contact_id.strip() or None
    try:
        if chosen is not None and len(chosen) > MAX_CONTACT_ID:
            raise InvalidInput("contact_id", "choose a person from the list")
        feed, token = feeds.create(
            session,
            inspection_id=inspection.id,
            contact_id=chosen,
            actor=users.actor_for(user),
            now=utcnow(),
        )
        commit_or_conflict(session)
    except InvalidInput as exc:
        session.rollback()
        form = PageForm(
            values={"contact_id": contact_id},
            errors={"contact_id": sentence(exc.message)},
            ids={"contact_id": "contact-id"},
        )
        return _page(request, reading, inspection, form=form, status_code=422)
    url = feeds.feed_url(request.app.state.settings.public_base_url, token)
    made = {"url": url, "webcal_url": feeds.webcal_url(url), "id": str(feed.id)}
    reading.rollback()  # a new snapshot, which holds the feed just made
    return _page(request, reading, inspection, made=made, status_code=201)


@router.post("/inspections/{inspection_id}/calendar/feeds/{feed_id}/revoke")
def revoke_feed(
    request: Request, inspection_id: str, feed_id: str, user: CalendarManager, session: SessionDep
) -> Response:
    inspection = find_inspection(session, inspection_id)
    number = int(feed_id) if feed_id.isascii() and feed_id.isdigit() and len(feed_id) < 19 else 0
    try:
        feed = feeds.revoke(session, number, actor=users.actor_for(user), now=utcnow())
        if inspection is None or feed.inspection_id != inspection.id:
            raise NotFound("not this inspection's feed")
        commit_or_conflict(session)
    except NotFound:
        session.rollback()
        return not_found(request, "There is no such calendar feed.")
    return done(
        request,
        f"/inspections/{inspection.id}/calendar",
        "The feed is revoked: calendars subscribed to it stop updating",
    )
