"""The home page, the inspections list and the dashboard, through the TestClient on SQLite and
PostgreSQL: the cascade's figures as the database counts them (checked against
`progress.progress`, which counts row by row), the timetable as calendar weeks with bank holidays
and closure days named, deadlines with working days left, tasks with overdue ones first, the
audit, and the live updates' event stream."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.api.pages import dashboard
from service.calendar.closures import add_closure_day
from service.cascade import counts as cascade_counts
from service.cascade import flows, progress
from service.cascade import service as cascade
from service.cascade.models import CascadeNode
from service.config import Settings
from service.db import utcnow
from service.inspections import service
from service.inspections.models import Inspection
from service.main import on_delivery_failure
from service.notify import pauses
from service.notify.channels.base import Accepted, Medium
from service.notify.dispatch import Outcome, claim, record
from service.plan import tasks as plan_tasks
from service.rules import Rules
from tests.api.pages.helpers import signed_in_as
from tests.builders import london, make_contact, make_inspection
from tests.conftest import make_settings
from tests.trees import insert_tree, tree_rows

CALL = london(2026, 5, 12, 10, 30)  # a Tuesday; Spring bank holiday is Monday 25 May
THURSDAY_WEEK_3 = london(2026, 5, 28, 12, 0)
TRAINING_DAY = date(2026, 5, 20)


def figure(page: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}">\s*(\d+)\s*<', page)
    assert found is not None, f"no #{element_id} on the page"
    return int(found.group(1))


def deliver_all(engine: Engine, rules: Rules, at: datetime) -> None:
    claimed = claim(engine, now=at, limit=10_000)
    record(
        engine,
        [Outcome(c.id, "outbox", accepted=Accepted(), at=at) for c in claimed],
        on_failure=on_delivery_failure(rules),
        max_attempts=12,
        now=at,
    )


def step(engine: Engine, rules: Rules, inspection: Inspection, who: str, at: datetime, what: str):
    """Acknowledge `who`, or let their window close unacknowledged (they are escalated)."""
    with Session(engine) as session:
        fresh = session.get(Inspection, inspection.id)
        node = cascade.node_for(session, inspection.id, who)
        assert fresh is not None and node is not None
        run = flows.open_run(session, fresh, rules=rules, now=at)
        if what == "ack":
            cascade.acknowledge(run, node, via="link")
        else:
            cascade.close_window(run, node)
        session.commit()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No dispatcher in the app: these tests send by hand, so the page and the counts read
    after it see the same messages."""
    return make_settings(database_url=database_url, dispatcher_enabled=False)


@pytest.fixture
def people(session: Session) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "sg-dcs", "Tomasz Wójcik")
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead", deputy="sg-lead")
    make_contact(session, "partners", "Femi Adeyemi", reports_to="sg-dcs")
    make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="people")
    session.commit()


def test_the_database_counts_match_the_row_by_row_progress(
    engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)

    def both() -> tuple[dict[str, Any], dict[str, Any]]:
        with Session(engine) as fresh:
            inspection = service.get(fresh, drill.id)
            return (
                cascade_counts.counts(fresh, drill.id).as_json(),
                progress.progress(fresh, inspection).model_dump(),
            )

    def agree() -> dict[str, Any]:
        counted, walked = both()
        assert counted["levels"] == walked["levels"]
        assert counted["total"] == walked["total"]
        assert {s: counted[s] for s in progress_statuses} == walked["by_status"]
        with Session(engine) as fresh:
            listed = cascade_counts.broken_people(fresh, drill.id, limit=50)
        assert [(p.contact_id, p.reason) for p in listed] == [
            (b["contact_id"], b["reason"]) for b in walked["broken"]
        ]
        return counted

    progress_statuses = ("waiting", "notified", "acknowledged", "broken")
    start = agree()
    assert start["reached"] == 0 and start["waiting"] == 3 and start["notified"] == 2
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    assert agree()["reached"] == 2
    step(engine, rules, drill, "sg-lead", CALL + timedelta(minutes=3), "ack")
    step(engine, rules, drill, "sg-dcs", CALL + timedelta(minutes=16), "escalate")
    deliver_all(engine, rules, CALL + timedelta(minutes=17))
    late = agree()
    assert late["acknowledged"] == 1 and late["broken"] == 1
    assert late["reached"] == late["total"] - late["waiting"]
    with Session(engine) as fresh:
        (broken,) = cascade_counts.broken_people(fresh, drill.id, limit=50)
    assert (broken.name, broken.level) == ("Tomasz Wójcik", 1)


def test_the_dashboard_shows_the_tree_timetable_deadlines_tasks_and_audit(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    with Session(engine) as writing:
        add_closure_day(writing, day=TRAINING_DAY, reason="Staff training day", actor="t", now=CALL)
        writing.commit()
    inspection = make_inspection(session, rules, notified_at=CALL)
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    step(engine, rules, inspection, "sg-lead", CALL + timedelta(minutes=2), "ack")
    with time_machine.travel(THURSDAY_WEEK_3, tick=False):
        signed_in_as(client, engine, "viewer")
        reply = client.get(f"/inspections/{inspection.id}")
        with Session(engine) as fresh:
            public = service.public(
                fresh, service.get(fresh, inspection.id), rules=rules, now=THURSDAY_WEEK_3
            )
            listed = plan_tasks.list_tasks(fresh, inspection.id, rules=rules, now=THURSDAY_WEEK_3)
            counted = cascade_counts.counts(fresh, inspection.id).overall
            walked = progress.progress(fresh, service.get(fresh, inspection.id)).model_dump()
    assert reply.status_code == 200
    page = reply.text
    text = html.unescape(page)
    assert page.count("<h1") == 1 and "EXERCISE" not in page
    # The tree's figures, with the ids the end-to-end test reads.
    assert figure(page, "cascade-reached") == counted.reached
    assert counted.reached == sum(level["reached"] for level in walked["levels"]) >= 2
    assert figure(page, "cascade-acknowledged") == 1
    assert figure(page, "cascade-broken") == 0
    assert figure(page, "cascade-total") == 5
    assert 'data-events-url="/inspections/' in page and 'aria-live="polite"' in page
    refresh = f'href="/inspections/{inspection.id}?at={int(THURSDAY_WEEK_3.timestamp())}#cascade"'
    assert refresh in page  # a fresh URL each time, so following it always reloads
    assert "http-equiv" not in page  # never a timed reload
    # Weeks 1 to 4, Monday to Friday, on-site days marked in words.
    for week in (1, 2, 3, 4):
        assert f'id="week-{week}"' in page
    calendar = {
        day: cell for day, cell in re.findall(r'data-date="([\d-]+)">(.*?)</td>', page, re.S)
    }
    on_site = {day.isoformat() for phase in public.phases if phase.on_site for day in phase.days}
    assert {day for day, cell in calendar.items() if "On site" in cell} == on_site
    holiday = rules.calendar(session).bank_holiday(date(2026, 5, 25))
    assert holiday and holiday in html.unescape(calendar["2026-05-25"])
    assert "On site" not in calendar["2026-05-25"]
    assert "Staff training day" in calendar[TRAINING_DAY.isoformat()]
    assert "Ofsted called" in calendar["2026-05-12"]
    assert "Today" in calendar["2026-05-28"] and "Today" not in calendar["2026-05-27"]
    # Deadlines with working days left, counted by the working-day calendar.
    calendar_rules = rules.calendar(session)
    for deadline in public.deadlines:
        left = calendar_rules.working_days_between(THURSDAY_WEEK_3.date(), deadline.due)
        row = re.search(
            rf"{re.escape(deadline.label)}</th>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>\s*(\d+)",
            text,
        )
        assert row is not None, deadline.label
        assert row.group(1).strip() == deadline.due.strftime("%A %-d %B %Y")
        assert int(row.group(2)) == left > 0
    # Tasks: overdue ones first, grouped by owner, and the unmapped roles.
    overdue = [task for task in listed.items if task.overdue]
    assert overdue, "the plan should have tasks due before week 3's Thursday"
    assert f"Overdue tasks ({len(overdue)})" in text
    first_rows = re.findall(r'id="overdue-tasks".*?</table>', text, re.S)[0]
    assert overdue[0].title in first_rows
    assert f"{len(listed.items)} tasks by owner and status" in text
    for warning in listed.warnings:
        assert warning in text
    assert f'href="/inspections/{inspection.id}/tasks"' in page
    # The audit.
    assert "The 18-case audit" in text and 'id="audit-entered">0 of 18' in page
    assert f'href="/inspections/{inspection.id}/audit"' in page


def test_a_rehearsal_says_exercise_and_lists_the_first_50_broken_people(
    client: TestClient, engine: Engine, session: Session, rules: Rules
) -> None:
    insert_tree(engine, tree_rows(80, now=CALL, steering=60, depth=2, window=15))
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    closed = CALL + timedelta(minutes=20)
    for n in range(55):
        step(engine, rules, drill, f"p{n:05d}", closed, "escalate")
    signed_in_as(client, engine, "viewer")
    page = client.get(f"/inspections/{drill.id}").text
    assert "EXERCISE" in page
    assert figure(page, "cascade-broken") == 55
    listed = re.findall(r'id="cascade-broken-people".*?</table>', page, re.S)[0]
    assert listed.count('<tr class="govuk-table__row">') == 1 + 50
    assert f'href="/inspections/{drill.id}/broken"' in page
    everyone = client.get(f"/inspections/{drill.id}/broken").text
    assert "1 to 55 of 55 people" in everyone and "p00054" in everyone
    for odd in ("abc", "-1", "99999999999"):
        again = client.get(f"/inspections/{drill.id}/broken", params={"page": odd})
        assert again.status_code == 200 and "1 to 55 of 55 people" in again.text, odd
    beyond = client.get(f"/inspections/{drill.id}/broken", params={"page": "9"}).text
    assert "There are only 55 people on the list" in beyond


def test_the_dashboard_counts_in_the_database_not_row_by_row(
    client: TestClient, engine: Engine, session: Session, rules: Rules
) -> None:
    """The same statements, and no cascade row loaded as an object, for 20 or 400 people."""
    loaded: list[object] = []

    def count_load(target: object, _: object) -> None:
        loaded.append(target)

    sa.event.listen(CascadeNode, "load", count_load)
    signed_in_as(client, engine, "viewer")
    statements: list[int] = []
    try:
        for size in (20, 400):
            prefix = f"t{size}-"
            rows = tree_rows(size, now=CALL, window=15)
            for row in rows:
                row["id"] = prefix + row["id"]
                row["reports_to"] = row["reports_to"] and prefix + row["reports_to"]
                row["deputy"] = row["deputy"] and prefix + row["deputy"]
            insert_tree(engine, rows)
            drill = make_inspection(session, rules, notified_at=CALL, drill=True)
            seen: list[str] = []

            def note(*args: Any, seen: list[str] = seen) -> None:
                seen.append(args[2])

            sa.event.listen(engine, "before_cursor_execute", note)
            loaded.clear()
            try:
                assert client.get(f"/inspections/{drill.id}").status_code == 200
            finally:
                sa.event.remove(engine, "before_cursor_execute", note)
            assert loaded == []
            statements.append(len([s for s in seen if "cascade_node" in s]))
            with Session(engine) as fresh:  # retire the contacts from the next tree
                fresh.execute(sa.text("UPDATE contact SET active = false"))
                fresh.commit()
    finally:
        sa.event.remove(CascadeNode, "load", count_load)
    assert statements[0] == statements[1] > 0


def test_the_inspections_list_is_newest_first_with_status_tags(
    client: TestClient, engine: Engine, session: Session, rules: Rules
) -> None:
    signed_in_as(client, engine, "viewer")
    assert "Nothing has been announced yet" in client.get("/inspections").text
    old = make_inspection(session, rules, notified_at=london(2025, 3, 4, 10))
    drill = make_inspection(session, rules, notified_at=london(2026, 5, 12, 10), drill=True)
    with time_machine.travel(london(2026, 5, 12, 15), tick=False):
        page = html.unescape(client.get("/inspections").text)
    order = [m for m in re.findall(r'href="/inspections/([0-9a-f-]{36})"', page)]
    assert order == [str(drill.id), str(old.id)]
    assert "Rehearsal" in page and "Announced" in page and "Awaiting report" in page


def test_missing_and_malformed_inspections_are_a_404_page(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    for path in (f"/inspections/{uuid.uuid4()}", "/inspections/not-an-id", "/inspections/x/broken"):
        reply = client.get(path)
        assert reply.status_code == 404 and "<h1" in reply.text, path
    assert client.get(f"/inspections/{uuid.uuid4()}/events").status_code == 404


def test_signed_out_browsers_are_sent_to_sign_in(client: TestClient) -> None:
    for path in (
        "/inspections",
        f"/inspections/{uuid.uuid4()}",
        f"/inspections/{uuid.uuid4()}/events",
    ):
        reply = client.get(path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")


def test_the_home_page_shows_the_live_inspection_and_recent_ones(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    signed_in_as(client, engine, "lead")
    empty = client.get("/").text
    assert "No inspection has been announced yet" in empty and 'href="/rehearsal"' in empty
    drill = make_inspection(session, rules, notified_at=london(2026, 5, 5, 10), drill=True)
    live = make_inspection(session, rules, notified_at=CALL)
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    page = html.unescape(client.get("/").text)
    assert 'id="live-dashboard"' in page and f'href="/inspections/{live.id}"' in page
    assert "2 of 5 people reached, 0 acknowledged, 0 broken" in page
    assert "Announce an inspection" not in page  # one live inspection at a time
    recent = re.findall(r'id="recent-rehearsals".*?</ul>', page, re.S)[0]
    assert f'href="/inspections/{drill.id}"' in recent and str(live.id) not in recent


def test_a_viewer_is_offered_neither_announce_nor_rehearsal(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    page = client.get("/").text
    assert 'href="/announce"' not in page and 'href="/rehearsal"' not in page


def test_the_event_stream_sends_the_counts_at_once_and_again_only_when_they_change(
    engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    loads: list[int] = []

    def load() -> dict[str, Any]:
        loads.append(1)
        if len(loads) == 3:  # between the second and third look, someone acknowledges
            step(engine, rules, drill, "sg-lead", CALL + timedelta(minutes=2), "ack")
        with Session(engine) as fresh:
            return cascade_counts.counts(fresh, drill.id).as_json()

    async def seen_enough() -> bool:  # stops on the number of looks, not the clock
        return len(loads) >= 6

    async def collect() -> list[dict[str, Any]]:
        stream = dashboard.count_events(load, interval=0.01, duration=60, disconnected=seen_enough)
        return [event async for event in stream]

    events = anyio.run(collect)
    assert len(loads) == 6
    assert [json.loads(e["data"])["acknowledged"] for e in events] == [0, 1]
    assert all(e["event"] == "counts" for e in events)


def test_the_events_route_streams_counts_as_server_sent_events(
    client: TestClient,
    engine: Engine,
    session: Session,
    rules: Rules,
    people: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short stream: the TestClient reads a reply to its end.
    monkeypatch.setattr(dashboard, "STREAM_SECONDS", 0.1)
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    signed_in_as(client, engine, "viewer")
    reply = client.get(f"/inspections/{drill.id}/events")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert "event: counts" in reply.text
    data = json.loads(re.search(r"^data: (.*)$", reply.text, re.M).group(1))  # type: ignore[union-attr]
    assert data["total"] == 5 and data["waiting"] == 3 and data["levels"][0]["level"] == 1


def test_the_dashboard_and_the_cascade_api_say_when_sms_is_paused(
    client: TestClient, engine: Engine, session: Session, rules: Rules
) -> None:
    """A spent daily limit pauses SMS until midnight UTC: the lead is told on the dashboard, and
    the intranet in `paused`."""
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    session.commit()
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    now = utcnow()
    with Session(engine) as writing:
        pauses.pause(
            writing,
            Medium.sms,
            until=pauses.next_midnight_utc(now),
            reason=pauses.DAILY_LIMIT_REASON,
            now=now,
        )
        writing.commit()
    signed_in_as(client, engine, "viewer")
    page = html.unescape(client.get(f"/inspections/{drill.id}").text)
    assert 'id="cascade-paused-sms"' in page
    assert "SMS paused until 00:00 UTC: Notify's daily limit" in page
    assert 'id="cascade-paused-email"' not in page
    with Session(engine) as reading:
        shown = progress.progress(reading, service.get(reading, drill.id), now=now).paused
    assert [(p.medium, p.message) for p in shown] == [
        ("sms", "SMS paused until 00:00 UTC: Notify's daily limit")
    ]
