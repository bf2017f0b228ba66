"""Edits written in the old syntax (Jinja2): what converts mechanically, reading as it did, and
what does not, saying why."""

from __future__ import annotations

from typing import Any

import pytest

from service.notify.models import Purpose
from service.notify.templates.old_syntax import NotConvertible, convert, convert_text
from service.notify.templates.render import render_text
from service.notify.templates.samples import sample_context, sparse_context

pytestmark = pytest.mark.sqlite_only


def sms(body: str, context: dict[str, Any]) -> str:
    return render_text(
        "announcement", "sms", subject="", body=body, context=context, drill=False
    ).body


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Dear {{ contact.name }},", "Dear ((contact.name)),"),
        ("{{contact.name}} {{  ack_url  }}", "((contact.name)) ((ack_url))"),
        (
            "Hello{% if contact.role %}, {{ contact.role }}{% endif %}.",
            "Hello((contact.role??, ((contact.role)))).",
        ),
        ("A\n{# a note for us #}\nB", "A\nB"),
        ("No placeholders at all (really).", "No placeholders at all (really)."),
    ],
)
def test_placeholders_and_simple_conditions_convert(old: str, new: str) -> None:
    assert convert_text(old) == new


def test_a_condition_on_lines_of_its_own_reads_as_it_did() -> None:
    """Jinja dropped a block tag's indent and the newline after it (lstrip_blocks,
    trim_blocks); the converted text keeps the same lines."""
    old = (
        "On site from {{ inspection.on_site_start }}.\n"
        "  {% if inspection.lead_inspector %}\n"
        "The lead inspector is {{ inspection.lead_inspector }}.\n"
        "  {% endif %}\n"
        "Framework: {{ inspection.framework_name }}"
    )
    new = convert_text(old)
    assert new == (
        "On site from ((inspection.on_site_start)).\n"
        "((inspection.lead_inspector??The lead inspector is ((inspection.lead_inspector)).\n"
        "))Framework: ((inspection.framework_name))"
    )
    assert sms(new, sample_context("announcement")) == (
        "On site from Wednesday 18 November 2026.\nThe lead inspector is Harriet Oyelaran.\n"
        "Framework: Inspection of services for children in need of help and protection, "
        "children looked after and care leavers (2013)"
    )
    hidden = sms(new, sparse_context("announcement"))
    assert "lead inspector" not in hidden and "\n\n" not in hidden


@pytest.mark.parametrize(
    ("old", "why"),
    [
        ("{% for task in tasks %}- {{ task.title }}\n{% endfor %}", "{% for task in tasks %}"),
        ("{{ contact.name | upper }}", "more than a placeholder"),
        ("{{ tasks[0].title }}", "more than a placeholder"),
        ("{% if deadline.working_days_before == 0 %}today{% endif %}", "no equivalent"),
        ("{% if ack_url %}a{% else %}b{% endif %}", "{% else %}"),
        ("{% if ack_url %}{% if contact.role %}x{% endif %}{% endif %}", "inside a condition"),
        ("{% if contact.role %} ({{ contact.role }}){% endif %}", "brackets"),
        ("{% if ack_url %}Acknowledge", "no {% endif %}"),
        ("Call ((0300)) now", "(( or ))"),
        ("{%- if ack_url -%}x{% endif %}", "no equivalent"),
    ],
)
def test_anything_more_does_not_convert_and_says_why(old: str, why: str) -> None:
    with pytest.raises(NotConvertible) as caught:
        convert_text(old)
    assert why in str(caught.value)


def test_a_converted_edit_must_pass_todays_validation() -> None:
    assert convert(
        "announcement", "email", "Inspection: {{ contact.name }}", "Acknowledge: {{ ack_url }}"
    ) == ("Inspection: ((contact.name))", "Acknowledge: ((ack_url))")
    with pytest.raises(NotConvertible) as caught:
        convert(Purpose.escalation, "sms", "", "{{ about.name }} " * 200)
    assert "its body is refused" in str(caught.value) and "918" in str(caught.value)
