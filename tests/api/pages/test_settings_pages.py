"""Closure days on the settings page: everyone reads them; those who keep them add one (errors
at the fields, nothing written) and remove one after confirming. Open inspections' deadlines
follow in the same transaction, and each change is in the audit log."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.calendar.closures import ClosureDay, list_closure_days
from service.inspections import service
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.api.pages.helpers import error_summary, post_form, signed_in_as
from tests.builders import london, make_inspection

pytestmark = pytest.mark.sqlite_only

CALL = london(2026, 11, 17, 10, 30)


def closures(engine: Engine) -> dict[date, str]:
    with Session(engine) as session:
        return {c.day: c.reason for c in list_closure_days(session)}


def stored(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            len(session.exec(select(ClosureDay)).all()),
            len(session.exec(select(AuditEvent)).all()),
            len(session.exec(select(TimelineEntry)).all()),
        )


def add(client: TestClient, day: str, month: str, year: str, reason: str):
    return post_form(
        client,
        "/settings/closure-days",
        {"date-day": day, "date-month": month, "date-year": year, "reason": reason},
        page="/settings",
    )


def test_everyone_reads_closure_days_but_only_keepers_see_the_form(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    page = client.get("/settings")
    assert page.status_code == 200 and "There are no closure days" in page.text
    assert "Add a closure day" not in page.text
    client.cookies.clear()
    signed_in_as(client, engine, "coordinator")
    assert "Add a closure day" in client.get("/settings").text


def test_adding_a_closure_day_moves_open_deadlines_and_is_audited(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        inspection = make_inspection(session, rules, notified_at=CALL)
        before = service.public(session, inspection, rules=rules, now=CALL).deadlines[0].due
    user = signed_in_as(client, engine, "coordinator")
    reply = add(client, "22", "12", "2026", "Christmas closure")
    assert reply.status_code == 303 and reply.headers["location"] == "/settings"
    assert closures(engine) == {date(2026, 12, 22): "Christmas closure"}
    page = client.get("/settings")
    assert "22 December 2026 added as a closure day" in page.text
    assert "deadlines moved for 1 open inspection" in page.text
    assert "Tuesday 22 December 2026" in page.text and "Christmas closure" in page.text
    with Session(engine) as session:
        fresh = service.get(session, inspection.id)
        after = service.public(session, fresh, rules=rules, now=CALL).deadlines[0].due
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "closure_day_added")
        ).one()
        moved = session.exec(
            select(TimelineEntry).where(TimelineEntry.kind == "deadlines_recomputed")
        ).one()
    assert after > before  # one more non-working day inside the count
    assert (event.actor, event.target) == (f"user:{user.username}", "2026-12-22")
    assert moved.actor == f"user:{user.username}"


def test_bad_closure_days_are_named_at_the_fields_and_nothing_is_written(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    assert add(client, "24", "12", "2026", "Christmas Eve").status_code == 303
    before = stored(engine)
    reply = add(client, "31", "2", "2026", "")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#date-day", "Date must be a real date"),
        ("#reason", "Enter why the council is closed"),
    ]
    assert "<title>Error: Settings" in reply.text
    assert add(client, "", "", "", "x" * 201).status_code == 422
    again = add(client, "24", "12", "2026", "Twice")
    assert again.status_code == 409
    assert error_summary(again.text) == [("#date-day", "2026-12-24 is already a closure day")]
    assert stored(engine) == before


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [("9" * 30, "12", "2026"), ("24", "9" * 30, "2026"), ("24", "12", "9" * 30)],
)
def test_date_numbers_of_any_size_are_a_field_error_never_a_500(
    client: TestClient, engine: Engine, day: str, month: str, year: str
) -> None:
    signed_in_as(client, engine, "coordinator")
    before = stored(engine)
    reply = add(client, day, month, year, "Christmas Eve")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [("#date-day", "Date must be a real date")]
    assert stored(engine) == before


def test_removing_asks_first_then_removes_and_audits(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin")
    assert add(client, "24", "12", "2026", "Christmas Eve").status_code == 303
    listing = client.get("/settings").text
    assert 'href="/settings/closure-days/2026-12-24/remove"' in listing
    confirm = client.get("/settings/closure-days/2026-12-24/remove")
    assert confirm.status_code == 200 and "Remove this closure day?" in confirm.text
    assert closures(engine)  # asking removes nothing
    reply = post_form(
        client,
        "/settings/closure-days/2026-12-24/remove",
        page="/settings/closure-days/2026-12-24/remove",
    )
    assert reply.status_code == 303
    assert closures(engine) == {}
    assert "24 December 2026 is no longer a closure day" in client.get("/settings").text
    with Session(engine) as session:
        assert (
            session.exec(select(AuditEvent).where(AuditEvent.action == "closure_day_removed"))
            .one()
            .target
            == "2026-12-24"
        )
    gone = post_form(client, "/settings/closure-days/2026-12-24/remove", page="/settings")
    assert gone.status_code == 404
    assert client.get("/settings/closure-days/nonsense/remove").status_code == 404


def test_a_lead_may_read_settings_but_not_change_them(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "lead")
    before = stored(engine)
    assert add(client, "24", "12", "2026", "Christmas Eve").status_code == 403
    assert client.get("/settings/closure-days/2026-12-24/remove").status_code == 403
    assert stored(engine) == before
