"""What each purpose's templates may use, the placeholders computed from the others, and the
purposes and media that exist."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates.language import normalise
from service.notify.templates.placeholders import (
    COMPUTED,
    LISTS,
    PLACEHOLDERS,
    TASK_PURPOSES,
    known,
    names,
)

pytestmark = pytest.mark.sqlite_only


def test_each_task_purpose_lists_its_own_placeholders_and_no_acknowledgement_link() -> None:
    for purpose in TASK_PURPOSES:
        assert "ack_url" not in PLACEHOLDERS[purpose]
        assert "contact.name" in PLACEHOLDERS[purpose]
    assert {"task.title", "task.due", "task.description", "task.done_url"} <= set(
        PLACEHOLDERS[Purpose.task_reminder]
    )
    assert {"owner.name", "owner.role"} <= set(PLACEHOLDERS[Purpose.task_overdue])
    assert {"day", "tasks", "no_tasks"} <= set(PLACEHOLDERS[Purpose.task_digest])


def test_every_purpose_has_placeholders() -> None:
    assert set(PLACEHOLDERS) == set(Purpose)


def test_no_two_placeholders_of_a_purpose_match_the_same_written_name() -> None:
    for purpose in Purpose:
        assert len(names(purpose)) == len(PLACEHOLDERS[purpose]), purpose
        assert names(purpose)[normalise("Contact.Name")] == "contact.name"


def test_every_computed_placeholder_and_list_is_offered_where_it_is_used() -> None:
    offered = {name for found in PLACEHOLDERS.values() for name in found}
    assert set(COMPUTED) <= offered
    assert {purpose for purpose in Purpose if "tasks" in PLACEHOLDERS[purpose]} == set(LISTS)
    for purpose in LISTS:
        assert "no_tasks" in PLACEHOLDERS[purpose]


def test_no_placeholder_name_is_written_as_a_loop_field_any_more() -> None:
    assert not any("[]" in name for found in PLACEHOLDERS.values() for name in found)


def test_known_takes_names_or_members() -> None:
    assert known("announcement", "sms") == (Purpose.announcement, Medium.sms)
    assert known(Purpose.drill, Medium.email) == (Purpose.drill, Medium.email)


@pytest.mark.parametrize(
    ("purpose", "medium", "field"), [("inspection", "sms", "purpose"), ("drill", "fax", "medium")]
)
def test_an_unknown_purpose_or_medium_is_named(purpose: str, medium: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        known(purpose, medium)
    assert caught.value.field == field
    assert repr(purpose if field == "purpose" else medium) in caught.value.message
