"""A template previewed as it would be sent: what the templates API and the templates page both
show. Unsaved text is validated first, so a preview and a save refuse the same things, named at
the same field; links point at this server, so they look as long as real ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.notify.models import Medium, Purpose
from service.notify.templates.render import Rendered, render_text
from service.notify.templates.samples import sample_context
from service.notify.templates.validate import validate

if TYPE_CHECKING:
    from service.notify.outbox import Person


def preview(
    purpose: Purpose,
    medium: Medium,
    *,
    subject: str,
    body: str,
    contact: Person | None,
    council_name: str,
    base_url: str,
    unsaved: bool,
    drill: bool = False,
    sms_prefix: str | None = None,
) -> Rendered:
    """The message for `contact` (or an invented person). Raises InvalidInput for unsaved text
    that would not be saved, RenderError for text that cannot be rendered."""
    if unsaved:
        validate(purpose, medium, subject, body)
    context = sample_context(purpose, contact, council_name=council_name, base_url=base_url)
    return render_text(
        purpose,
        medium,
        subject=subject,
        body=body,
        context=context,
        drill=drill,
        sms_prefix=sms_prefix,
    )
