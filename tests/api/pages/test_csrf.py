"""CSRF: every state-changing page route refuses a post without the form's token with a clear
403 page and changes nothing; the JSON API, Notify's callbacks and the public acknowledgement
links, which no cookie authenticates, take no token."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from service.api.pages import csrf, site
from tests.api.pages.helpers import counts, csrf_from, make_user, signed_in_as
from tests.snapshots import assert_unchanged, snapshot

pytestmark = pytest.mark.sqlite_only

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def checked(router: APIRouter) -> bool:
    return any(dep.dependency is csrf.check for dep in router.dependencies)


def page_posts() -> list[tuple[str, str]]:
    """(method, path with sample values) of every state-changing page route."""
    found = []
    for group in site.PAGE_GROUPS:
        for route in group.routes:
            assert isinstance(route, APIRoute)
            path = re.sub(r"\{[^}]+\}", uuid.uuid4().hex[:12], route.path)
            found += [(method, path) for method in sorted(route.methods & UNSAFE)]
    return found


def test_every_page_group_is_csrf_checked_and_has_routes_to_protect() -> None:
    assert all(checked(group) for group in site.PAGE_GROUPS)
    paths = {path for _, path in page_posts()}
    assert {"/login", "/logout", "/account/password", "/users"} <= paths


@pytest.mark.parametrize("token", ["missing", "empty", "wrong"])
def test_every_page_post_without_the_right_token_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, token: str
) -> None:
    signed_in_as(client, engine, "admin")
    make_user(engine, "hoyelaran", "lead")
    before = snapshot(engine)
    for method, path in page_posts():
        data = {"username": "hoyelaran", "display_name": "H", "role": "admin"}
        if token != "missing":
            data["csrf_token"] = "" if token == "empty" else "a" * 40
        reply = client.request(method, path, data=data, follow_redirects=False)
        assert reply.status_code == 403, (method, path, reply.text[:200])
        assert "Your form was not sent" in reply.text and "Nothing has been changed" in reply.text
    assert_unchanged(engine, before)


def test_a_token_signed_with_another_key_is_refused(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hoyelaran")
    forged = URLSafeTimedSerializer("not-our-key", salt=csrf.LIBRARY_SALT).dumps("a" * 40)
    client.cookies.set(csrf.COOKIE, forged)
    reply = client.post(
        "/login",
        data={"csrf_token": "a" * 40, "username": "hoyelaran", "password": "x"},
        follow_redirects=False,
    )
    assert reply.status_code == 403
    assert counts(engine)[1] == 0


def test_a_token_is_reused_across_pages_so_two_tabs_both_work(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hoyelaran")
    first_tab = csrf_from(client.get("/login").text)
    second_tab = csrf_from(client.get("/login").text)
    assert first_tab == second_tab
    reply = client.post(
        "/login",
        data={
            "csrf_token": first_tab,
            "username": "hoyelaran",
            "password": "violet teapot harbour",
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303


def test_the_refusal_page_shows_who_is_signed_in(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "lead")
    reply = client.post("/logout", data={}, follow_redirects=False)
    assert reply.status_code == 403 and "Signed in as" in reply.text
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_the_api_callbacks_and_acknowledgement_links_take_no_token() -> None:
    from service.api.routes import contacts, inspections, notify_callbacks

    for router in (
        *site.PUBLIC_GROUPS,
        inspections.router,
        contacts.router,
        notify_callbacks.router,
    ):
        assert not checked(router)
        for route in router.routes:
            assert isinstance(route, APIRoute)
            assert all(dep.dependency is not csrf.check for dep in route.dependencies)
