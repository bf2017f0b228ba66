"""The users pages (admins): add a user and hand over a one-time password, deactivate (signed out
at once), reactivate, reset a password. Refused forms show GOV.UK errors and write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.users import service as users
from service.users.models import User
from tests.api.pages.helpers import (
    PASSWORD,
    counts,
    error_summary,
    make_user,
    post_form,
    sign_in,
    signed_in_as,
)

pytestmark = pytest.mark.sqlite_only

ONE_TIME = re.compile(r'id="one-time-password">([^<]+)<')


@pytest.fixture
def other(client: TestClient) -> Iterator[TestClient]:
    """A second browser, for the person the admin is managing (the app is already started)."""
    second = TestClient(client.app)
    yield second
    second.close()


def stored(engine: Engine, username: str) -> User:
    with Session(engine, expire_on_commit=False) as session:
        return users.get(session, username)


def test_the_users_page_lists_everyone(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")
    make_user(engine, "twojcik", "viewer", name="Tomasz Wójcik", password=None)
    page = client.get("/users")
    assert page.status_code == 200
    assert "Tomasz Wójcik" in page.text and "One-time password" in page.text
    assert 'id="deactivate-twojcik"' in page.text
    assert 'id="deactivate-admin"' not in page.text  # not oneself


def test_adding_a_user_shows_a_one_time_password_once(
    client: TestClient, other: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    assert 'name="role"' in client.get("/users/new").text
    reply = post_form(
        client,
        "/users",
        {"username": "HOyelaran", "display_name": "Harriet Oyelaran", "role": "lead"},
        page="/users/new",
    )
    assert reply.status_code == 200
    found = ONE_TIME.search(reply.text)
    assert found is not None and "User added" in reply.text
    assert reply.headers["cache-control"] == "no-store"
    user = stored(engine, "hoyelaran")
    assert (user.role, user.must_change_password) == ("lead", True)
    first = sign_in(other, "hoyelaran", found.group(1))
    assert first.headers["location"] == "/account/password"


def test_a_refused_user_form_names_every_field_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    before = counts(engine)
    reply = post_form(client, "/users", {"username": "", "display_name": ""}, page="/users/new")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#username", "Enter a username"),
        ("#display-name", "Enter the person's full name"),
        ("#role", "Select the user's role"),
    ]
    assert 'id="role"' in reply.text  # the summary's link lands on the first radio
    taken = post_form(
        client,
        "/users",
        {"username": "ADMIN", "display_name": "Someone Else", "role": "viewer"},
        page="/users/new",
    )
    assert taken.status_code == 422
    assert error_summary(taken.text) == [("#username", "A user called admin already exists")]
    assert 'value="Someone Else"' in taken.text  # what was typed is kept
    assert counts(engine) == before


def test_deactivating_signs_the_person_out_at_once(
    client: TestClient, other: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    make_user(engine, "hoyelaran", "lead")
    sign_in(other, "hoyelaran")
    assert other.get("/", follow_redirects=False).status_code == 200

    reply = post_form(client, "/users/hoyelaran/deactivate", page="/users")
    assert (reply.status_code, reply.headers["location"]) == (303, "/users")
    assert "has been deactivated and signed out" in client.get("/users").text
    assert other.get("/", follow_redirects=False).headers["location"] == "/login"
    assert sign_in(other, "hoyelaran").status_code == 401

    post_form(client, "/users/hoyelaran/reactivate", page="/users")
    assert stored(engine, "hoyelaran").active
    assert sign_in(other, "hoyelaran").status_code == 303


def test_an_admin_cannot_deactivate_themselves(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")
    before = counts(engine)
    reply = post_form(client, "/users/admin/deactivate", page="/users")
    assert reply.status_code == 409
    assert error_summary(reply.text) == [("#user-admin", "You cannot deactivate your own account")]
    assert stored(engine, "admin").active and counts(engine) == before


def test_resetting_a_password_ends_their_sessions_and_hands_over_a_new_one(
    client: TestClient, other: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin", "admin")
    make_user(engine, "hoyelaran", "lead")
    sign_in(other, "hoyelaran")
    reply = post_form(client, "/users/hoyelaran/reset-password", page="/users")
    found = ONE_TIME.search(reply.text)
    assert reply.status_code == 200 and found is not None and "Password reset" in reply.text
    assert other.get("/", follow_redirects=False).headers["location"] == "/login"
    assert sign_in(other, "hoyelaran", PASSWORD).status_code == 401
    again = sign_in(other, "hoyelaran", found.group(1))
    assert again.headers["location"] == "/account/password"


def test_an_unknown_user_gets_a_not_found_page(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "admin", "admin")
    before = counts(engine)
    for action in ("deactivate", "reactivate", "reset-password"):
        reply = post_form(client, f"/users/nobody/{action}", page="/users")
        assert reply.status_code == 404 and "There is no user called nobody" in reply.text
    assert counts(engine) == before
