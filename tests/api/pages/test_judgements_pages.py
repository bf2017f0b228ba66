"""The Judgements page: everyone signed in reads them; a lead records them from the report and
sees the overall rule applied; a contradiction is shown at its field with nothing written; a
viewer cannot record."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.judgements.models import JudgementRecord
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only

REPORT = {
    "grade-help_and_protection": "inadequate",
    "grade-looked_after": "requires_improvement",
    "grade-adoption": "good",
    "grade-care_leavers": "",
    "grade-leadership": "requires_improvement",
    "grade-lscb": "good",
    "grade-overall": "",
}


def stored(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {row.key: row.grade for row in session.exec(select(JudgementRecord)).all()}


def test_a_lead_records_the_report_and_the_overall_rule_applies(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "lead")
    page = f"/inspections/{inspection_id}/judgements"
    assert f'href="{page}"' in client.get(f"/inspections/{inspection_id}").text
    empty = client.get(page)
    assert empty.status_code == 200
    assert "Not recorded yet" not in empty.text  # the reason is the rule's own sentence
    assert "is not recorded yet" in empty.text and 'id="save-judgements"' in empty.text

    saved = post_form(client, page, REPORT, page=page)
    assert saved.status_code == 303, saved.text
    assert stored(engine) == {k.removeprefix("grade-"): v for k, v in REPORT.items() if v}
    shown = client.get(page).text
    assert "Judgements saved" in shown
    assert "Inadequate in any key judgement makes the overall judgement inadequate." in shown
    assert 'value="inadequate" checked' in shown


def test_an_overall_grade_the_rule_contradicts_is_shown_at_its_field_and_nothing_is_written(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "lead")
    page = f"/inspections/{inspection_id}/judgements"
    refused = post_form(client, page, REPORT | {"grade-overall": "good"}, page=page)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [
        (
            "#grade-overall",
            "Must be inadequate, not good: Inadequate in any key judgement makes the overall "
            "judgement inadequate.",
        )
    ]
    assert refused.text.startswith("<!DOCTYPE html>") and "<title>Error: " in refused.text
    assert stored(engine) == {}

    forged = post_form(client, page, {"grade-leadership": "adequate"}, page=page)
    assert forged.status_code == 422
    [(href, text)] = error_summary(forged.text)
    assert href == "#grade-leadership" and text.startswith("'adequate' is not a grade")
    unknown = post_form(client, page, {"grade-x": "good"}, page=page)
    [(href, text)] = error_summary(unknown.text)
    assert href == "#judgements-form" and "the known ones are" in text
    assert stored(engine) == {}


def test_a_viewer_reads_but_cannot_record(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "viewer")
    page = f"/inspections/{inspection_id}/judgements"
    shown = client.get(page)
    assert shown.status_code == 200 and "Overall effectiveness" in shown.text
    assert 'id="save-judgements"' not in shown.text
    assert post_form(client, page, REPORT, page=page).status_code == 403
    assert stored(engine) == {}
    assert client.get(f"/inspections/{uuid.uuid4()}/judgements").status_code == 404


def test_an_inadequate_outcome_links_to_the_improvement_page(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "lead")
    page = f"/inspections/{inspection_id}/judgements"
    improvement = f"/inspections/{inspection_id}/improvement"
    before = client.get(improvement)
    assert before.status_code == 200
    assert "The improvement pathway is not open" in before.text
    assert "opens when the overall judgement is recorded as inadequate" in before.text
    assert post_form(client, page, REPORT, page=page).status_code == 303
    assert f'href="{improvement}"' in client.get(page).text
    shown = client.get(improvement)
    assert shown.status_code == 200
    assert "Improvement board chair" in shown.text and 'id="meetings"' in shown.text
    assert "Appoint the improvement board" in shown.text
    assert client.get(f"/inspections/{uuid.uuid4()}/improvement").status_code == 404
