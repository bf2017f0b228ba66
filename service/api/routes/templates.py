"""Message templates: read the ones in use, save the council's edits, go back to the shipped
defaults, and preview a message for a contact or an invented person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service import acks
from service.api.deps import SessionDep, SettingsDep, TemplatesReader, TemplatesWriter
from service.contacts.models import Contact
from service.db import utcnow
from service.errors import NotFound
from service.notify import render
from service.notify.base import Medium
from service.notify.render import PLACEHOLDERS, Purpose
from service.request_models import RequestBody

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The API key lacks the scope"},
    422: {"description": "Bad input; `detail[].loc` names the field, `msg` the placeholder"},
}


class Placeholder(BaseModel):
    name: str
    description: str


class TemplateOut(BaseModel):
    purpose: Purpose
    medium: Medium
    subject: str | None = Field(description="None for SMS.")
    body: str
    placeholders: list[Placeholder]
    customised: bool = Field(description="True when the council's edit is in use.")
    updated_at: datetime | None = None
    updated_by: str | None = None


class _Text(RequestBody):
    """Template text keeps its white space exactly as written."""


class TemplateIn(_Text):
    subject: str | None = Field(
        default=None,
        max_length=render.MAX_SUBJECT_CHARACTERS,
        description="Required for e-mail; leave out for SMS.",
    )
    body: str = Field(max_length=render.MAX_BODY_CHARACTERS)


class PreviewIn(_Text):
    contact_id: str | None = Field(
        default=None, max_length=64, description="A stored contact; else an invented person."
    )
    subject: str | None = Field(
        default=None,
        max_length=render.MAX_SUBJECT_CHARACTERS,
        description="Unsaved subject to preview instead of the stored one.",
    )
    body: str | None = Field(
        default=None,
        max_length=render.MAX_BODY_CHARACTERS,
        description="Unsaved body to preview instead of the stored one.",
    )
    drill: bool = Field(default=False, description="Show it as sent in a rehearsal.")


class PreviewOut(BaseModel):
    subject: str | None
    body: str
    html_body: str | None
    sms_fragments: int | None
    characters: int


def _out(template: render.Template) -> TemplateOut:
    return TemplateOut(
        purpose=template.purpose,
        medium=template.medium,
        subject=template.subject if template.medium is Medium.email else None,
        body=template.body,
        placeholders=[
            Placeholder(name=name, description=description)
            for name, description in PLACEHOLDERS[template.purpose].items()
        ],
        customised=template.customised,
        updated_at=template.updated_at,
        updated_by=template.updated_by,
    )


@router.get("", summary="Every template in use (each purpose, e-mail and SMS)", responses=ERRORS)
def list_templates(session: SessionDep, _: TemplatesReader) -> dict[str, list[TemplateOut]]:
    return {"items": [_out(template) for template in render.all_current(session)]}


@router.get(
    "/{purpose}/{medium}",
    response_model=TemplateOut,
    summary="One template in use, with the placeholders it may use",
    responses=ERRORS,
)
def read_template(
    purpose: Purpose, medium: Medium, session: SessionDep, _: TemplatesReader
) -> TemplateOut:
    return _out(render.current(session, purpose, medium))


def _save_and_record(
    session: Session, purpose: Purpose, medium: Medium, edit: TemplateIn, actor: str
) -> render.Template:
    saved = render.save(
        session,
        purpose=purpose,
        medium=medium,
        subject=edit.subject,
        body=edit.body,
        actor=actor,
        now=utcnow(),
    )
    session.commit()
    return saved


@router.put(
    "/{purpose}/{medium}",
    response_model=TemplateOut,
    summary="Save the council's edit (validated against the purpose's placeholders)",
    responses=ERRORS,
)
def save_template(
    purpose: Purpose,
    medium: Medium,
    body: TemplateIn,
    session: SessionDep,
    principal: TemplatesWriter,
) -> TemplateOut:
    try:
        saved = _save_and_record(session, purpose, medium, body, principal.actor)
    except IntegrityError:
        # Another request stored the first edit at the same moment: save over it.
        session.rollback()
        saved = _save_and_record(session, purpose, medium, body, principal.actor)
    return _out(saved)


@router.delete(
    "/{purpose}/{medium}",
    status_code=204,
    summary="Remove the council's edit: the shipped default is used again",
    responses=ERRORS,
)
def reset_template(
    purpose: Purpose, medium: Medium, session: SessionDep, principal: TemplatesWriter
) -> Response:
    if render.reset(session, purpose=purpose, medium=medium, actor=principal.actor, now=utcnow()):
        session.commit()
    return Response(status_code=204)


@router.post(
    "/{purpose}/{medium}/preview",
    response_model=PreviewOut,
    summary="Render the stored template, or unsaved text, for a contact or an invented person",
    responses={**ERRORS, 404: {"description": "No such contact"}},
)
def preview_template(
    purpose: Purpose,
    medium: Medium,
    body: PreviewIn,
    session: SessionDep,
    settings: SettingsDep,
    _: TemplatesReader,
) -> PreviewOut:
    contact = None
    if body.contact_id is not None:
        contact = session.get(Contact, body.contact_id)
        if contact is None:
            raise NotFound(f"no contact {body.contact_id!r}")
    template = render.current(session, purpose, medium)
    subject = template.subject if body.subject is None else body.subject
    text = template.body if body.body is None else body.body
    if body.subject is not None or body.body is not None:
        render.validate(purpose, medium, subject, text)
    context = render.sample_context(
        purpose,
        contact,
        council_name=settings.council_name,
        ack_url=acks.ack_url(settings.public_base_url, render.SAMPLE_ACK_TOKEN),
    )
    rendered = render.render_text(
        purpose, medium, subject=subject, body=text, context=context, drill=body.drill
    )
    return PreviewOut(
        subject=rendered.subject if medium is Medium.email else None,
        body=rendered.body,
        html_body=rendered.html_body,
        sms_fragments=rendered.sms_fragments,
        characters=rendered.characters,
    )
