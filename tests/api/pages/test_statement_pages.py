"""The statement of action page: a lead drafts, records the approval and the publication, and
the deadline shows as met; a wrong date or address is shown at its field with nothing written;
a step out of order is refused; a viewer reads only."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import utcnow
from service.inspections.models import MilestoneRecord
from service.statement.models import ActionStatement
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only


def stored(engine: Engine, inspection_id: uuid.UUID) -> ActionStatement | None:
    with Session(engine) as session:
        return session.get(ActionStatement, inspection_id)


def when(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(day.day),
        f"{prefix}-month": str(day.month),
        f"{prefix}-year": str(day.year),
    }


def record_report(engine: Engine, inspection_id: uuid.UUID, day: date) -> None:
    with Session(engine) as session:
        session.add(
            MilestoneRecord(
                inspection_id=inspection_id,
                key="report_published",
                day=day,
                recorded_at=utcnow(),
                recorded_by="test",
            )
        )
        session.commit()


def test_a_lead_takes_the_statement_from_draft_to_published(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "lead")
    page = f"/inspections/{inspection_id}/action-statement"
    assert f'href="{page}"' in client.get(f"/inspections/{inspection_id}").text
    assert "Not started" in client.get(page).text

    drafted = post_form(
        client, f"{page}/draft", {"draft_url": "https://intranet.example.org/d3"}, page=page
    )
    assert drafted.status_code == 303, drafted.text
    approval = {"approved_by": "Cabinet", "meeting": "Cabinet, 30 November"}
    future = post_form(
        client,
        f"{page}/approve",
        approval | when("approved_on", date.today() + timedelta(days=30)),
        page=page,
    )
    assert future.status_code == 422
    assert error_summary(future.text)[0][0] == "#approved_on-day"
    assert error_summary(future.text)[0][1].startswith("Date approved is in the future")
    approval |= when("approved_on", date(2026, 11, 30))
    approved = post_form(client, f"{page}/approve", approval, page=page)
    assert approved.status_code == 303, approved.text
    row = stored(engine, inspection_id)
    assert row is not None and row.stage == "approved" and row.approved_by == "Cabinet"

    record_report(engine, inspection_id, date(2026, 12, 1))
    bad = post_form(
        client,
        f"{page}/publish",
        when("published_on", date(2026, 12, 2)) | {"url": "nope"},
        page=page,
    )
    assert bad.status_code == 422
    assert error_summary(bad.text) == [
        ("#url", "Enter an address starting https:// or http://, up to 2,000 characters")
    ]
    published = post_form(
        client,
        f"{page}/publish",
        when("published_on", date(2026, 12, 2)) | {"url": "https://www.example.org/wsoa"},
        page=page,
    )
    assert published.status_code == 303, published.text
    shown = client.get(page).text
    assert "Publication recorded" in shown and "Met on 2 December 2026" in shown
    with Session(engine) as session:
        met = session.get(MilestoneRecord, (inspection_id, "action_statement_published"))
        assert met is not None and met.day == date(2026, 12, 2)


def test_out_of_order_and_bad_dates_change_nothing(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "admin")
    page = f"/inspections/{inspection_id}/action-statement"
    early = {"approved_by": "Cabinet", "meeting": "Cabinet"} | when(
        "approved_on", date(2026, 11, 1)
    )
    refused = post_form(client, f"{page}/approve", early, page=page)
    assert refused.status_code == 409
    assert error_summary(refused.text)[0][0] == "#stage"
    assert stored(engine, inspection_id) is None

    post_form(client, f"{page}/draft", {}, page=page)
    missing = post_form(
        client,
        f"{page}/approve",
        {"approved_on-day": "31", "approved_on-month": "2", "approved_on-year": "2026"},
        page=page,
    )
    assert missing.status_code == 422
    assert [href for href, _ in error_summary(missing.text)] == [
        "#approved-by",
        "#approved_on-day",
        "#meeting",
    ]
    before_call = post_form(client, f"{page}/approve", early, page=page)
    assert before_call.status_code == 422
    assert error_summary(before_call.text)[0][1].startswith("Date approved is before Ofsted called")
    row = stored(engine, inspection_id)
    assert row is not None and row.stage == "draft"


def test_a_viewer_reads_but_cannot_move_it_on(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "viewer")
    page = f"/inspections/{inspection_id}/action-statement"
    shown = client.get(page)
    assert shown.status_code == 200 and "working days" in shown.text
    assert 'id="save-draft"' not in shown.text
    assert post_form(client, f"{page}/draft", {}, page=page).status_code == 403
    assert stored(engine, inspection_id) is None
