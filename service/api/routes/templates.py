"""Message templates: read the ones in use, save the council's edits, go back to the shipped
defaults, and preview a message for a contact or an invented person."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session

from service.api.deps import SessionDep, SettingsDep, TemplatesReader, TemplatesWriter
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, keyset
from service.contacts.models import Contact
from service.db import utcnow
from service.errors import Conflict, NotFound
from service.notify.models import Medium, Purpose
from service.notify.schemas import (
    TemplatePreview,
    TemplatePreviewRequest,
    TemplatePublic,
    TemplatesPublic,
    TemplateUpdate,
)
from service.notify.templates import edits, store
from service.notify.templates.preview import preview

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

BAD_TEXT = {422: "Bad input; `detail[].loc` names the field, `msg` the placeholder"}


@router.get(
    "",
    response_model=TemplatesPublic,
    summary="Every template in use (each purpose, e-mail and SMS)",
    responses=error_responses(401, 403, described=BAD_TEXT),
)
def list_templates(session: SessionDep, _: TemplatesReader, page: CursorPageDep) -> TemplatesPublic:
    """In the order of purposes and media as the service lists them."""
    places = {
        (purpose, medium): place
        for place, (purpose, medium) in enumerate(
            (purpose, medium) for purpose in Purpose for medium in Medium
        )
    }
    found, next_cursor = keyset(
        store.all_current(session),
        page=page,
        key=lambda row: (places[(Purpose(row.purpose), Medium(row.medium))],),
        kinds=(int,),
    )
    return TemplatesPublic(
        items=[TemplatePublic.of(template) for template in found], next_cursor=next_cursor
    )


@router.get(
    "/{purpose}/{medium}",
    response_model=TemplatePublic,
    summary="One template in use, with the placeholders it may use",
    responses=error_responses(401, 403, described=BAD_TEXT),
)
def read_template(
    purpose: Purpose, medium: Medium, session: SessionDep, _: TemplatesReader
) -> TemplatePublic:
    return TemplatePublic.of(store.current(session, purpose, medium))


def _save(
    session: Session, purpose: Purpose, medium: Medium, edit: TemplateUpdate, actor: str
) -> store.Template:
    saved = edits.save(
        session,
        purpose=purpose,
        medium=medium,
        subject=edit.subject,
        body=edit.body,
        actor=actor,
        now=utcnow(),
    )
    commit_or_conflict(session)
    return saved


@router.put(
    "/{purpose}/{medium}",
    response_model=TemplatePublic,
    summary="Save the council's edit (validated against the purpose's placeholders)",
    responses=error_responses(401, 403, described=BAD_TEXT),
)
def save_template(
    purpose: Purpose,
    medium: Medium,
    body: TemplateUpdate,
    session: SessionDep,
    principal: TemplatesWriter,
) -> TemplatePublic:
    try:
        saved = _save(session, purpose, medium, body, principal.actor)
    except Conflict:
        # Another request stored the first edit at the same moment: save over it.
        saved = _save(session, purpose, medium, body, principal.actor)
    return TemplatePublic.of(saved)


@router.delete(
    "/{purpose}/{medium}",
    status_code=204,
    summary="Remove the council's edit: the shipped default is used again",
    responses=error_responses(401, 403, described=BAD_TEXT),
)
def reset_template(
    purpose: Purpose, medium: Medium, session: SessionDep, principal: TemplatesWriter
) -> Response:
    if edits.reset(session, purpose=purpose, medium=medium, actor=principal.actor, now=utcnow()):
        commit_or_conflict(session)
    return Response(status_code=204)


@router.post(
    "/{purpose}/{medium}/preview",
    response_model=TemplatePreview,
    summary="Render the stored template, or unsaved text, for a contact or an invented person",
    responses=error_responses(401, 403, described={**BAD_TEXT, 404: "No such contact"}),
)
def preview_template(
    purpose: Purpose,
    medium: Medium,
    body: TemplatePreviewRequest,
    session: SessionDep,
    settings: SettingsDep,
    _: TemplatesReader,
) -> TemplatePreview:
    contact = None
    if body.contact_id is not None:
        contact = session.get(Contact, body.contact_id)
        if contact is None:
            raise NotFound(f"no contact {body.contact_id!r}")
    template = store.current(session, purpose, medium)
    rendered = preview(
        purpose,
        medium,
        subject=template.subject if body.subject is None else body.subject,
        body=template.body if body.body is None else body.body,
        contact=contact,
        council_name=settings.council_name,
        base_url=settings.public_base_url,
        unsaved=body.subject is not None or body.body is not None,
        drill=body.drill,
        sms_prefix=settings.notify_sms_prefix,
    )
    return TemplatePreview(
        subject=rendered.subject if medium is Medium.email else None,
        body=rendered.body,
        html_body=rendered.html_body,
        sms_fragments=rendered.sms_fragments,
        characters=rendered.characters,
    )
