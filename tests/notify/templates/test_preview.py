"""Previews, as the templates API and page show them: unsaved text refused as a save would
refuse it, the chosen person, and links on this server."""

from __future__ import annotations

import pytest

from service.contacts.models import Contact
from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates.preview import preview
from service.notify.templates.render import Rendered, RenderError
from service.notify.templates.samples import SAMPLE_ACK_TOKEN, SAMPLE_CONTACT, SAMPLE_DONE_TOKENS
from service.notify.templates.store import default
from tests.notify.templates.builders import unsaved_contact

BASE = "https://iw.westmoor.example.org"


def westmoor_preview(
    purpose: Purpose,
    medium: Medium,
    body: str,
    *,
    subject: str = "",
    unsaved: bool,
    contact: Contact | None = None,
    drill: bool = False,
) -> Rendered:
    return preview(
        purpose,
        medium,
        subject=subject,
        body=body,
        contact=contact,
        council_name="Westmoor Council",
        base_url=BASE,
        unsaved=unsaved,
        drill=drill,
    )


def test_a_shipped_template_is_previewed_for_an_invented_person_with_this_server_s_links() -> None:
    template = default(Purpose.announcement, Medium.email)
    rendered = westmoor_preview(
        Purpose.announcement, Medium.email, template.body, subject=template.subject, unsaved=False
    )
    assert f"Dear {SAMPLE_CONTACT['name']}," in rendered.body
    assert "Westmoor Council" in rendered.body
    assert f"{BASE}/ack/{SAMPLE_ACK_TOKEN}" in rendered.body
    assert rendered.html_body is not None and not rendered.subject.startswith("EXERCISE")


def test_a_task_preview_links_to_marking_done_on_this_server_and_can_show_a_drill() -> None:
    template = default(Purpose.task_reminder, Medium.sms)
    rendered = westmoor_preview(
        Purpose.task_reminder, Medium.sms, template.body, unsaved=False, drill=True
    )
    assert f"{BASE}/tasks/done/{SAMPLE_DONE_TOKENS[0]}" in rendered.body
    assert rendered.body.startswith("EXERCISE: ") and rendered.sms_fragments is not None


def test_a_preview_for_a_contact_uses_their_name() -> None:
    rendered = westmoor_preview(
        Purpose.reminder,
        Medium.sms,
        "((contact.name)): ((deadline.label))",
        unsaved=True,
        contact=unsaved_contact(),
    )
    assert rendered.body == "Amara Nwosu: Written statement of action published"


def test_unsaved_text_is_refused_as_saving_it_would_be() -> None:
    with pytest.raises(InvalidInput) as caught:
        westmoor_preview(
            Purpose.announcement,
            Medium.email,
            "((contact.role??((contact.nmae))))Hello",
            subject="Hi",
            unsaved=True,
        )
    assert caught.value.field == "body" and "contact.nmae" in caught.value.message


def test_stored_text_is_only_rendered_so_a_broken_one_says_what_has_no_value() -> None:
    with pytest.raises(RenderError) as caught:
        westmoor_preview(Purpose.announcement, Medium.sms, "((contact.nmae))", unsaved=False)
    assert caught.value.placeholder == "contact.nmae"
