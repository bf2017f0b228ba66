"""Sample values: a value for every placeholder, the chosen person, and links on this server."""

from __future__ import annotations

import pytest

from service.notify.models import Purpose
from service.notify.templates.placeholders import PLACEHOLDERS, TASK_PURPOSES
from service.notify.templates.render import render_text
from service.notify.templates.samples import (
    SAMPLE_ACK_TOKEN,
    SAMPLE_BASE_URL,
    SAMPLE_DONE_TOKENS,
    sample_context,
    sparse_context,
)
from tests.notify.templates.builders import unsaved_contact


@pytest.mark.parametrize("purpose", list(Purpose))
def test_sample_context_has_a_value_for_every_declared_placeholder(purpose: Purpose) -> None:
    for name in PLACEHOLDERS[purpose]:
        body = f"(({name}??shown))" if name == "no_tasks" else f"(({name}))"
        context = sparse_context(purpose) if name == "no_tasks" else sample_context(purpose)
        rendered = render_text(purpose, "sms", subject="", body=body, context=context, drill=False)
        assert rendered.body.strip(), name


def test_sample_context_uses_the_given_contact_or_an_invented_person() -> None:
    contact = unsaved_contact()
    assert sample_context("announcement", contact)["contact"] == {"name": "Amara Nwosu", "role": ""}
    invented = sample_context("announcement")["contact"]
    assert invented["name"] and invented["name"] != "Amara Nwosu"
    assert sample_context("reminder", council_name="Westmoor Council")["council_name"] == (
        "Westmoor Council"
    )


def test_sample_links_are_made_on_the_given_server_as_real_ones_are() -> None:
    base = "https://iw.westmoor.example.org/"
    assert sample_context("announcement", base_url=base)["ack_url"] == (
        f"https://iw.westmoor.example.org/ack/{SAMPLE_ACK_TOKEN}"
    )
    assert sample_context("task_reminder", base_url=base)["task"]["done_url"] == (
        f"https://iw.westmoor.example.org/tasks/done/{SAMPLE_DONE_TOKENS[0]}"
    )
    digest = sample_context("task_digest", base_url=base)["tasks"]
    assert [task["done_url"] for task in digest] == [
        f"https://iw.westmoor.example.org/tasks/done/{token}" for token in SAMPLE_DONE_TOKENS
    ]
    assert sample_context("escalation")["ack_url"].startswith(f"{SAMPLE_BASE_URL}/ack/")


@pytest.mark.parametrize("purpose", sorted(TASK_PURPOSES))
def test_task_samples_carry_no_acknowledgement_link(purpose: Purpose) -> None:
    assert "ack_url" not in sample_context(purpose)
    assert "ack_url" not in sparse_context(purpose)


def test_the_sparse_context_leaves_everything_optional_empty() -> None:
    sparse = sparse_context("announcement")
    assert sparse["contact"]["role"] == "" and sparse["inspection"]["lead_inspector"] == ""
    assert sparse["ack_url"] == "" and sparse["tasks"] == []
    assert sparse_context("reminder")["deadline"]["working_days_before"] == 0
    assert sparse_context("task_overdue")["owner"]["role"] == ""
    assert sparse_context("task_reminder")["task"]["description"] == ""
