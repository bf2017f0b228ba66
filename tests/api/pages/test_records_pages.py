"""The record pages: an inspection's timeline (newest first, filtered, paginated, per-person
entries folded per minute), `/timeline` finding the live or latest one, the audit log (only for
those who may read it) and the rehearsal report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import audit_log, timeline
from service.cascade import flows
from service.cascade import service as cascade
from service.inspections.models import Inspection
from service.rules import Rules
from tests.api.pages.helpers import signed_in_as
from tests.builders import london, make_contact, make_inspection

pytestmark = pytest.mark.sqlite_only

CALL = london(2026, 3, 3, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)
ROW = re.compile(r'<tr class="govuk-table__row">\s*<td class="govuk-table__cell">([^<]+)</td>')


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def announced(engine: Engine, rules: Rules, *, drill: bool = False, at=CALL) -> Inspection:
    with Session(engine, expire_on_commit=False) as session:
        return make_inspection(
            session, rules, notified_at=at, now=at + timedelta(minutes=2), drill=drill
        )


def test_timeline_says_when_there_is_none_and_otherwise_finds_the_live_one(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    signed_in_as(client, engine, "viewer")
    empty = client.get("/timeline")
    assert empty.status_code == 200 and "There is no timeline yet" in empty.text
    drill = announced(engine, rules, drill=True, at=CALL + timedelta(days=1))
    assert client.get("/timeline", follow_redirects=False).headers["location"] == (
        f"/inspections/{drill.id}/timeline"  # the latest, with nothing live
    )
    live = announced(engine, rules, at=CALL)
    assert client.get("/timeline", follow_redirects=False).headers["location"] == (
        f"/inspections/{live.id}/timeline"
    )
    page = client.get(f"/inspections/{live.id}/timeline")
    assert page.status_code == 200
    assert "Inspection announced under" in page.text
    assert "3 March 2026, 10:02:00" in page.text  # London time (GMT in March)
    assert f'href="/inspections/{live.id}/report"' in page.text
    assert client.get("/inspections/not-an-id/timeline").status_code == 404
    unknown = client.get("/inspections/00000000-0000-4000-8000-000000000000/timeline")
    assert unknown.status_code == 404 and "There is no inspection" in unknown.text


def test_per_person_entries_fold_into_one_row_a_minute(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    inspection = announced(engine, rules)
    with Session(engine) as session:
        for n in range(130):  # 130 escalations: 100 in 10:20, 30 in 10:21
            timeline.log(
                session,
                inspection_id=inspection.id,
                actor="cascade",
                kind="cascade_escalated",
                summary=f"Person {n} did not acknowledge within 15 minutes",
                now=CALL + timedelta(minutes=20 + (n >= 100), seconds=(n % 100) * 0.5),
            )
        for n in range(60):  # the lead's own changes, one a minute after that
            timeline.log(
                session,
                inspection_id=inspection.id,
                actor="user:hoyelaran",
                kind="timetable_changed",
                summary=f"Change number {n}",
                now=CALL + timedelta(minutes=30 + n),
            )
        session.commit()
    signed_in_as(client, engine, "viewer")
    first = plain(client.get(f"/inspections/{inspection.id}/timeline").text)
    assert "63 entries" in first and "page 1 of 2" in first  # 60 + 2 folded + announced
    assert "Change number 59" in first and "Change number 10" in first
    assert "Change number 9 " not in first  # on page 2
    second = plain(client.get(f"/inspections/{inspection.id}/timeline?page=2").text)
    assert "Change number 9 " in second and "Change number 0 " in second
    assert "100 people did not acknowledge in time" in second
    assert "30 people did not acknowledge in time" in second
    assert "Person 3 did" not in second
    assert second.index("30 people") < second.index("100 people")  # newest first
    only = plain(
        client.get(f"/inspections/{inspection.id}/timeline?kind=cascade_escalated&page=3").text
    )
    assert "130 entries" in only and "page 3 of 3" in only
    assert "Person 0 did not acknowledge" in only and "Change number" not in only
    changes = plain(
        client.get(f"/inspections/{inspection.id}/timeline?kind=timetable_changed").text
    )
    assert "60 entries" in changes and "did not acknowledge" not in changes
    assert client.get(f"/inspections/{inspection.id}/timeline?page=0").status_code == 422


def test_the_audit_log_is_for_those_who_may_read_it(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session:
        for n in range(55):
            audit_log.record(
                session,
                actor="user:twojcik",
                action="closure_day_added",
                target=f"2026-12-{n % 28 + 1:02d}",
                now=CALL + timedelta(minutes=n),
                data={"reason": f"Closure {n}"},
            )
        session.commit()
    signed_in_as(client, engine, "viewer")
    refused = client.get("/audit-log")
    assert refused.status_code == 403 and "view audit" in refused.text
    client.cookies.clear()
    signed_in_as(client, engine, "coordinator")
    page = plain(client.get("/audit-log").text)
    # newest first: two users created and signed in today, then closures 54 down to 9
    assert "Closure 54" in page and "Closure 9)" in page and "Closure 8)" not in page
    assert "page 1 of 2" in page and "Signed in" in page  # signing in is audited too
    later = plain(client.get("/audit-log?page=2").text)
    assert "Closure 0)" in later
    filtered = plain(client.get("/audit-log?action=signed_in").text)
    assert "Closure 0)" not in filtered and "2 changes" in filtered  # viewer, coordinator


def test_the_rehearsal_report_says_how_fast_and_where_it_broke(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    with Session(engine) as session:
        make_contact(session, "sg-lead", "Harriet Oyelaran")
        make_contact(session, "sg-dcs", "Tomasz Wójcik")
        make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead")
        make_contact(session, "partners", "Femi Adeyemi", reports_to="sg-dcs")
        make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="people")
        session.commit()
    drill = announced(engine, rules, drill=True)
    older = announced(engine, rules, drill=True, at=CALL - timedelta(days=7))
    for who, after in (("sg-lead", 4), ("sg-dcs", 12)):
        with Session(engine) as session:
            fresh = session.get(Inspection, drill.id)
            node = cascade.node_for(session, drill.id, who)
            run = flows.open_run(
                session, fresh, rules=rules, now=ANNOUNCED + timedelta(minutes=after)
            )
            cascade.acknowledge(run, node, via="link")
            session.commit()
    with Session(engine) as session:
        fresh = session.get(Inspection, drill.id)
        node = cascade.node_for(session, drill.id, "partners")
        run = flows.open_run(session, fresh, rules=rules, now=ANNOUNCED + timedelta(minutes=30))
        cascade.close_window(run, node)
        session.commit()
    signed_in_as(client, engine, "viewer")
    page = client.get(f"/inspections/{drill.id}/report")
    assert page.status_code == 200
    text = plain(page.text)
    assert "Rehearsal report" in text
    assert "Until the whole steering group acknowledged 12 min 0 s" in text
    assert "Acknowledged within 15 minutes 40.0%" in text
    assert "Acknowledged so far 2 of 5" in text
    assert "Femi Adeyemi 2 did not acknowledge within 15 minutes" in text
    assert f'href="/inspections/{older.id}/report"' in page.text  # the other rehearsal
    assert "This report" in text
    assert client.get("/inspections/0/report").status_code == 404
