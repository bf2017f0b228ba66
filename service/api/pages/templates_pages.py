"""Message templates: every purpose and medium with whether the council has edited it, and one
template's page with its preview for a chosen contact (or an invented person) and, for people
who may manage templates, editing, a live preview and going back to the shipped default.

Edits the move to Notify's template language could not convert are named on both pages, with
their old text on the template's own page, until someone saves the template again or chooses to
keep the shipped words.

The preview is service/notify/templates/preview.py's, as the templates API uses it: unsaved text
is validated first, so a preview and a save refuse the same things, named at the same field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.api.deps import ReadSessionDep, SessionDep
from service.api.pages.auth import CurrentUser, cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render as render_page
from service.contacts.models import Contact
from service.db import utcnow
from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates import edits, store
from service.notify.templates.html import as_html
from service.notify.templates.placeholders import PLACEHOLDERS
from service.notify.templates.preview import preview
from service.notify.templates.render import Rendered, RenderError
from service.notify.templates.samples import SAMPLE_CONTACT
from service.notify.templates.validate import MAX_BODY_CHARACTERS
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["template pages"])

TemplatesManager = Annotated[User, Depends(require_permission(Permission.manage_templates))]

PURPOSE_NAMES: dict[Purpose, str] = {
    Purpose.announcement: "Inspection announced",
    Purpose.drill: "Rehearsal",
    Purpose.escalation: "Escalation (someone has not acknowledged)",
    Purpose.reminder: "Deadline reminder",
    Purpose.task_reminder: "Task reminder",
    Purpose.task_overdue: "Task overdue",
    Purpose.task_digest: "Daily task digest",
    Purpose.reply_help: "Answer to a text reply that did not acknowledge",
}
MEDIUM_NAMES: dict[Medium, str] = {Medium.email: "E-mail", Medium.sms: "Text message"}
CONTACT_CHOICES = 200
"""How many contacts the "Preview for" list offers (the steering group first); any other
contact can be chosen with `?contact=` in the address."""


def actor_for(user: User) -> str:
    return f"user:{user.username}"


def _known(purpose: str, medium: str) -> tuple[Purpose, Medium] | None:
    try:
        return Purpose(purpose), Medium(medium)
    except ValueError:
        return None


def _missing(request: Request, purpose: str, medium: str) -> Response:
    return not_found(request, f"There is no {medium[:20]} template for {purpose[:40]}.")


@router.get("/templates")
def templates_page(request: Request, _: CurrentUser, session: ReadSessionDep) -> Response:
    reset = edits.reset_on_upgrade(session)
    rows = [
        {
            "template": template,
            "purpose_name": PURPOSE_NAMES[template.purpose],
            "medium_name": MEDIUM_NAMES[template.medium],
            "href": f"/templates/{template.purpose.value}/{template.medium.value}",
            "reset_on_upgrade": (template.purpose, template.medium) in reset,
        }
        for template in store.all_current(session)
    ]
    return render_page(
        request,
        "templates_list.html",
        {"rows": rows, "reset_on_upgrade": [row for row in rows if row["reset_on_upgrade"]]},
    )


@dataclass
class Draft:
    """What the page shows and previews: the stored text, or text typed but not yet saved."""

    subject: str
    body: str
    contact_id: str = ""


def _preview(
    session: Session,
    request: Request,
    purpose: Purpose,
    medium: Medium,
    draft: Draft,
    *,
    validate: bool,
) -> tuple[Rendered | None, PageForm]:
    """The rendered message, or the problems with the text (at their field)."""
    form = PageForm(
        values={"subject": draft.subject, "body": draft.body, "contact": draft.contact_id},
        ids={"contact": "contact"},
    )
    contact = None
    if draft.contact_id:
        contact = session.get(Contact, draft.contact_id)
        if contact is None:
            form.add("contact", "Choose someone from the list")
            return None, form
    settings = request.app.state.settings
    try:
        rendered = preview(
            purpose,
            medium,
            subject=draft.subject,
            body=draft.body,
            contact=contact,
            council_name=settings.council_name,
            base_url=settings.public_base_url,
            unsaved=validate,
            sms_prefix=settings.notify_sms_prefix,
        )
    except InvalidInput as exc:
        form.add(exc.field, _sentence(exc.field, exc.message))
        return None, form
    except RenderError as exc:
        form.add(exc.field, _sentence(exc.field, exc.message.removeprefix(f"{exc.field}: ")))
        return None, form
    return rendered, form


def _sentence(field: str, message: str) -> str:
    name = "The subject" if field == "subject" else "The message"
    if message.startswith(("must ", "renders ", "is ")):
        return f"{name} {message}"
    return f"{name} has a problem: {message}"


def _contact_choices(session: Session, chosen: str) -> list[dict[str, Any]]:
    people = session.exec(
        select(Contact)
        .where(col(Contact.active).is_(True))
        .order_by(col(Contact.reports_to).is_not(None), col(Contact.name), col(Contact.id))
        .limit(CONTACT_CHOICES)
    ).all()
    if chosen and chosen not in {p.id for p in people}:
        extra = session.get(Contact, chosen)
        if extra is not None:
            people = [extra, *people]
    items: list[dict[str, Any]] = [
        {
            "value": "",
            "text": f"{SAMPLE_CONTACT['name']} (an invented person)",
            "selected": not chosen,
        }
    ]
    items += [
        {
            "value": person.id,
            "text": f"{person.name} ({person.id})",
            "selected": person.id == chosen,
        }
        for person in people
    ]
    return items


def _preview_context(rendered: Rendered | None, medium: Medium, form: PageForm) -> dict[str, Any]:
    return {
        "rendered": rendered,
        "rendered_html": (
            as_html(
                rendered.body,
                paragraph_class="govuk-body",
                link_class="govuk-link",
                list_class="govuk-list govuk-list--bullet",
            )
            if rendered is not None
            else Markup("")
        ),
        "is_email": medium is Medium.email,
        "preview_form": form,
    }


def _template_page(
    request: Request,
    session: Session,
    user: User,
    purpose: Purpose,
    medium: Medium,
    draft: Draft,
    *,
    validate: bool,
    status_code: int = 200,
    form: PageForm | None = None,
) -> Response:
    template = store.current(session, purpose, medium)
    rendered, problems = _preview(session, request, purpose, medium, draft, validate=validate)
    if form is None:
        form = problems
    return render_page(
        request,
        "templates_edit.html",
        {
            "form": form,
            "template": template,
            "purpose_name": PURPOSE_NAMES[purpose],
            "medium_name": MEDIUM_NAMES[medium],
            "path": f"/templates/{purpose.value}/{medium.value}",
            "placeholders": PLACEHOLDERS[purpose],
            "contacts": _contact_choices(session, draft.contact_id),
            "editable": can(user.role, Permission.manage_templates),
            "max_body": MAX_BODY_CHARACTERS,
            "reset_on_upgrade": edits.reset_on_upgrade(session).get((purpose, medium)),
            **_preview_context(rendered, medium, problems),
        },
        status_code=422 if form.errors else status_code,
    )


@router.get("/templates/{purpose}/{medium}")
def template_page(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    purpose: str,
    medium: str,
    contact: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    known = _known(purpose, medium)
    if known is None:
        return _missing(request, purpose, medium)
    template = store.current(session, *known)
    draft = Draft(subject=template.subject, body=template.body, contact_id=contact)
    return _template_page(request, session, user, *known, draft, validate=False)


async def _draft(request: Request) -> Draft:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.replace("\r\n", "\n") if isinstance(value, str) else ""

    return Draft(subject=text("subject"), body=text("body"), contact_id=text("contact")[:64])


@router.post("/templates/{purpose}/{medium}")
async def save_or_preview(
    request: Request,
    user: TemplatesManager,
    session: SessionDep,
    reading: ReadSessionDep,
    purpose: str,
    medium: str,
) -> Response:
    """The form's two buttons: "Preview" shows the unsaved text rendered; "Save" validates and
    stores it (nothing is stored when anything is wrong). Pages are shown from `reading`."""
    known = _known(purpose, medium)
    if known is None:
        return _missing(request, purpose, medium)
    draft = await _draft(request)
    action = (await request.form()).get("action")
    if action != "save":
        return _template_page(request, reading, user, *known, draft, validate=True)
    try:
        _save(session, *known, draft, actor_for(user))
    except InvalidInput as exc:
        session.rollback()
        form = PageForm(
            values={"subject": draft.subject, "body": draft.body, "contact": draft.contact_id}
        )
        form.add(exc.field, _sentence(exc.field, exc.message))
        return _template_page(request, reading, user, *known, draft, validate=False, form=form)
    response = see_other(f"/templates/{known[0].value}/{known[1].value}")
    flash(
        request,
        response,
        f"{PURPOSE_NAMES[known[0]]} ({MEDIUM_NAMES[known[1]].lower()}) saved",
        secure=cookies_secure(request.app.state.settings),
    )
    return response


def _save(session: Session, purpose: Purpose, medium: Medium, draft: Draft, actor: str) -> None:
    """Store the edit with its audit entry in one transaction; a first edit stored by someone
    else at the same moment is saved over, as the API does."""
    for attempt in range(2):
        edits.save(
            session,
            purpose=purpose,
            medium=medium,
            subject=draft.subject if medium is Medium.email else None,
            body=draft.body,
            actor=actor,
            now=utcnow(),
        )
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            if attempt:
                raise


@router.post("/templates/{purpose}/{medium}/preview")
async def live_preview(
    request: Request, user: TemplatesManager, session: ReadSessionDep, purpose: str, medium: str
) -> Response:
    """The preview alone, as an HTML fragment, for the page's script to show as the text is
    typed."""
    known = _known(purpose, medium)
    if known is None:
        return Response(status_code=404)
    draft = await _draft(request)
    rendered, form = _preview(session, request, *known, draft, validate=True)
    response = render_page(
        request,
        "templates_preview.html",
        _preview_context(rendered, known[1], form),
        status_code=422 if form.errors else 200,
    )
    return response


@router.post("/templates/{purpose}/{medium}/reset")
def reset_template(
    request: Request, user: TemplatesManager, session: SessionDep, purpose: str, medium: str
) -> Response:
    known = _known(purpose, medium)
    if known is None:
        return _missing(request, purpose, medium)
    actor = actor_for(user)
    if edits.reset(session, purpose=known[0], medium=known[1], actor=actor, now=utcnow()):
        session.commit()
    response = see_other(f"/templates/{known[0].value}/{known[1].value}")
    flash(
        request,
        response,
        f"{PURPOSE_NAMES[known[0]]} ({MEDIUM_NAMES[known[1]].lower()}) is the default again",
        secure=cookies_secure(request.app.state.settings),
    )
    return response
