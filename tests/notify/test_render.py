"""Message templates: shipped defaults, council edits, the drill marking, strictness, validation,
SMS length and the HTML alternative."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.contacts.models import Contact
from service.errors import InvalidInput
from service.notify import render
from service.notify.base import Medium
from service.notify.models import MessageTemplate
from service.notify.render import (
    DRILL_FIRST_LINE,
    EXERCISE_PREFIX,
    PLACEHOLDERS,
    Purpose,
    RenderError,
    sample_context,
)

NOW = datetime(2026, 11, 17, 10, 45, tzinfo=UTC)
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


def store(session: Session, purpose: str, medium: str, body: str, subject: str = "") -> None:
    render.save(
        session,
        purpose=purpose,
        medium=medium,
        subject=subject,
        body=body,
        actor="api-key:tests",
        now=NOW,
    )
    session.commit()


# --- shipped defaults -----------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_every_shipped_default_passes_its_own_validation(purpose: Purpose, medium: Medium) -> None:
    template = render.default(purpose, medium)
    render.validate(purpose, medium, template.subject, template.body)
    assert (template.subject != "") == (medium is Medium.email)


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_defaults_render_for_every_purpose_and_medium(
    session: Session, purpose: Purpose, medium: Medium
) -> None:
    context = cascade_context(purpose)
    rendered = render.render(session, purpose=purpose, medium=medium, context=context, drill=False)
    assert not rendered.customised
    assert "{{" not in rendered.body and "{%" not in rendered.body
    if purpose in render.TASK_PURPOSES:  # a mark-done link instead of an acknowledgement link
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
def test_default_sms_fits_two_fragments_with_a_typical_link(
    session: Session, purpose: Purpose
) -> None:
    """Drills send `drill` and `escalation` messages, so those two are counted with the prefix."""
    drill = purpose in (Purpose.drill, Purpose.escalation)
    rendered = render.render(
        session, purpose=purpose, medium=Medium.sms, context=cascade_context(purpose), drill=drill
    )
    assert rendered.body.startswith(EXERCISE_PREFIX) == drill
    assert rendered.sms_fragments is not None and rendered.sms_fragments <= 2


def test_announcement_email_lists_the_persons_tasks_and_drops_empty_optional_lines(
    session: Session,
) -> None:
    tasks = [{"title": "Book the base room", "due": "Tuesday 17 November 2026, 14:00"}]
    with_tasks = render.render(
        session,
        purpose="announcement",
        medium="email",
        context=cascade_context(Purpose.announcement, tasks=tasks),
        drill=False,
    )
    assert "- Book the base room, by Tuesday 17 November 2026, 14:00" in with_tasks.body
    bare = render.render(
        session,
        purpose="announcement",
        medium="email",
        context=cascade_context(
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


def test_a_role_given_as_none_renders_as_nothing_not_the_word_none(session: Session) -> None:
    context = cascade_context(Purpose.escalation, about={"name": "Gareth Pryce", "role": None})
    rendered = render.render(
        session, purpose="escalation", medium="email", context=context, drill=False
    )
    assert "None" not in rendered.body
    assert "Gareth Pryce has not acknowledged within 15 minutes." in rendered.body


# --- council edits --------------------------------------------------------------------------


def test_a_stored_edit_wins_over_the_default_and_reset_brings_the_default_back(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        store(
            session,
            "announcement",
            "email",
            subject="Inspection: {{ contact.name }}, please acknowledge",
            body="Hello {{ contact.name }}. Acknowledge here: {{ ack_url }}",
        )
    with Session(engine) as session:
        rendered = render.render(
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
        sms = render.render(
            session,
            purpose="announcement",
            medium="sms",
            context=cascade_context(Purpose.announcement),
            drill=False,
        )
        assert not sms.customised
        assert render.reset(session, purpose="announcement", medium="email", actor="test", now=NOW)
        session.commit()
    with Session(engine) as session:
        again = render.render(
            session,
            purpose="announcement",
            medium="email",
            context=cascade_context(Purpose.announcement),
            drill=False,
        )
        assert not again.customised
        assert again.subject == render.default("announcement", "email").subject
        assert session.get(MessageTemplate, ("announcement", "email")) is None


def test_an_edit_committed_elsewhere_is_seen_from_the_next_transaction(engine: Engine) -> None:
    """Stored edits are looked up once per transaction, not once per message."""
    context = cascade_context(Purpose.reminder)
    with Session(engine) as dispatcher, Session(engine) as editor:
        first = render.render(
            dispatcher, purpose="reminder", medium="sms", context=context, drill=False
        )
        assert not first.customised
        dispatcher.commit()  # ends the transaction (and SQLite's lock on the file)
        store(editor, "reminder", "sms", body="Edited: {{ deadline.label }}")
        second = render.render(
            dispatcher, purpose="reminder", medium="sms", context=context, drill=False
        )
        assert second.customised and second.body == "Edited: Inspection report published"


def test_saving_twice_updates_the_one_row(session: Session) -> None:
    store(session, "reminder", "sms", body="First: {{ deadline.label }}")
    store(session, "reminder", "sms", body="Second: {{ deadline.label }}")
    row = session.get(MessageTemplate, ("reminder", "sms"))
    assert row is not None and row.body == "Second: {{ deadline.label }}"
    assert render.current(session, "reminder", "sms").body == row.body


def test_an_invalid_edit_is_not_stored(session: Session) -> None:
    with pytest.raises(InvalidInput):
        render.save(
            session,
            purpose="announcement",
            medium="sms",
            subject=None,
            body="{{ contact.nmae }}",
            actor="api-key:tests",
            now=NOW,
        )
    session.commit()
    assert session.get(MessageTemplate, ("announcement", "sms")) is None


def test_an_edit_that_real_values_push_past_918_characters_falls_back_to_the_default(
    session: Session,
) -> None:
    """Validated with the sample person's short name, broken by a long one: the message still
    goes, in the shipped wording."""
    body = " ".join(["{{ contact.name }}"] * 40) + " {{ ack_url }}"
    store(session, "announcement", "sms", body=body)
    short = render.render(
        session,
        purpose="announcement",
        medium="sms",
        context=cascade_context(Purpose.announcement, contact={"name": "Ann Lee", "role": ""}),
        drill=False,
    )
    assert short.customised and short.body.startswith("Ann Lee Ann Lee")
    long_name = "Oluwaseun Adebayo-Fitzgerald-Montgomery"
    rendered = render.render(
        session,
        purpose="announcement",
        medium="sms",
        context=cascade_context(Purpose.announcement, contact={"name": long_name, "role": ""}),
        drill=False,
    )
    assert not rendered.customised
    assert long_name not in rendered.body
    assert rendered.characters <= 918


def test_an_edit_that_needs_a_value_the_caller_left_out_falls_back_to_the_default(
    session: Session,
) -> None:
    store(
        session,
        "escalation",
        "email",
        subject="About {{ about.name }}",
        body="{{ reason }}; inspection ends {{ inspection.inspection_end }}",
    )
    context = cascade_context(Purpose.escalation)
    del context["inspection"]["inspection_end"]  # the shipped wording does not need it
    rendered = render.render(
        session, purpose="escalation", medium="email", context=context, drill=False
    )
    assert not rendered.customised
    assert rendered.subject == "Please stand in for Gareth Pryce: Ofsted inspection announced"


# --- the drill marking ----------------------------------------------------------------------


def test_drill_prefix_is_applied_whatever_the_template_says(session: Session) -> None:
    store(
        session,
        "escalation",
        "email",
        subject="exercise:   {{ about.name }} needs you",
        body="{{ about.name }} {{ reason }}.",
    )
    store(session, "escalation", "sms", body="Exercise: {{ about.name }} {{ reason }}.")
    context = cascade_context(Purpose.escalation)
    email = render.render(
        session, purpose="escalation", medium="email", context=context, drill=True
    )
    assert email.subject == "EXERCISE: Gareth Pryce needs you"
    assert email.body.split("\n")[0] == DRILL_FIRST_LINE
    assert email.body.endswith("Gareth Pryce has not acknowledged within 15 minutes.")
    assert email.html_body is not None and DRILL_FIRST_LINE in email.html_body
    sms = render.render(session, purpose="escalation", medium="sms", context=context, drill=True)
    assert sms.body == "EXERCISE: Gareth Pryce has not acknowledged within 15 minutes."


@pytest.mark.parametrize(("purpose", "medium"), EVERY)
def test_every_template_is_marked_in_a_drill_and_unmarked_otherwise(
    session: Session, purpose: Purpose, medium: Medium
) -> None:
    context = cascade_context(purpose)
    drill = render.render(session, purpose=purpose, medium=medium, context=context, drill=True)
    real = render.render(session, purpose=purpose, medium=medium, context=context, drill=False)
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


def test_a_missing_value_is_an_error_naming_the_placeholder(session: Session) -> None:
    context = cascade_context(Purpose.announcement)
    del context["inspection"]["on_site_start"]
    with pytest.raises(RenderError) as caught:
        render.render(session, purpose="announcement", medium="sms", context=context, drill=False)
    assert caught.value.placeholder == "inspection.on_site_start"
    assert caught.value.field == "body"


def test_a_missing_top_level_value_is_an_error_naming_it(session: Session) -> None:
    context = cascade_context(Purpose.reminder)
    del context["deadline"]
    with pytest.raises(RenderError) as caught:
        render.render(session, purpose="reminder", medium="email", context=context, drill=False)
    assert caught.value.placeholder == "deadline"
    assert caught.value.field == "subject"


# --- validation -----------------------------------------------------------------------------

BAD: list[tuple[str, str, str | None, str, str, str]] = [
    # purpose, medium, subject, body, field named, text the message must contain
    ("announcement", "email", "Hi", "Dear {{ contact.nmae }}", "body", "contact.nmae"),
    ("announcement", "email", "{{ contact.nmae }}", "Hello", "subject", "contact.nmae"),
    (
        "announcement",
        "email",
        "Hi",
        "{% if false %}{{ contact.nmae | default('x') }}{% endif %}Hello",
        "body",
        "contact.nmae",
    ),
    ("announcement", "email", "Hi", "{{ contact['nmae'] }}", "body", "contact.nmae"),
    ("announcement", "email", "Hi", "{{ contact.name.first }}", "body", "contact.name.first"),
    (
        "announcement",
        "email",
        "Hi",
        "{% for task in tasks %}{{ task.titel }}{% endfor %}",
        "body",
        "tasks[].titel",
    ),
    ("announcement", "email", "Hi", "{{ inspecton.lead_inspector }}", "body", "inspecton"),
    ("announcement", "sms", None, "{{ about.name }} {{ reason }}", "body", "about"),
    ("escalation", "sms", None, "{{ tasks | length }}", "body", "tasks"),
    ("reminder", "sms", None, "{{ deadline.days }}", "body", "deadline.days"),
    ("announcement", "email", "Hi", "{{ tasks[0].title }}", "body", "loop over it"),
    ("announcement", "email", "Hi", "{{ contact }}", "body", "contact.name"),
    ("announcement", "email", "Hi", "{{ tasks }}", "body", "loop over it"),
    ("announcement", "email", "Hi", "Line one\nLine two {{ contact.name }\n", "body", "line 2"),
    ("announcement", "email", "Hi {% if %}", "Hello", "subject", "line 1"),
    ("announcement", "email", "Hi", "{% for task in tasks %}", "body", "line 1"),
    ("announcement", "email", "Hi", "", "body", "empty"),
    ("announcement", "email", "Hi", "  \n\t ", "body", "empty"),
    (
        "announcement",
        "email",
        "Hi",
        "{% if contact.role == 'x' %}Hello{% endif %}",
        "body",
        "empty",
    ),
    ("announcement", "email", "", "Hello", "subject", "subject"),
    ("announcement", "email", None, "Hello", "subject", "subject"),
    ("announcement", "email", "{{ contact.role }}", "Hello", "subject", "empty subject"),
    ("announcement", "sms", "Subject", "Hello", "subject", "no subject"),
    ("announcement", "sms", None, "x" * 919, "body", "919 characters"),
    ("announcement", "email", "Hi", "{{ ''.__class__.__mro__ }}", "body", "unsafe"),
    ("announcement", "email", "Hi", "{{ 'x' * 1000000 }}", "body", "too large"),
    ("announcement", "email", "Hi", "{{ range(10) | list }}", "body", "range"),
    ("announcement", "email", "Hi", "Hello\x00", "body", "NUL"),
    (
        "announcement",
        "email",
        "Hi",
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "body",
        "nested",
    ),
    ("announcement", "email", "Hi", "{{ '{:>99}'.format(1) }}", "body", "format"),
    ("announcement", "email", "Hi", "{{ contact.name | center(99) }}", "body", "center"),
    ("announcement", "email", "Hi", "{% include 'other.txt' %}", "body", "loader"),
    (
        "announcement",
        "email",
        "Hi",
        "{% for t in tasks %}{% for u in tasks %}{{ 'y' * 9999 }}{% endfor %}{% endfor %}" * 3,
        "body",
        "100000",
    ),
    ("announcement", "email", "Hi", "x" * 20_001, "body", "20000"),
    ("announcement", "fax", None, "Hello", "medium", "fax"),
    ("inspection", "sms", None, "Hello", "purpose", "inspection"),
]


@pytest.mark.parametrize(("purpose", "medium", "subject", "body", "field", "says"), BAD)
def test_validation_refuses_naming_the_field_and_the_problem(
    purpose: str, medium: str, subject: str | None, body: str, field: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        render.validate(purpose, medium, subject, body)
    assert caught.value.field == field
    assert says in caught.value.message


def test_a_placeholder_of_another_purpose_is_fine_in_its_own() -> None:
    render.validate("escalation", "sms", None, "{{ about.name }} {{ reason }}")
    render.validate("reminder", "sms", None, "{{ deadline.label }} {{ deadline.due }}")
    render.validate("drill", "email", "Hi", "{% for t in tasks %}{{ t.title }}{% endfor %}x")


def test_names_the_template_sets_itself_are_not_placeholders() -> None:
    render.validate(
        "announcement",
        "email",
        "Hi",
        "{% set greeting = 'Dear ' ~ contact.name %}{{ greeting }}"
        "{% for task in tasks %}{{ loop.index }}. {{ task.title }}{% endfor %}",
    )


@pytest.mark.parametrize(
    ("purpose", "longest"),
    [("announcement", 918), ("reminder", 918), ("drill", 908), ("escalation", 908)],
)
def test_sms_length_limit_counts_the_exercise_prefix_where_a_drill_can_send_it(
    purpose: str, longest: int
) -> None:
    render.validate(purpose, "sms", None, "x" * longest)
    with pytest.raises(InvalidInput) as caught:
        render.validate(purpose, "sms", None, "x" * (longest + 1))
    assert "918" in caught.value.message


def test_characters_counted_twice_by_notify_count_towards_the_limit() -> None:
    render.validate("announcement", "sms", None, "[" * 459)
    with pytest.raises(InvalidInput):
        render.validate("announcement", "sms", None, "[" * 460)


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
    rendered = render.render_text(
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
    real = render.render_text(
        "escalation",
        "sms",
        subject="",
        body=body,
        context=sample_context("escalation"),
        drill=False,
    )
    assert real.sms_fragments == 1
    drill = render.render_text(
        "escalation",
        "sms",
        subject="",
        body=body + "y",
        context=sample_context("escalation"),
        drill=True,
    )
    assert (drill.characters, drill.sms_fragments) == (161, 2)


# --- the HTML alternative -------------------------------------------------------------------


def test_html_alternative_escapes_markup_and_links_urls() -> None:
    context = sample_context("announcement")
    context["contact"]["name"] = "<script>alert('x')</script> & Co"
    context["ack_url"] = "https://inspection-week.example.org/ack/a.b.c?x=1&y=2"
    rendered = render.render_text(
        "announcement",
        "email",
        subject="Hello <b>{{ contact.name }}</b>",
        body="Dear {{ contact.name }},\nline two\n\nAcknowledge: {{ ack_url }}.\n\n"
        "Not a link: javascript:alert(1)",
        context=context,
        drill=False,
    )
    # The text part is plain text: nothing escaped there.
    assert "<script>alert('x')</script> & Co" in rendered.body
    html = rendered.html_body
    assert html is not None
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    assert "<title>Hello &lt;b&gt;" in html
    link = "https://inspection-week.example.org/ack/a.b.c?x=1&amp;y=2"
    assert f'Acknowledge: <a href="{link}">{link}</a>.</p>' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert len(re.findall(r"<p>", html)) == 3
    assert "Co,<br>\nline two</p>" in html


def test_html_alternative_keeps_a_closing_bracket_that_belongs_to_the_url() -> None:
    html = render.html_alternative("See (https://example.org/wiki/Care_(England)) now")
    assert '<a href="https://example.org/wiki/Care_(England)">' in html
    assert "</a>) now" in html


# --- sample values --------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_sample_context_has_a_value_for_every_declared_placeholder(purpose: Purpose) -> None:
    for name in PLACEHOLDERS[purpose]:
        if name == "tasks":
            body = "{{ tasks | length }}"
        elif name.startswith("tasks[]."):
            body = (
                "{% for task in tasks %}{{ task."
                + name.removeprefix("tasks[].")
                + " }}{% endfor %}"
            )
        else:
            body = "{{ " + name + " }}"
        rendered = render.render_text(
            purpose, "sms", subject="", body=body, context=sample_context(purpose), drill=False
        )
        assert rendered.body.strip(), name


def test_sample_context_uses_the_given_contact_or_an_invented_person() -> None:
    contact = Contact(
        id="E1042",
        name="Amara Nwosu",
        role=None,
        email="amara.nwosu@example.org",
        mobile="+447700900123",
        created_at=NOW,
        updated_at=NOW,
    )
    assert sample_context("announcement", contact)["contact"] == {"name": "Amara Nwosu", "role": ""}
    invented = sample_context("announcement")["contact"]
    assert invented["name"] and invented["name"] != "Amara Nwosu"
    assert sample_context("reminder", council_name="Westmoor Council")["council_name"] == (
        "Westmoor Council"
    )


def test_format_helpers_give_the_documented_forms() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    called = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)  # GMT in November: same wall time
    assert render.format_moment(called, ZoneInfo("Europe/London")) == (
        "Tuesday 17 November 2026, 10:30"
    )
    summer = datetime(2026, 6, 9, 9, 5, tzinfo=UTC)
    assert render.format_moment(summer, ZoneInfo("Europe/London")) == "Tuesday 9 June 2026, 10:05"
    assert render.format_day(date(2026, 11, 18)) == "Wednesday 18 November 2026"
