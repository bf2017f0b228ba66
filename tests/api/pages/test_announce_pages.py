"""Announcing from the pages: the form, a confirmation that counts who will be messaged by which
channel, and one press that starts it all. Nothing is written before the press; a double press
starts one inspection; bad input and a live inspection are GOV.UK errors on the fields."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.api.idempotency import IdempotentRequest
from service.inspections.models import Inspection
from service.notify.models import Message
from service.rules import Rules
from tests.api.pages.helpers import error_summary, post_form, signed_in_as
from tests.builders import london, make_contact, make_inspection

pytestmark = pytest.mark.sqlite_only

CALL = london(2026, 11, 17, 10, 30)  # a Tuesday
KEY = re.compile(r'name="announce_key" value="([^"]+)"')


def the_call(**changes: str) -> dict[str, str]:
    values = {
        "framework": "sif-2013",
        "call_date-day": "17",
        "call_date-month": "11",
        "call_date-year": "2026",
        "call_time": "10:30",
        "lead_inspector": "Harriet Oyelaran",
        "notes": "Set-up meeting at 9am",
    }
    values.update(changes)
    return values


def inspections(engine: Engine) -> list[Inspection]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Inspection)).all())


def written(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            len(session.exec(select(Inspection)).all()),
            len(session.exec(select(Message)).all()),
            len(session.exec(select(IdempotentRequest)).all()),
        )


def a_tree(engine: Engine) -> None:
    """Two in the steering group (one by email only), three below them (one with no address)."""
    with Session(engine) as session:
        make_contact(session, "dcs", "Harriet Oyelaran")
        make_contact(session, "hos", "Tomasz Wójcik", channels=("email",))
        make_contact(session, "sw1", "Amelia Brooks", reports_to="dcs", channels=("sms",))
        make_contact(session, "sw2", "Priya Natarajan", reports_to="hos")
        make_contact(session, "sw3", "Kwame Mensah", reports_to="hos", email=None, mobile=None)
        make_contact(session, "gone", "Left Already", reports_to="hos", active=False)
        session.commit()


def test_the_form_defaults_to_now_in_london(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "lead")
    with time_machine.travel(london(2026, 7, 14, 9, 5), tick=False):
        page = client.get("/announce")
    assert page.status_code == 200
    html = page.text
    assert '<h1 class="govuk-heading-l">Inspection announced</h1>' in html
    assert re.search(r'<option value="sif-2013" selected', html)
    assert 'name="call_date-day" type="text" value="14"' in html
    assert 'name="call_date-month" type="text" value="7"' in html
    assert 'value="09:05"' in html  # British Summer Time, not UTC's 08:05
    assert KEY.search(html) is not None
    assert ">\n  Continue\n" in html or ">Continue<" in html.replace("\n", "").replace(" ", "")


def test_continue_says_what_will_happen_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    a_tree(engine)
    signed_in_as(client, engine, "lead")
    before = written(engine)
    with time_machine.travel(CALL + timedelta(minutes=2), tick=False):
        reply = post_form(client, "/announce", the_call(), page="/announce")
    assert reply.status_code == 200, error_summary(reply.text)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", reply.text))
    assert "5 people are in the communication tree" in text  # not the inactive one
    assert "3 will be messaged by email and 3 by text message" in text  # as each chose
    assert "The steering group (2 people)" in text
    assert "1 person has no email address or mobile number" in text
    assert "Inspectors on site from Wednesday 18 November 2026" in text
    assert "the inspection ends on Wednesday 9 December 2026" in text
    assert re.search(r"\d+ tasks from the plan", text)
    assert "Announce the inspection" in reply.text
    assert 'name="call_time" value="10:30"' in reply.text
    assert written(engine) == before


def test_announcing_starts_once_however_often_it_is_pressed(
    client: TestClient, engine: Engine
) -> None:
    a_tree(engine)
    user = signed_in_as(client, engine, "lead")
    with time_machine.travel(CALL + timedelta(minutes=2), tick=False):
        confirm = post_form(client, "/announce", the_call(), page="/announce")
        key = KEY.search(confirm.text)
        assert key is not None
        values = {**the_call(), "announce_key": key.group(1)}
        first = post_form(client, "/announce/confirm", values, page="/announce")
        shown = client.get("/")  # the page after the redirect shows the flash message
        again = post_form(client, "/announce/confirm", values, page="/announce")
    assert first.status_code == 303
    [inspection] = inspections(engine)
    assert first.headers["location"] == f"/inspections/{inspection.id}"
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert inspection.notified_at == CALL and not inspection.drill
    assert inspection.lead_inspector == "Harriet Oyelaran"
    assert inspection.notes == "Set-up meeting at 9am"
    assert inspection.created_by == f"user:{user.username}"
    with Session(engine) as session:
        messages = session.exec(select(Message)).all()
    assert {m.contact_id for m in messages} == {"dcs", "hos"}  # the steering group, at once
    assert "Inspection announced: the communication tree" in shown.text


HUGE = "9" * 30


@pytest.mark.parametrize("path", ["/announce", "/rehearsal"])
@pytest.mark.parametrize(
    ("part", "value", "message"),
    [
        ("day", HUGE, "Date of the call must be a real date"),
        ("month", HUGE, "Date of the call must be a real date"),
        ("year", HUGE, "Date of the call must be a real date"),
        ("year", "99999", "Date of the call must be a real date"),
        ("year", "26", "Date of the call must include a year with 4 numbers, for example 2026"),
        ("day", "-1", "Date of the call must be a real date"),
        ("day", "\u0661\u0667", "Date of the call must be a real date"),
    ],
)
def test_date_numbers_of_any_size_are_a_field_error_never_a_500(
    client: TestClient, engine: Engine, path: str, part: str, value: str, message: str
) -> None:
    signed_in_as(client, engine, "lead")
    before = written(engine)
    bad = the_call(**{f"call_date-{part}": value})
    with time_machine.travel(CALL, tick=False):
        reply = post_form(client, path, bad, page=path)
        confirmed = post_form(client, f"{path}/confirm", bad, page=path)
    assert reply.status_code == 422
    assert error_summary(reply.text) == [("#call-date-day", message)]
    assert confirmed.status_code == 422
    assert written(engine) == before


def test_a_lead_inspector_name_starting_a_formula_is_an_error_at_the_field(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "lead")
    before = written(engine)
    with time_machine.travel(CALL, tick=False):
        reply = post_form(client, "/announce", the_call(lead_inspector="=1+2"), page="/announce")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        (
            "#lead-inspector",
            "Lead inspector must not start with = + - or @ (spreadsheets would run it as a "
            "formula)",
        )
    ]
    assert written(engine) == before


def test_bad_input_is_named_at_each_field_and_nothing_is_written(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "lead")
    before = written(engine)
    bad = the_call(framework="no-such-framework", **{"call_date-month": "13"}, call_time="25:99")
    with time_machine.travel(CALL, tick=False):
        reply = post_form(client, "/announce", bad, page="/announce")
        confirmed = post_form(client, "/announce/confirm", bad, page="/announce")
    assert reply.status_code == 422
    hrefs = [href for href, _ in error_summary(reply.text)]
    assert hrefs == ["#call-date-day", "#call-time"]
    assert "<title>Error: Inspection announced" in reply.text
    assert confirmed.status_code == 422
    long_name = the_call(lead_inspector="H" * 201)
    with time_machine.travel(CALL, tick=False):
        reply = post_form(client, "/announce", long_name, page="/announce")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#lead-inspector", "Lead inspector must be 200 characters or fewer")
    ]
    fixed = the_call(framework="no-such-framework")
    with time_machine.travel(CALL, tick=False):
        reply = post_form(client, "/announce", fixed, page="/announce")
    assert reply.status_code == 422
    [(href, text)] = error_summary(reply.text)
    assert href == "#framework" and "unknown framework" in text
    assert written(engine) == before


def test_a_call_in_the_future_is_refused_at_the_time(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "lead")
    with time_machine.travel(CALL - timedelta(hours=1), tick=False):
        reply = post_form(client, "/announce", the_call(), page="/announce")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#call-time", "Time of the call must be now or in the past")
    ]
    assert written(engine) == (0, 0, 0)


def test_times_are_read_the_way_people_write_them(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "lead")
    for typed, shown in [("2:15pm", "2:15pm"), ("9.05", "9:05am"), ("12am", "12:00am")]:
        with time_machine.travel(london(2026, 11, 18, 8), tick=False):
            reply = post_form(client, "/announce", the_call(call_time=typed), page="/announce")
        assert reply.status_code == 200, (typed, error_summary(reply.text))
        assert f"17 November 2026, {shown}" in reply.text


def test_a_live_inspection_is_explained_and_a_second_is_not_started(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        live = make_inspection(session, rules, notified_at=london(2026, 11, 10))
    signed_in_as(client, engine, "lead")
    with time_machine.travel(CALL, tick=False):
        checked = post_form(client, "/announce", the_call(), page="/announce")
        pressed = post_form(
            client,
            "/announce/confirm",
            {**the_call(), "announce_key": "k" * 20},
            page="/announce",
        )
    assert checked.status_code == 422
    [(href, text)] = error_summary(checked.text)
    assert href == "#framework" and "already live" in text and "10 November 2026" in text
    assert pressed.status_code == 409
    [(href, text)] = error_summary(pressed.text)
    assert href == "#framework" and str(live.id) in text
    assert [i.id for i in inspections(engine)] == [live.id]


def test_a_rehearsal_is_marked_as_an_exercise_and_runs_beside_a_live_inspection(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    a_tree(engine)
    with Session(engine, expire_on_commit=False) as session:
        live = make_inspection(session, rules, notified_at=london(2026, 11, 10))
    signed_in_as(client, engine, "lead")
    page = client.get("/rehearsal")
    assert "EXERCISE" in page.text and '<h1 class="govuk-heading-l">Run a rehearsal' in page.text
    with time_machine.travel(CALL, tick=False):
        confirm = post_form(client, "/rehearsal", the_call(), page="/rehearsal")
        assert confirm.status_code == 200 and "Start the rehearsal" in confirm.text
        assert "EXERCISE" in confirm.text
        key = KEY.search(confirm.text)
        assert key is not None
        started = post_form(
            client,
            "/rehearsal/confirm",
            {**the_call(), "announce_key": key.group(1)},
            page="/rehearsal",
        )
    assert started.status_code == 303
    drill = next(i for i in inspections(engine) if i.id != live.id)
    assert drill.drill and started.headers["location"] == f"/inspections/{drill.id}"


def test_only_leads_and_admins_may_announce(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "coordinator")
    for path in ("/announce", "/rehearsal"):
        reply = client.get(path)
        assert reply.status_code == 403 and "You cannot use this page" in reply.text
    reply = post_form(client, "/announce/confirm", the_call())
    assert reply.status_code == 403
    assert written(engine) == (0, 0, 0)
