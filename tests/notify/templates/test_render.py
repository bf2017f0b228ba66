"""Rendering: the shipped defaults with the values the cascade and the plan pass, the council's
edit and the fall-back to the default, the drill marking, strictness and SMS fragments.

Only the tests of `render` with a council's stored edit (or reading none) take a database; the
rest render template text directly."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.notify.models import Medium, MessageTemplate, Purpose
from service.notify.sms import MAX_CHARACTERS
from service.notify.templates import edits
from service.notify.templates.placeholders import (
    EMAIL_LIST_ITEMS,
    MAX_VALUE_CHARACTERS,
    TASK_PURPOSES,
)
from service.notify.templates.render import (
    DRILL_FIRST_LINE,
    EXERCISE_PREFIX,
    MAX_RENDERED_CHARACTERS,
    MAX_RENDERED_SUBJECT_CHARACTERS,
    Rendered,
    RenderError,
    format_day,
    format_moment,
    render,
    render_text,
)
from service.notify.templates.samples import sample_context
from service.notify.templates.store import default
from service.notify.templates.validate import MAX_BODY_CHARACTERS, MAX_SUBJECT_CHARACTERS
from tests.notify.templates.builders import (
    NOW,
    long_texts,
    measured,
    save_edit,
    template_texts,
)

pytestmark = pytest.mark.sqlite_only

EVERY = [(purpose, medium) for purpose in Purpose for medium in Medium]
TYPICAL_ACK_URL = "https://inspection-week.northbridge.example.org/ack/5k2mq9x1.aQ3fRt.Hk8vN2pL0sWc4RfT8nJ1uE6hAzY"
TYPICAL_DONE_URL = (
    "https://inspection-week.northbridge.example.org/tasks/done/"
    "bYExlcVvSl2cOVoLee0kew.RTIyMDE.awQ_Nw.-fGHjKhCB0fVapoGbVrT_KUXIo4"
)


def cascade_context(purpose: Purpose, **changes: Any) -> dict[str, Any]:
    """Plain values, shaped as the cascade passes them (extra keys included)."""
    context: dict[str, Any] = {
        "council_name": "Northbridge Borough Council",
        "inspection": {
            "framework_name": "Single inspection framework (2013)",
            "lead_inspector": "Harriet Oyelaran",
            "notified_at": "Tuesday 17 November 2026, 10:30",
            "on_site_start": "Wednesday 18 November 2026",
            "inspection_end": "Wednesday 9 December 2026",
        },
        "contact": {"name": "Tomasz Wojcik", "role": "Team Manager, Front Door"},
        "ack_url": TYPICAL_ACK_URL,
        "reply_code": "4821",
        "tasks": [],
        "about": {"name": "Gareth Pryce", "role": "Service Manager"},
        "reason": "has not acknowledged within 15 minutes",
        "deadline": {
            "label": "Inspection report published",
            "due": "Monday 25 January 2027",
            "working_days_before": 5,
        },
        "task": {
            "title": "Book the base room",
            "due": "Tuesday 17 November 2026, 14:00",
            "description": "",
            "done_url": TYPICAL_DONE_URL,
        },
        "owner": {"name": "Gareth Pryce", "role": "Service Manager"},
        "day": "Wednesday 18 November 2026",
    }
    context.update(changes)
    return context


def shipped(
    purpose: Purpose | str, medium: Medium | str, context: dict[str, Any], *, drill: bool
) -> Rendered:
    """The shipped default rendered, as `render` renders it when the council has no edit."""
    template = default(purpose, medium)
    return render_text(
        purpose, medium, subject=template.subject, body=template.body, context=context, drill=drill
    )


# --- shipped defaults -----------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_defaults_render_for_every_purpose_and_medium(
    session: Session, purpose: Purpose, medium: Medium
) -> None:
    context = cascade_context(purpose)
    rendered = render(session, purpose=purpose, medium=medium, context=context, drill=False)
    assert not rendered.customised and rendered.fell_back is None
    assert "((" not in rendered.body and "))" not in rendered.body and "\ue000" not in rendered.body
    if purpose in TASK_PURPOSES:  # a mark-done link instead of an acknowledgement link
        assert purpose is Purpose.task_digest or TYPICAL_DONE_URL in rendered.body
    else:
        assert TYPICAL_ACK_URL in rendered.body
    assert "Northbridge Borough Council" in rendered.body
    if purpose is Purpose.escalation:
        assert "Gareth Pryce" in rendered.body
    if purpose is Purpose.reminder:
        assert "Inspection report published" in rendered.body
    if medium is Medium.email:
        assert rendered.subject and "\n" not in rendered.subject
        assert "Tomasz Wojcik" in rendered.body
        assert rendered.html_body is not None and "<p>" in rendered.html_body
        assert rendered.sms_fragments is None
    else:
        assert rendered.subject == "" and rendered.html_body is None
        assert rendered.characters == len(rendered.body)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_default_sms_fits_two_fragments_with_a_typical_link(purpose: Purpose) -> None:
    """Drills send `drill` and `escalation` messages, so those two are counted with the prefix."""
    drill = purpose in (Purpose.drill, Purpose.escalation)
    rendered = shipped(purpose, Medium.sms, cascade_context(purpose), drill=drill)
    assert rendered.body.startswith(EXERCISE_PREFIX) == drill
    assert rendered.sms_fragments is not None and rendered.sms_fragments <= 2


def test_announcement_email_lists_the_persons_tasks_and_drops_empty_optional_lines() -> None:
    tasks = [{"title": "Book the base room", "due": "Tuesday 17 November 2026, 14:00"}]
    with_tasks = shipped(
        "announcement", "email", cascade_context(Purpose.announcement, tasks=tasks), drill=False
    )
    assert "Your tasks\n• Book the base room, by Tuesday 17 November 2026, 14:00\n\n" in (
        with_tasks.body
    )
    bare = shipped(
        "announcement",
        "email",
        cascade_context(
            Purpose.announcement,
            inspection={
                **cascade_context(Purpose.announcement)["inspection"],
                "lead_inspector": "",
            },
        ),
        drill=False,
    )
    assert "Your tasks" not in bare.body
    assert "lead inspector is" not in bare.body
    assert "\n\n\n" not in bare.body


def test_a_role_given_as_none_renders_as_nothing_not_the_word_none() -> None:
    context = cascade_context(Purpose.escalation, about={"name": "Gareth Pryce", "role": None})
    rendered = shipped("escalation", "email", context, drill=False)
    assert "None" not in rendered.body
    assert "Gareth Pryce has not acknowledged within 15 minutes." in rendered.body


# --- the shipped task templates, with the values the plan's handlers pass -------------------

TASK_LINK = "https://inspections.example.org/tasks/done/bYExlcVvSl2cOVoLee0kew.RTIyMDE.awQ_Nw.sig"


def task_context(purpose: Purpose, **changes: Any) -> dict[str, Any]:
    """Plain values, shaped as the task handlers pass them."""
    values: dict[str, Any] = {
        "council_name": "Northbridge Borough Council",
        "inspection": {
            "framework_name": "Single inspection framework (2013)",
            "lead_inspector": "Harriet Oyelaran",
            "notified_at": "Tuesday 8 April 2025, 10:00",
            "on_site_start": "Wednesday 9 April 2025",
            "inspection_end": "Wednesday 30 April 2025",
        },
        "contact": {"name": "Tomasz Wójcik", "role": "Business Support Manager"},
        "ack_url": "",
        "reply_code": "",
        "tasks": [],
        "task": {
            "title": "Book the base room",
            "due": "Tuesday 8 April 2025, 14:00",
            "description": "",
            "done_url": TASK_LINK,
        },
        "owner": {"name": "Priya Natarajan", "role": ""},
        "day": "Wednesday 9 April 2025",
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("purpose", sorted(TASK_PURPOSES))
@pytest.mark.parametrize("medium", list(Medium))
def test_the_shipped_task_wording_renders(purpose: Purpose, medium: Medium) -> None:
    tasks = [
        {"title": "Book the base room", "due": "Tuesday 8 April 2025, 14:00", "overdue": True,
         "done_url": TASK_LINK},
        {"title": "Draft the statement", "due": "", "overdue": False, "done_url": TASK_LINK + "2"},
    ]  # fmt: skip
    rendered = shipped(purpose, medium, task_context(purpose, tasks=tasks), drill=False)

    assert "((" not in rendered.body and "))" not in rendered.body
    assert "Northbridge Borough Council" in rendered.body
    assert "Book the base room" in rendered.body
    assert TASK_LINK in rendered.body or medium is Medium.sms and purpose is Purpose.task_digest
    if purpose is Purpose.task_overdue:
        assert "Priya Natarajan" in rendered.body
    if purpose is Purpose.task_digest:
        assert "Draft the statement" in rendered.body and "OVERDUE" in rendered.body
    if medium is Medium.email:
        assert rendered.subject and rendered.body.startswith("Dear Tomasz Wójcik,")
    else:
        assert rendered.characters <= MAX_CHARACTERS and rendered.sms_fragments is not None


def test_a_digest_with_no_open_tasks_still_reads_well() -> None:
    rendered = shipped(
        Purpose.task_digest, Medium.email, task_context(Purpose.task_digest), drill=False
    )
    assert "You have no open tasks" in rendered.body and "Mark it done" not in rendered.body


# --- council edits --------------------------------------------------------------------------


def test_a_stored_edit_wins_over_the_default_and_reset_brings_the_default_back(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        save_edit(
            session,
            "announcement",
            "email",
            subject="Inspection: ((contact.name)), please acknowledge",
            body="Hello ((contact.name)). Acknowledge here: ((ack_url))",
        )
    with Session(engine) as session:
        rendered = render(
            session,
            purpose="announcement",
            medium="email",
            context=cascade_context(Purpose.announcement),
            drill=False,
        )
        assert rendered.customised
        assert rendered.subject == "Inspection: Tomasz Wojcik, please acknowledge"
        assert rendered.body == f"Hello Tomasz Wojcik. Acknowledge here: {TYPICAL_ACK_URL}"
        # Other templates are untouched.
        sms = render(
            session,
            purpose="announcement",
            medium="sms",
            context=cascade_context(Purpose.announcement),
            drill=False,
        )
        assert not sms.customised
        assert edits.reset(session, purpose="announcement", medium="email", actor="test", now=NOW)
        session.commit()
    with Session(engine) as session:
        again = render(
            session,
            purpose="announcement",
            medium="email",
            context=cascade_context(Purpose.announcement),
            drill=False,
        )
        assert not again.customised
        assert again.subject == default("announcement", "email").subject
        assert session.get(MessageTemplate, ("announcement", "email")) is None


def test_an_edit_that_real_values_push_past_918_characters_falls_back_to_the_default(
    session: Session,
) -> None:
    """Validated with the sample person's short name, broken by a long one: the message still
    goes, in the shipped wording."""
    body = " ".join(["((contact.name))"] * 40) + " ((ack_url))"
    save_edit(session, "announcement", "sms", body=body)
    short = render(
        session,
        purpose="announcement",
        medium="sms",
        context=cascade_context(Purpose.announcement, contact={"name": "Ann Lee", "role": ""}),
        drill=False,
    )
    assert short.customised and short.body.startswith("Ann Lee Ann Lee")
    long_name = "Oluwaseun Adebayo-Fitzgerald-Montgomery"
    rendered = render(
        session,
        purpose="announcement",
        medium="sms",
        context=cascade_context(Purpose.announcement, contact={"name": long_name, "role": ""}),
        drill=False,
    )
    assert not rendered.customised
    assert long_name not in rendered.body
    assert rendered.characters <= 918
    assert rendered.fell_back is not None and "characters" in rendered.fell_back


def test_an_edit_that_needs_a_value_the_caller_left_out_falls_back_to_the_default(
    session: Session,
) -> None:
    save_edit(
        session,
        "escalation",
        "email",
        subject="About ((about.name))",
        body="((reason)); inspection ends ((inspection.inspection_end))",
    )
    context = cascade_context(Purpose.escalation)
    del context["inspection"]["inspection_end"]  # the shipped wording does not need it
    rendered = render(session, purpose="escalation", medium="email", context=context, drill=False)
    assert not rendered.customised
    assert rendered.subject == "Please stand in for Gareth Pryce: Ofsted inspection announced"
    assert rendered.fell_back == "body: no value for placeholder ((inspection.inspection_end))"


# --- the drill marking ----------------------------------------------------------------------


def test_drill_prefix_is_applied_whatever_the_template_says(session: Session) -> None:
    save_edit(
        session,
        "escalation",
        "email",
        subject="exercise:   ((about.name)) needs you",
        body="((about.name)) ((reason)).",
    )
    save_edit(session, "escalation", "sms", body="Exercise: ((about.name)) ((reason)).")
    context = cascade_context(Purpose.escalation)
    email = render(session, purpose="escalation", medium="email", context=context, drill=True)
    assert email.subject == "EXERCISE: Gareth Pryce needs you"
    assert email.body.split("\n")[0] == DRILL_FIRST_LINE
    assert email.body.endswith("Gareth Pryce has not acknowledged within 15 minutes.")
    assert email.html_body is not None and DRILL_FIRST_LINE in email.html_body
    sms = render(session, purpose="escalation", medium="sms", context=context, drill=True)
    assert sms.body == "EXERCISE: Gareth Pryce has not acknowledged within 15 minutes."


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_every_template_is_marked_in_a_drill_and_unmarked_otherwise(
    purpose: Purpose, medium: Medium
) -> None:
    context = cascade_context(purpose)
    drill = shipped(purpose, medium, context, drill=True)
    real = shipped(purpose, medium, context, drill=False)
    marked = drill.subject if medium is Medium.email else drill.body
    assert marked.startswith(EXERCISE_PREFIX) and not marked.startswith(EXERCISE_PREFIX * 2)
    if medium is Medium.email:
        assert drill.body.startswith(DRILL_FIRST_LINE + "\n\n")
    if purpose is Purpose.drill:
        # The rehearsal announcement is marked even if the caller forgets to say so.
        assert real == drill
    else:
        assert "EXERCISE" not in real.subject and "EXERCISE" not in real.body


# --- strictness -----------------------------------------------------------------------------


def test_a_missing_value_is_an_error_naming_the_placeholder() -> None:
    context = cascade_context(Purpose.announcement)
    del context["inspection"]["on_site_start"]
    with pytest.raises(RenderError) as caught:
        shipped("announcement", "sms", context, drill=False)
    assert caught.value.placeholder == "inspection.on_site_start"
    assert caught.value.field == "body"


def test_a_missing_top_level_value_is_an_error_naming_it() -> None:
    context = cascade_context(Purpose.reminder)
    del context["deadline"]
    with pytest.raises(RenderError) as caught:
        shipped("reminder", "email", context, drill=False)
    assert caught.value.placeholder == "deadline.label"
    assert caught.value.field == "subject"


def test_render_raises_when_even_the_default_cannot_be_rendered(session: Session) -> None:
    context = cascade_context(Purpose.announcement)
    del context["inspection"]["on_site_start"]
    with pytest.raises(RenderError) as caught:
        render(session, purpose="announcement", medium="sms", context=context, drill=False)
    assert caught.value.placeholder == "inspection.on_site_start"


# --- SMS fragments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "fragments"),
    [
        (1, 1),
        (160, 1),
        (161, 2),
        (306, 2),
        (307, 3),
        (459, 3),
        (460, 4),
        (612, 4),
        (613, 5),
        (765, 5),
        (766, 6),
        (918, 6),
    ],
)
def test_sms_fragment_counts_at_notifys_boundaries(length: int, fragments: int) -> None:
    rendered = render_text(
        "announcement",
        "sms",
        subject="",
        body="x" * length,
        context=sample_context("announcement"),
        drill=False,
    )
    assert (rendered.characters, rendered.sms_fragments) == (length, fragments)


def test_a_drill_prefix_can_push_an_sms_into_another_fragment() -> None:
    body = "x" * (160 - len(EXERCISE_PREFIX))
    real = render_text(
        "escalation",
        "sms",
        subject="",
        body=body,
        context=sample_context("escalation"),
        drill=False,
    )
    assert real.sms_fragments == 1
    drill = render_text(
        "escalation",
        "sms",
        subject="",
        body=body + "y",
        context=sample_context("escalation"),
        drill=True,
    )
    assert (drill.characters, drill.sms_fragments) == (161, 2)


# --- formatting values ----------------------------------------------------------------------


def test_format_helpers_give_the_documented_forms() -> None:
    called = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)  # GMT in November: same wall time
    assert format_moment(called, ZoneInfo("Europe/London")) == "Tuesday 17 November 2026, 10:30"
    summer = datetime(2026, 6, 9, 9, 5, tzinfo=UTC)
    assert format_moment(summer, ZoneInfo("Europe/London")) == "Tuesday 9 June 2026, 10:05"
    assert format_day(date(2026, 11, 18)) == "Wednesday 18 November 2026"


# --- lists, computed placeholders and limits ------------------------------------------------


def digest_tasks(count: int) -> list[dict[str, Any]]:
    return [
        {
            "title": f"Task {number}",
            "due": "Wednesday 9 April 2025, 17:00" if number % 2 else "",
            "overdue": number == 1,
            "done_url": f"{TASK_LINK}{number}",
        }
        for number in range(1, count + 1)
    ]


def test_an_e_mail_lists_at_most_fifty_tasks_then_says_how_many_more() -> None:
    context = task_context(Purpose.task_digest, tasks=digest_tasks(52))
    rendered = shipped(Purpose.task_digest, Medium.email, context, drill=False)
    assert rendered.body.count("\n• ") == EMAIL_LIST_ITEMS
    assert "• Task 1\n  OVERDUE: it was due by Wednesday 9 April 2025, 17:00.\n" in rendered.body
    assert f"• Task 2\n  No due time yet.\n  Mark it done: {TASK_LINK}2\n" in rendered.body
    assert "• Task 50\n" in rendered.body and "Task 51" not in rendered.body
    assert "\nAnd 2 more.\n" in rendered.body
    assert rendered.html_body is not None and rendered.html_body.count("<li>") == 50


def test_a_text_message_lists_three_tasks_on_one_line_then_how_many_more() -> None:
    context = task_context(Purpose.task_digest, tasks=digest_tasks(5))
    rendered = shipped(Purpose.task_digest, Medium.sms, context, drill=False)
    assert (
        "Your open inspection tasks: Task 1, OVERDUE, was due by Wednesday 9 April 2025, 17:00; "
        "Task 2; Task 3, due by Wednesday 9 April 2025, 17:00; and 2 more. Mark tasks done"
    ) in rendered.body
    assert TASK_LINK not in rendered.body


def test_a_digest_without_tasks_says_so_in_both_media() -> None:
    context = task_context(Purpose.task_digest, tasks=[])
    sms = shipped(Purpose.task_digest, Medium.sms, context, drill=False)
    assert "inspectors are on site today. You have no open inspection tasks. Replies" in sms.body
    email = shipped(Purpose.task_digest, Medium.email, context, drill=False)
    assert "today, Wednesday 9 April 2025.\n\nYou have no open tasks" in email.body


@pytest.mark.parametrize(
    ("days", "reads"), [(0, "today"), (1, "in 1 working day"), (5, "in 5 working days")]
)
def test_the_countdown_to_a_deadline_is_worded_for_its_number(days: int, reads: str) -> None:
    deadline = {**cascade_context(Purpose.reminder)["deadline"], "working_days_before": days}
    context = cascade_context(Purpose.reminder, deadline=deadline)
    rendered = shipped(Purpose.reminder, Medium.sms, context, drill=False)
    assert f"by Monday 25 January 2027, {reads}." in rendered.body


def test_a_name_with_a_role_puts_the_role_in_brackets_and_alone_without() -> None:
    with_role = shipped(
        Purpose.escalation, Medium.email, cascade_context(Purpose.escalation), drill=False
    )
    assert "Gareth Pryce (Service Manager) has not acknowledged" in with_role.body
    without = cascade_context(Purpose.escalation, about={"name": "Gareth Pryce", "role": " "})
    assert (
        "\nGareth Pryce has not acknowledged"
        in shipped(Purpose.escalation, Medium.email, without, drill=False).body
    )


def test_a_yes_or_no_placeholder_is_not_words() -> None:
    with pytest.raises(RenderError) as caught:
        render_text(
            "task_digest",
            "sms",
            subject="",
            body="((no_tasks))",
            context=task_context(Purpose.task_digest),
            drill=False,
        )
    assert caught.value.placeholder == "no_tasks" and "no_tasks??" in caught.value.message


def test_a_value_longer_than_any_message_needs_is_refused_naming_it() -> None:
    context = cascade_context(Purpose.escalation, reason="x" * (MAX_VALUE_CHARACTERS + 1))
    with pytest.raises(RenderError) as caught:
        shipped(Purpose.escalation, Medium.email, context, drill=False)
    assert caught.value.placeholder == "reason"
    assert f"at most {MAX_VALUE_CHARACTERS}" in caught.value.message


def test_a_message_or_subject_past_its_limit_is_refused_not_built() -> None:
    context = cascade_context(Purpose.escalation, reason="x" * 6_000)
    with pytest.raises(RenderError) as caught:
        render_text(
            "escalation",
            "email",
            subject="Hi",
            body="((reason))" * 10,
            context=context,
            drill=False,
        )
    assert caught.value.field == "body" and f"{MAX_RENDERED_CHARACTERS}" in caught.value.message
    with pytest.raises(RenderError) as caught:
        render_text(
            "escalation",
            "email",
            subject="((inspection.framework_name))" * 40,
            body="Hello",
            context=context,
            drill=False,
        )
    assert caught.value.field == "subject"
    assert f"{MAX_RENDERED_SUBJECT_CHARACTERS}" in caught.value.message


# --- no blow-up: any template text, any values ----------------------------------------------

MEMORY_BUDGET = 32 * 1024 * 1024
"""Far above what one render needs (about 1 MB for the largest), far below a blow-up."""
TIME_BUDGET = 5.0
"""Seconds: a bound that shows no blow-up (one render takes milliseconds), not a speed test."""


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    purpose=st.sampled_from(list(Purpose)),
    medium=st.sampled_from(list(Medium)),
    subject=template_texts(limit=MAX_SUBJECT_CHARACTERS),
    body=template_texts(limit=MAX_BODY_CHARACTERS),
    name=long_texts(MAX_VALUE_CHARACTERS + 10),
    role=st.none() | long_texts(MAX_VALUE_CHARACTERS),
    task_count=st.integers(min_value=0, max_value=1_000),
    drill=st.booleans(),
)
@example(
    purpose=Purpose.task_digest,
    medium=Medium.email,
    subject="((tasks))" * 55,
    body="((tasks))" * 2_222,
    name="x" * MAX_VALUE_CHARACTERS,
    role="y" * MAX_VALUE_CHARACTERS,
    task_count=1_000,
    drill=True,
)
@example(
    purpose=Purpose.announcement,
    medium=Medium.email,
    subject="Hi",
    body="((contact.name??" + "((contact.name))" * 1_249 + "))",
    name="x" * MAX_VALUE_CHARACTERS,
    role=None,
    task_count=0,
    drill=False,
)
@example(
    purpose=Purpose.announcement,
    medium=Medium.sms,
    subject="",
    body="((" * 10_000,
    name="",
    role=None,
    task_count=0,
    drill=False,
)
def test_any_template_with_any_values_renders_or_is_refused_within_bounds(
    purpose: Purpose,
    medium: Medium,
    subject: str,
    body: str,
    name: str,
    role: str | None,
    task_count: int,
    drill: bool,
) -> None:
    """What a coordinator can save is at most 20,000 characters, and a value at most
    MAX_VALUE_CHARACTERS: whatever they are, rendering gives a message or a RenderError, never
    a long wait or a large allocation."""
    context = sample_context(purpose)
    context["contact"] = {"name": name, "role": role}
    if "tasks" in context:
        item = context["tasks"][0] if context["tasks"] else {}
        context["tasks"] = [item] * task_count
    rendered: Rendered | None = None
    with measured() as cost, contextlib.suppress(RenderError):
        rendered = render_text(
            purpose, medium, subject=subject, body=body, context=context, drill=drill
        )
    assert cost.peak_bytes < MEMORY_BUDGET
    assert cost.seconds < TIME_BUDGET
    if rendered is not None:
        marking = len(DRILL_FIRST_LINE) + 2 if drill else 0
        assert len(rendered.body) <= MAX_RENDERED_CHARACTERS + marking
        assert len(rendered.subject) <= MAX_RENDERED_SUBJECT_CHARACTERS + len(EXERCISE_PREFIX)
