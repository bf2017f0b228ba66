"""Signing in, out and choosing a password, through the pages: GOV.UK error summaries linking to
the field, nothing written on a refused form, the throttle's lock told plainly, sessions that
end when idle or signed out, and no way to be redirected off the site afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.api.pages.login import WRONG
from service.users.models import User, UserSession
from tests.api.pages.helpers import (
    PASSWORD,
    counts,
    csrf_from,
    error_summary,
    make_user,
    post_form,
    sign_in,
)

pytestmark = pytest.mark.sqlite_only

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


def test_signed_out_pages_send_you_to_sign_in_and_back(client: TestClient, engine: Engine) -> None:
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/login")
    users = client.get("/users?sort=name", follow_redirects=False)
    assert users.headers["location"] == "/login?next=" + quote("/users?sort=name", safe="")
    make_user(engine, "admin", "admin")
    reply = sign_in(client, "admin", next_path="/users?sort=name")
    assert (reply.status_code, reply.headers["location"]) == (303, "/users?sort=name")


def test_the_sign_in_page_is_a_gov_uk_form_with_a_csrf_token(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "<title>Sign in – inspection-week</title>" in page.text
    assert 'autocomplete="current-password"' in page.text and 'id="password"' in page.text
    assert csrf_from(page.text) and "iw_csrf" in page.cookies


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hoyelaran")
    before = counts(engine)
    for username, password in (("hoyelaran", "not the password"), ("nobody", PASSWORD)):
        reply = sign_in(client, username, password)
        assert reply.status_code == 401
        assert error_summary(reply.text) == [("#username", WRONG)]
        assert "<title>Error: Sign in" in reply.text
        assert "iw_session" not in reply.cookies
    assert counts(engine)[:2] == before[:2]  # no user, no session made


def test_empty_fields_are_named_and_nothing_is_counted(client: TestClient, engine: Engine) -> None:
    page = client.get("/login")
    reply = client.post("/login", data={"csrf_token": csrf_from(page.text)})
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#username", "Enter your username"),
        ("#password", "Enter your password"),
    ]
    assert 'class="govuk-error-message"' in reply.text
    assert counts(engine) == (0, 0, 0)


def test_signing_in_goes_where_you_were_going_but_never_off_the_site(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hoyelaran", "lead", name="Harriet Oyelaran")
    for target in ("//evil.example.org/x", "https://evil.example.org", "/\\evil.example.org"):
        reply = sign_in(client, "HOyelaran", next_path=target)
        assert (reply.status_code, reply.headers["location"]) == (303, "/")
    home = client.get("/")
    assert "Signed in as Harriet Oyelaran (lead)" in home.text
    # Already signed in: the sign-in page moves on.
    assert client.get("/login?next=/users", follow_redirects=False).headers["location"] == "/users"


def test_five_failures_lock_the_username_and_the_page_says_until_when(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hoyelaran")
    with time_machine.travel(T0, tick=False) as clock:
        replies = [sign_in(client, "hoyelaran", "guess") for _ in range(5)]
        assert [r.status_code for r in replies] == [401, 401, 401, 401, 429]
        # 09:00 UTC is 9:00am in London in November; locked for 15 minutes.
        assert "It is locked until 9:15am" in replies[-1].text
        assert error_summary(replies[-1].text)[0][0] == "#username"
        clock.shift(timedelta(minutes=14))
        still = sign_in(client, "hoyelaran", PASSWORD)
        assert still.status_code == 429 and "iw_session" not in still.cookies
        clock.shift(timedelta(minutes=1))
        assert sign_in(client, "hoyelaran", PASSWORD).status_code == 303


def test_the_first_sign_in_asks_for_a_new_password_before_anything_else(
    client: TestClient, engine: Engine
) -> None:
    user, one_time = make_user(engine, "hoyelaran", "lead", password=None)
    reply = sign_in(client, "hoyelaran", one_time, next_path="/users")
    assert reply.headers["location"] == "/account/password?next=%2Fusers"
    for elsewhere in ("/", "/users"):
        moved = client.get(elsewhere, follow_redirects=False)
        assert moved.status_code == 303
        assert moved.headers["location"].startswith("/account/password")
    login = client.get("/login", follow_redirects=False)  # still signed in, password first
    assert login.headers["location"] == "/account/password"
    page = client.get("/account/password?next=/")
    assert "Create a new password" in page.text and "One-time password" in page.text

    before = counts(engine)
    bad = post_form(
        client,
        "/account/password",
        {"current_password": "wrong", "new_password": "short", "confirm_password": "short"},
        page="/account/password",
    )
    assert bad.status_code == 422
    assert [href for href, _ in error_summary(bad.text)] == ["#current-password", "#new-password"]
    assert counts(engine) == before

    good = post_form(
        client,
        "/account/password",
        {
            "current_password": one_time,
            "new_password": "amber lantern orchard",
            "confirm_password": "amber lantern orchard",
            "next": "/",
        },
        page="/account/password",
    )
    assert (good.status_code, good.headers["location"]) == (303, "/")
    home = client.get("/")
    assert home.status_code == 200 and "Your password has been changed" in home.text
    assert "Your password has been changed" not in client.get("/").text  # shown once
    with Session(engine) as session:
        assert not session.get(User, user.id).must_change_password  # type: ignore[union-attr]


def test_signing_out_deletes_the_session_so_the_cookie_is_worthless(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hoyelaran")
    sign_in(client, "hoyelaran")
    cookie = client.cookies.get("iw_session")
    assert cookie
    reply = post_form(client, "/logout")
    assert (reply.status_code, reply.headers["location"]) == (303, "/login")
    assert "You have signed out" in client.get("/login").text
    with Session(engine) as session:
        assert session.exec(select(UserSession)).all() == []
    client.cookies.set("iw_session", cookie)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.parametrize(("idle", "signed_in"), [(119, True), (121, False)])
def test_a_session_ends_after_two_idle_hours(
    client: TestClient, engine: Engine, idle: int, signed_in: bool
) -> None:
    make_user(engine, "hoyelaran")
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client, "hoyelaran")
        clock.shift(timedelta(minutes=idle))
        reply = client.get("/", follow_redirects=False)
    assert (reply.status_code == 200) is signed_in


def test_a_busy_session_ends_after_twelve_hours(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hoyelaran")
    with time_machine.travel(T0, tick=False) as clock:
        sign_in(client, "hoyelaran")
        for _ in range(11):
            clock.shift(timedelta(hours=1))
            assert client.get("/", follow_redirects=False).status_code == 200
        clock.shift(timedelta(hours=1))
        assert client.get("/", follow_redirects=False).status_code == 303
