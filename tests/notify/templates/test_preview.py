"""Previews, as the templates API and page show them: unsaved text refused as a save would
refuse it, the chosen person, and links on this server."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.contacts.models import Contact
from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates.preview import preview
from service.notify.templates.render import Rendered, RenderError
from service.notify.templates.samples import SAMPLE_ACK_TOKEN, SAMPLE_CONTACT, SAMPLE_DONE_TOKENS
from service.notify.templates.store import default
from service.notify.templates.validate import MAX_BODY_CHARACTERS, MAX_SUBJECT_CHARACTERS
from tests.notify.templates.builders import (
    NOW,
    long_texts,
    measured,
    template_texts,
    unsaved_contact,
)

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


# --- no blow-up: any text, any person, as the page and the API preview them -----------------

MEMORY_BUDGET = 32 * 1024 * 1024
"""Far above what one preview needs, far below a blow-up (as in test_render)."""
TIME_BUDGET = 5.0
"""Seconds: a bound that shows no blow-up (one preview takes milliseconds), not a speed test."""


@st.composite
def any_contact(draw: st.DrawFn) -> Contact:
    """Anyone the contacts API would store: every field within its length, any characters."""
    return Contact(
        id=draw(st.text(min_size=1, max_size=64)),
        name=draw(st.text(min_size=1, max_size=200) | long_texts(200).filter(bool)),
        role=draw(st.none() | st.text(max_size=200) | long_texts(200)),
        email=draw(st.none() | st.emails() | st.text(max_size=320)),
        mobile=draw(st.none() | st.sampled_from(["+447700900123", "07700 900123"])),
        created_at=NOW,
        updated_at=NOW,
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    purpose=st.sampled_from(list(Purpose)),
    medium=st.sampled_from(list(Medium)),
    subject=template_texts(limit=MAX_SUBJECT_CHARACTERS + 10),
    body=template_texts(limit=MAX_BODY_CHARACTERS + 10),
    contact=st.none() | any_contact(),
    council_name=st.text(max_size=200),
    unsaved=st.booleans(),
    drill=st.booleans(),
    sms_prefix=st.none() | st.text(max_size=255),
)
def test_any_text_previewed_for_anyone_is_a_message_or_a_named_refusal_within_bounds(
    purpose: Purpose,
    medium: Medium,
    subject: str,
    body: str,
    contact: Contact | None,
    council_name: str,
    unsaved: bool,
    drill: bool,
    sms_prefix: str | None,
) -> None:
    """What the templates page and `POST .../preview` do with what a coordinator typed and the
    person they chose: a message, or a refusal naming the subject or the body (InvalidInput
    from validation, RenderError from rendering), never another exception, a long wait or a
    large allocation."""
    outcome: Rendered | Exception
    with measured() as cost:
        try:
            outcome = preview(
                purpose,
                medium,
                subject=subject,
                body=body,
                contact=contact,
                council_name=council_name,
                base_url=BASE,
                unsaved=unsaved,
                drill=drill,
                sms_prefix=sms_prefix,
            )
        except (InvalidInput, RenderError) as exc:
            outcome = exc
    assert cost.peak_bytes < MEMORY_BUDGET
    assert cost.seconds < TIME_BUDGET
    event(type(outcome).__name__)
    if isinstance(outcome, InvalidInput):
        assert unsaved and outcome.field in ("subject", "body"), outcome
    elif isinstance(outcome, RenderError):
        assert outcome.field in ("subject", "body"), outcome
    elif unsaved:  # text that passed validation is never an empty message, for anyone
        assert outcome.body.strip(), (subject, body, contact)
