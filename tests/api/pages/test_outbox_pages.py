"""The outbox pages through the TestClient: messages of a real announce, newest first, filters,
pages, addresses masked for those who do not manage contacts, and a message's page with its
acknowledgement link clickable."""

from __future__ import annotations

import html as html_module
import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import utcnow
from service.notify.models import Message
from service.rules import Rules
from tests.api.pages.helpers import error_summary, signed_in_as
from tests.builders import london, make_contact, make_inspection, read_messages

pytestmark = pytest.mark.sqlite_only


def _announced(engine: Engine, rules: Rules) -> uuid.UUID:
    with Session(engine) as session:
        make_contact(
            session, "hoy", "Harriet Oyelaran", email="harriet@example.org", mobile="+447700900123"
        )
        make_contact(session, "twoj", "Tomasz Wójcik", reports_to="hoy")
        session.commit()
        inspection = make_inspection(session, rules, notified_at=london(2026, 11, 17, 10, 30))
        return inspection.id


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr class="govuk-table__row" id="message-([0-9a-f-]+)"', html)


def test_a_coordinator_sees_every_message_and_opens_one_with_its_link(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    inspection_id = _announced(engine, rules)
    messages = read_messages(engine, inspection_id)
    assert messages, "the announce wrote no messages"
    signed_in_as(client, engine, "coordinator")
    page = client.get("/outbox").text
    assert set(_row_ids(page)) == {str(m.id) for m in messages}
    assert "harriet@example.org" in page and "Harriet Oyelaran" in page
    listed = re.findall(r'href="(https?://[^"]+/ack/[^"]+)">Acknowledgement link', page)
    assert len(listed) == len(messages) and all(any(u in m.body for m in messages) for u in listed)

    email = next(m for m in messages if m.medium == "email" and m.contact_id == "hoy")
    shown = client.get(f"/outbox/{email.id}")
    assert shown.status_code == 200
    links = re.findall(r'<a class="govuk-link" href="([^"]+/ack/[^"]+)"', shown.text)
    assert links and links[0] in email.body
    assert html_module.escape(email.subject) in shown.text
    assert client.get(f"/outbox/{uuid.uuid4()}").status_code == 404
    assert client.get("/outbox/not-a-message").status_code == 404


def test_a_viewer_sees_masked_addresses_and_cannot_open_a_message(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    inspection_id = _announced(engine, rules)
    message = read_messages(engine, inspection_id)[0]
    signed_in_as(client, engine, "viewer")
    page = client.get("/outbox").text
    assert "harriet@example.org" not in page and "+447700900123" not in page
    assert "h***@example.org" in page and f'href="/outbox/{message.id}"' not in page
    assert "/ack/" not in page
    assert client.get(f"/outbox/{message.id}").status_code == 403


def test_filters_and_a_wrong_filter_named_at_its_field(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    inspection_id = _announced(engine, rules)
    messages = read_messages(engine, inspection_id)
    signed_in_as(client, engine, "coordinator")
    sms = client.get("/outbox", params={"medium": "sms"}).text
    assert set(_row_ids(sms)) == {str(m.id) for m in messages if m.medium == "sms"}
    mine = client.get("/outbox", params={"inspection": str(inspection_id)}).text
    assert len(_row_ids(mine)) == len(messages)
    other = client.get("/outbox", params={"inspection": str(uuid.uuid4())}).text
    assert _row_ids(other) == [] and "No messages" in other
    failed = client.get("/outbox", params={"status": "failed"}).text
    assert _row_ids(failed) == []
    wrong = client.get("/outbox", params={"status": "lost", "inspection": "x"})
    assert wrong.status_code == 422
    assert [href for href, _ in error_summary(wrong.text)] == ["#inspection", "#status"]


def test_newest_first_in_pages(client: TestClient, engine: Engine) -> None:
    start = utcnow() - timedelta(hours=2)
    with Session(engine) as session:
        for n in range(60):
            session.add(
                Message(
                    medium="email",
                    address=f"person{n}@example.org",
                    purpose="reminder",
                    dedupe_key=f"page-test-{n}",
                    subject=f"Reminder number {n}",
                    body="A deadline is near.",
                    next_attempt_at=start,
                    created_at=start + timedelta(minutes=n),
                )
            )
        session.commit()
    signed_in_as(client, engine, "admin")
    first = client.get("/outbox").text
    subjects = re.findall(r"Reminder number (\d+)<", first)
    assert subjects[:3] == ["59", "58", "57"] and len(subjects) == 50
    assert "60 messages" in first and 'href="/outbox?page=2"' in first
    second = client.get("/outbox", params={"page": 2}).text
    assert re.findall(r"Reminder number (\d+)<", second) == [str(n) for n in range(9, -1, -1)]
