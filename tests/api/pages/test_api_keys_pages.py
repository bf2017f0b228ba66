"""The API keys page (admins): the list with prefix, scopes, last use and state; making a key,
shown once on the reply; refused forms with GOV.UK errors that write nothing; revoking, and the
last admin key kept with the reason said. Every change is on the audit log as the user."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service import api_keys
from service.api_keys import ApiKey
from service.audit_log import AuditEvent
from tests.api.pages.helpers import counts, error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only

SHOWN_KEY = re.compile(r'id="api-key">([^<]+)<')


def key_named(engine: Engine, name: str) -> ApiKey:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(ApiKey).where(ApiKey.name == name)).one()


def make(client: TestClient, name: str, *scopes: str) -> TestClient:
    reply = client.post(
        "/api-keys",
        data={"csrf_token": csrf(client), "name": name, "scopes": list(scopes)},
        follow_redirects=False,
    )
    assert reply.status_code == 201, reply.text
    return reply


def csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/api-keys/new").text)
    assert found is not None
    return found.group(1)


def test_making_a_key_shows_it_once_and_it_works_on_the_api(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    form = client.get("/api-keys/new").text
    assert 'name="scopes" type="checkbox" value="plan:read"' in form

    reply = make(client, "intranet", "plan:read", "contacts:read")

    raw = SHOWN_KEY.search(reply.text)
    assert raw is not None and raw.group(1).startswith(api_keys.PREFIX)
    headers = {"Authorization": f"Bearer {raw.group(1)}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    listed = client.get("/api-keys").text
    assert raw.group(1) not in listed
    assert raw.group(1)[:10] in listed and "contacts:read, plan:read" in listed
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.target == "intranet")).one()
    assert (event.action, event.actor) == ("api_key_created", "user:admin")


def test_the_list_shows_when_each_key_was_last_used(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")
    raw = SHOWN_KEY.search(make(client, "intranet", "inspections:read").text)
    assert raw is not None
    row = re.compile(r'id="key-\d+">.*?</tr>', re.S)
    [before] = row.findall(client.get("/api-keys").text)
    with time_machine.travel(datetime(2026, 7, 1, 13, 5, tzinfo=UTC), tick=False):
        client.get("/api/v1/frameworks", headers={"Authorization": f"Bearer {raw.group(1)}"})
    [after] = row.findall(client.get("/api-keys").text)

    assert "Never" in before
    assert "Never" not in after and "1 July 2026" in after and "2:05pm" in after


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "scopes": ["plan:read"]}, "name", "Must be 1 to 100 characters"),
        ({"name": "intranet"}, "scopes", "Select at least one scope"),
        ({"name": "intranet", "scopes": ["plan:delete"]}, "scopes", "Unknown or missing scope"),
        ({"name": "in\x01tranet", "scopes": ["plan:read"]}, "name", "control characters"),
    ],
)
def test_a_refused_form_says_why_and_writes_nothing(
    client: TestClient, engine: Engine, data: dict[str, object], field: str, message: str
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    before = counts(engine)

    reply = client.post(
        "/api-keys", data={"csrf_token": csrf(client), **data}, follow_redirects=False
    )

    assert reply.status_code == 422
    [(href, text)] = error_summary(reply.text)
    assert href == f"#{field}" and message in text
    assert counts(engine) == before
    assert html.escape(str(data["name"])) in reply.text or not data["name"]


def test_a_name_already_taken_is_refused_beside_the_name(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    make(client, "intranet", "plan:read")

    reply = client.post(
        "/api-keys",
        data={"csrf_token": csrf(client), "name": "intranet", "scopes": ["admin", "plan:read"]},
        follow_redirects=False,
    )

    assert reply.status_code == 409
    [(href, text)] = error_summary(reply.text)
    assert href == "#name" and "already exists" in text
    assert 'value="admin" checked' in reply.text  # the choices are kept
    assert key_named(engine, "intranet").scopes == ["plan:read"]


def test_revoking_a_key_stops_it_and_shows_it_revoked(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")
    raw = SHOWN_KEY.search(make(client, "intranet", "plan:read").text)
    assert raw is not None
    key = key_named(engine, "intranet")

    reply = post_form(client, f"/api-keys/{key.id}/revoke", page="/api-keys")

    assert reply.status_code == 303 and reply.headers["location"] == "/api-keys"
    page = client.get("/api-keys").text
    assert "The API key intranet is revoked" in page and "Revoked" in page
    assert f'id="revoke-{key.id}"' not in page
    headers = {"Authorization": f"Bearer {raw.group(1)}"}
    assert client.get("/api/v1/roles", headers=headers).status_code == 401
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.target == "intranet")
        ).all()
    assert ("api_key_revoked", "user:admin") in actions


def test_the_last_admin_key_is_kept_and_the_page_says_why(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    make(client, "console", "admin")
    key = key_named(engine, "console")

    reply = post_form(client, f"/api-keys/{key.id}/revoke", page="/api-keys")

    assert reply.status_code == 409
    [(href, text)] = error_summary(reply.text)
    assert href == f"#key-{key.id}" and "last active key with the admin scope" in text
    assert key_named(engine, "console").revoked_at is None


def test_an_unknown_key_is_a_not_found_page(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")

    for key_id in ("999", "nine", "9" * 40):
        reply = post_form(client, f"/api-keys/{key_id}/revoke", page="/api-keys")
        assert reply.status_code == 404 and "There is no such API key" in reply.text
