"""The Calendar page: a lead makes a feed and sees its address once, the feed answers, the list
never shows the address again, revoking stops it; a coordinator or a viewer is refused; a bad
choice is shown at its field with nothing made."""

from __future__ import annotations

import re
import uuid

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.calendar_feeds.models import CalendarFeed
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only

FEED_URL = re.compile(r'<code id="feed-url">(http://[^<]+/calendar/([A-Za-z0-9_-]+)\.ics)</code>')


def feeds_in(engine: Engine) -> list[CalendarFeed]:
    with Session(engine) as session:
        return list(session.exec(select(CalendarFeed)).all())


def test_a_lead_makes_a_persons_feed_sees_its_address_once_and_revokes_it(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "lead")
    page = f"/inspections/{inspection_id}/calendar"
    shown = client.get(page)
    assert shown.status_code == 200
    assert "Subscribe from web" in shown.text and "From URL" in shown.text
    assert f'href="{page}"' in client.get(f"/inspections/{inspection_id}").text

    made = post_form(client, f"{page}/feeds", {"contact_id": "twojcik"}, page=page)

    assert made.status_code == 201, made.text
    found = FEED_URL.search(made.text)
    assert found is not None, made.text
    url, token = found.groups()
    assert f'href="webcal://{url.split("://", 1)[1]}"' in made.text
    feed = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert feed.status_code == 200
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALNAME"]).startswith("Tomasz Wójcik: tasks")

    again = client.get(page)
    assert token not in again.text and "Tomasz Wójcik&#39;s tasks" in again.text
    [stored] = feeds_in(engine)
    assert token not in (stored.token_hash, stored.token_lookup)

    revoked = post_form(client, f"{page}/feeds/{stored.id}/revoke", page=page)
    assert revoked.status_code == 303
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 404
    assert "Revoked" in client.get(page).text


@pytest.mark.parametrize(
    ("contact_id", "message"),
    [("gone", "Amelia Brooks is inactive"), ("nobody", "No contact 'nobody'"), ("x" * 65, "")],
)
def test_a_bad_choice_is_shown_at_its_field_and_makes_nothing(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID, contact_id: str, message: str
) -> None:
    signed_in_as(client, engine, "admin")
    page = f"/inspections/{inspection_id}/calendar"

    refused = post_form(client, f"{page}/feeds", {"contact_id": contact_id}, page=page)

    assert refused.status_code == 422
    [(href, text)] = error_summary(refused.text)
    assert href == "#contact-id" and message in text
    assert feeds_in(engine) == []


@pytest.mark.parametrize("role", ["coordinator", "viewer"])
def test_roles_without_the_right_are_refused_and_not_shown_the_link(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID, role: str
) -> None:
    signed_in_as(client, engine, role)
    page = f"/inspections/{inspection_id}/calendar"

    assert client.get(page).status_code == 403
    assert post_form(client, f"{page}/feeds", {"contact_id": ""}).status_code == 403
    assert f'href="{page}"' not in client.get(f"/inspections/{inspection_id}").text
    assert feeds_in(engine) == []


def test_unknown_inspections_and_feeds_are_not_found(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "admin")
    assert client.get(f"/inspections/{uuid.uuid4()}/calendar").status_code == 404
    assert client.get("/inspections/not-an-id/calendar").status_code == 404
    page = f"/inspections/{inspection_id}/calendar"
    assert post_form(client, f"{page}/feeds/99/revoke", page=page).status_code == 404
    assert post_form(client, f"{page}/feeds/{'9' * 40}/revoke", page=page).status_code == 404
