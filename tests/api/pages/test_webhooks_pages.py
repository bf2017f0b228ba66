"""The Webhooks page: an admin adds a webhook and sees its secret once, pings it, replays a
delivery, rotates the secret; a bad address is shown at its field; anyone else is refused."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only

SECRET = re.compile(r'<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>')
TARGET = "https://127.0.0.1:9/hooks"


def stored(engine: Engine) -> list[WebhookSubscription]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookSubscription)).all())


def test_an_admin_adds_pings_replays_and_rotates(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin")
    shown = client.get("/webhooks")
    assert shown.status_code == 200 and "inspection.announced" in shown.text
    assert 'href="/webhooks"' in client.get("/").text  # in the navigation for admins
    made = post_form(
        client,
        "/webhooks",
        {"url": TARGET, "events": ["task.overdue", "cascade.completed"], "description": "Banner"},  # type: ignore[dict-item]
        page="/webhooks",
    )
    assert made.status_code == 201, made.text
    secret = SECRET.search(made.text)
    assert secret is not None
    [hook] = stored(engine)
    assert hook.secret == secret.group(1) and hook.events == ["task.overdue", "cascade.completed"]
    assert secret.group(1) not in client.get("/webhooks").text  # shown once

    page = f"/webhooks/{hook.id}"
    pinged = post_form(client, f"{page}/ping", page=page)
    assert pinged.status_code == 303
    detail = client.get(page).text
    assert "ping" in detail and "Waiting" in detail
    with Session(engine) as session:
        delivery = session.exec(select(WebhookDelivery)).one()
    replayed = post_form(client, f"{page}/deliveries/{delivery.id}/replay", page=page)
    assert replayed.status_code == 303

    rotated = post_form(client, f"{page}/rotate-secret", page=page)
    assert rotated.status_code == 200
    new = SECRET.search(rotated.text)
    assert new is not None and new.group(1) != secret.group(1)
    assert stored(engine)[0].secret == new.group(1)

    deleted = post_form(client, f"{page}/delete", page=page)
    assert deleted.status_code == 303 and stored(engine) == []
    assert client.get(page).status_code == 404


def test_a_bad_address_is_shown_at_its_field_and_makes_nothing(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin")
    refused = post_form(
        client, "/webhooks", {"url": "ftp://127.0.0.1/x", "events": ["ping"]}, page="/webhooks"
    )
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#url", "Must start with https://")]
    none_chosen = post_form(client, "/webhooks", {"url": TARGET}, page="/webhooks")
    assert error_summary(none_chosen.text) == [("#events", "Choose at least one event")]
    assert stored(engine) == []


@pytest.mark.parametrize("role", ["lead", "coordinator", "viewer"])
def test_only_admins_see_the_page(client: TestClient, engine: Engine, role: str) -> None:
    signed_in_as(client, engine, role)
    assert client.get("/webhooks").status_code == 403
    assert 'href="/webhooks"' not in client.get("/").text
