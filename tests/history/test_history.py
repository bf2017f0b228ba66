"""History: real inspections newest first with their judgements, cascade timings and each
deadline met, missed or open; rehearsals left out; through the API on both databases and on
the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.frameworks import Milestone
from service.history import outcome
from service.inspections import flows as inspection_flows
from service.judgements import service as judgements
from service.rules import Rules
from tests.api.pages.helpers import signed_in_as
from tests.builders import ACTOR, london, make_inspection


@pytest.mark.parametrize(
    ("met_on", "today", "expected"),
    [
        (date(2026, 5, 11), date(2026, 6, 1), "met"),  # on the day
        (date(2026, 5, 12), date(2026, 6, 1), "missed"),  # a day late
        (None, date(2026, 5, 11), "open"),
        (None, date(2026, 5, 12), "missed"),
    ],
)
def test_a_deadline_is_met_missed_or_open(met_on: date | None, today: date, expected: str) -> None:
    assert outcome(date(2026, 5, 11), met_on, today) == expected


@pytest.fixture
def reader(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("inspections:read")


@pytest.fixture
def past(session: Session, rules: Rules) -> None:
    """Made before the app starts (the tests ask for it first): its scheduler writes too.

    2015: inadequate, report published late, then closed; 2025: live, nothing recorded; and
    a rehearsal in between that history leaves out."""
    old = make_inspection(session, rules, notified_at=london(2015, 9, 14, 9, 30))
    judgements.record(
        session,
        rules=rules,
        inspection_id=old.id,
        grades={"help_and_protection": "inadequate", "looked_after": "requires_improvement"},
        actor=ACTOR,
        now=london(2015, 12, 1, 9),
    )
    for key, day in (
        (Milestone.report_published, date(2015, 11, 27)),
        (Milestone.closed, date(2016, 6, 1)),
    ):
        inspection_flows.record_milestone(
            session,
            rules=rules,
            inspection_id=old.id,
            key=key,
            day=day,
            actor=ACTOR,
            now=london(2016, 6, 2, 9),
        )
    session.commit()
    make_inspection(session, rules, notified_at=london(2020, 3, 3, 10), drill=True)
    make_inspection(session, rules, notified_at=london(2025, 6, 10, 10))


def test_the_history_route_lists_real_inspections_newest_first(
    past: None, client: TestClient, reader: dict[str, str]
) -> None:
    first = client.get("/api/v1/history?limit=1", headers=reader)
    assert first.status_code == 200, first.text
    [newest] = first.json()["items"]
    assert newest["notified_at"] == "2025-06-10T09:00:00Z"
    assert newest["overall"] is None and newest["judgements"] == {}
    rest = client.get(f"/api/v1/history?cursor={first.json()['next_cursor']}", headers=reader)
    [old] = rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert old["status"] == "closed"
    assert old["judgements"] == {
        "help_and_protection": "inadequate",
        "looked_after": "requires_improvement",
    }
    assert old["overall"] == "inadequate"
    publication = next(d for d in old["deadlines"] if d["key"] == "publication")
    # Called on Monday 14 September 2015: week 4 ends Wednesday 7 October; 30 working days on
    # is Wednesday 18 November.
    assert (publication["due"], publication["met_on"], publication["outcome"]) == (
        "2015-11-18",
        "2015-11-27",
        "missed",
    )
    statement = next(d for d in old["deadlines"] if d["key"] == "action_statement")
    assert statement["outcome"] == "missed"  # never published, long past due
    assert old["people"] == 0 and old["seconds_until_everyone_reached"] is None
    assert client.get("/api/v1/history").status_code == 401
    assert client.get("/api/v1/history?limit=501", headers=reader).status_code == 422


@pytest.mark.sqlite_only
def test_the_history_page_shows_the_same(past: None, client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "viewer")
    page = client.get("/history")
    assert page.status_code == 200
    text = page.text
    assert 'href="/history"' in text  # in the navigation
    assert text.count('id="inspection-') == 2
    assert "Overall: Inadequate" in text and "Overall not recorded" in text
    assert "Inspection report published: due 18 Nov 2015, done 27 Nov 2015" in text
    # Four deadlines, all past and missed, and one inadequate overall judgement.
    assert text.count("govuk-tag--red") == 5 and "govuk-tag--green" not in text
