"""Validation of a council's edit: every refusal names the field and says what is wrong."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates.store import default
from service.notify.templates.validate import validate

EVERY = [(purpose, medium) for purpose in Purpose for medium in Medium]


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_every_shipped_default_passes_its_own_validation(purpose: Purpose, medium: Medium) -> None:
    template = default(purpose, medium)
    validate(purpose, medium, template.subject, template.body)


BAD: list[tuple[str, str, str | None, str, str, str]] = [
    # purpose, medium, subject, body, field named, text the message must contain
    ("announcement", "email", "Hi", "Dear ((contact.nmae))", "body", "((contact.nmae))"),
    ("announcement", "email", "((contact.nmae))", "Hello", "subject", "((contact.nmae))"),
    ("announcement", "email", "Hi", "Hello((contact.role??((contact.nmae))))", "body", "nmae"),
    ("announcement", "email", "Hi", "Hello((contact.nmae??x))", "body", "((contact.nmae))"),
    ("announcement", "email", "Hi", "Hi\n\n((contact.name.first))", "body", "line 3"),
    ("announcement", "email", "Hi", "((contact))", "body", "((contact.name))"),
    ("announcement", "email", "Hi", "((tasks[].title))", "body", "((tasks))"),
    ("announcement", "email", "Hi", "((inspecton.lead_inspector))", "body", "inspecton"),
    ("announcement", "sms", None, "((about.name)) ((reason))", "body", "((about.name))"),
    ("escalation", "sms", None, "((tasks))", "body", "((tasks))"),
    ("reminder", "sms", None, "((deadline.days))", "body", "((deadline.days))"),
    ("announcement", "email", "Hi", "((no_tasks))", "body", "((no_tasks??"),
    ("announcement", "email", "Hi", "Line one\nLine two ((contact.name)\n", "body", "line 2"),
    ("announcement", "email", "Hi ((", "Hello", "subject", "not closed"),
    ("announcement", "email", "Hi", "Call (us)) now", "body", "closes no placeholder"),
    ("announcement", "email", "Hi", "((ack_url??x (now)))", "body", "bracket"),
    ("announcement", "email", "Hi", "((ack_url??((contact.role??x))))", "body", "inside another"),
    ("announcement", "email", "Hi", "Dear {{ contact.name }}", "body", "write ((contact.name))"),
    ("announcement", "email", "Hi", "{% for task in tasks %}x", "body", "old way"),
    ("announcement", "email", "Hi", "Hello\n{# note #}", "body", "line 2"),
    ("announcement", "email", "Hi", "", "body", "empty"),
    ("announcement", "email", "Hi", "  \n\t ", "body", "empty"),
    ("announcement", "email", "Hi", "((contact.role??Hello))", "body", "empty"),
    ("announcement", "email", "", "Hello", "subject", "subject"),
    ("announcement", "email", None, "Hello", "subject", "subject"),
    ("announcement", "email", "((contact.role))", "Hello", "subject", "empty subject"),
    ("announcement", "sms", "Subject", "Hello", "subject", "no subject"),
    ("announcement", "sms", None, "x" * 919, "body", "919 characters"),
    ("announcement", "email", "Hi", "Hello\x00", "body", "NUL"),
    ("announcement", "email", "Hi", "((inspection.framework_name))" * 689, "body", "50000"),
    ("announcement", "email", "((inspection.framework_name))" * 17, "Hi", "subject", "1000"),
    ("announcement", "email", "Hi", "x" * 20_001, "body", "20000"),
    ("announcement", "fax", None, "Hello", "medium", "fax"),
    ("inspection", "sms", None, "Hello", "purpose", "inspection"),
]


@pytest.mark.parametrize(("purpose", "medium", "subject", "body", "field", "says"), BAD)
def test_validation_refuses_naming_the_field_and_the_problem(
    purpose: str, medium: str, subject: str | None, body: str, field: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(purpose, medium, subject, body)
    assert caught.value.field == field
    assert says in caught.value.message


def test_a_placeholder_of_another_purpose_is_fine_in_its_own() -> None:
    validate("escalation", "sms", None, "((about.name)) ((reason))")
    validate("reminder", "sms", None, "((deadline.label)) ((deadline.due))")
    validate("drill", "email", "Hi", "((tasks??Your tasks:\n((tasks))))x")


def test_names_are_matched_as_notify_matches_them() -> None:
    validate("announcement", "email", "Hi", "((Contact.Name)) ((inspection.Lead Inspector))")
    validate("announcement", "email", "Hi", "((COUNCIL-NAME)) ((ack url))")


def test_brackets_around_a_placeholder_and_in_words_are_fine() -> None:
    validate("task_overdue", "sms", None, '"((task.title))" (((owner.name))) (see the plan)')


@pytest.mark.parametrize(
    ("purpose", "longest"),
    [("announcement", 918), ("reminder", 918), ("drill", 908), ("escalation", 908)],
)
def test_sms_length_limit_counts_the_exercise_prefix_where_a_drill_can_send_it(
    purpose: str, longest: int
) -> None:
    validate(purpose, "sms", None, "x" * longest)
    with pytest.raises(InvalidInput) as caught:
        validate(purpose, "sms", None, "x" * (longest + 1))
    assert "918" in caught.value.message


def test_the_limit_counts_each_character_once_as_notify_does() -> None:
    """notifications-utils `is_message_too_long`: extended characters are billed twice in
    fragments but count once against the 918 characters."""
    validate("announcement", "sms", None, "[" * 918)
    with pytest.raises(InvalidInput):
        validate("announcement", "sms", None, "[" * 919)


@pytest.mark.parametrize(
    ("purpose", "body", "says"),
    [
        (Purpose.task_reminder, "((task.title)) ((ack_url))", "((ack_url))"),
        (Purpose.task_reminder, "((task.titel))", "((task.titel))"),
        (Purpose.task_overdue, "((owner.nmae))", "((owner.nmae))"),
        (Purpose.task_reminder, "((owner.name))", "((owner.name))"),
        (Purpose.task_digest, "((tasks[0].title))", "((tasks[0].title))"),
        (Purpose.task_digest, "((task.title))", "((task.title))"),
    ],
)
def test_a_task_template_using_what_the_purpose_lacks_is_refused(
    purpose: Purpose, body: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate(purpose, Medium.sms, "", body)
    assert raised.value.field == "body" and says in raised.value.message
