"""Roles on the pages: a viewer (and anyone else without the right) gets a 403 page from every
state-changing page route and from the admin pages, with nothing changed; the navigation shows
each role only what it may use."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from service.api.pages import site
from tests.api.pages.helpers import csrf_from, make_user, signed_in_as
from tests.snapshots import assert_unchanged, snapshot

pytestmark = pytest.mark.sqlite_only

SELF_SERVICE = {"/login", "/logout", "/account/password"}
"""What every signed-in person may post: their own sign-in, sign-out and password."""
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
NAV_LINK = re.compile(
    r'class="govuk-service-navigation__link" href="[^"]+"[^>]*>\s*(?:<strong[^>]*>)?([^<]+?)\s*<'
)


def state_changing_routes() -> list[tuple[str, str]]:
    found = []
    for group in site.PAGE_GROUPS:
        for route in group.routes:
            assert isinstance(route, APIRoute)
            if route.path in SELF_SERVICE:
                continue
            path = re.sub(r"\{[^}]+\}", "hoyelaran", route.path)
            found += [(method, path) for method in sorted(route.methods & UNSAFE)]
    return found


def test_there_are_state_changing_routes_to_check() -> None:
    assert ("POST", "/users") in state_changing_routes()
    assert ("POST", "/users/hoyelaran/deactivate") in state_changing_routes()


def test_a_viewer_cannot_change_anything(client: TestClient, engine: Engine) -> None:
    make_user(engine, "admin", "admin")
    make_user(engine, "hoyelaran", "lead")
    signed_in_as(client, engine, "viewer")
    before = snapshot(engine)
    token = csrf_from(client.get("/").text)
    for method, path in state_changing_routes():
        reply = client.request(
            method,
            path,
            data={"csrf_token": token, "username": "x1", "display_name": "X", "role": "admin"},
            follow_redirects=False,
        )
        assert reply.status_code == 403, (method, path)
        assert "You cannot use this page" in reply.text
    assert_unchanged(engine, before)


@pytest.mark.parametrize("role", ["viewer", "lead", "coordinator"])
def test_only_admins_reach_the_users_pages(client: TestClient, engine: Engine, role: str) -> None:
    signed_in_as(client, engine, role)
    for path in ("/users", "/users/new"):
        reply = client.get(path)
        assert reply.status_code == 403
        assert f"with the role {role}" in reply.text and "manage users" in reply.text


@pytest.mark.parametrize("role", ["viewer", "lead", "coordinator"])
def test_only_admins_reach_the_api_keys_pages(
    client: TestClient, engine: Engine, role: str
) -> None:
    signed_in_as(client, engine, role)
    for path in ("/api-keys", "/api-keys/new"):
        reply = client.get(path)
        assert reply.status_code == 403
        assert "manage api keys" in reply.text


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("viewer", {"Dashboard", "Contacts", "Plan"}, {"Announce", "Users", "API keys"}),
        ("lead", {"Dashboard", "Announce"}, {"Users", "API keys"}),
        ("coordinator", {"Contacts", "Templates"}, {"Announce", "Users", "API keys"}),
        ("admin", {"Announce", "Users", "Settings", "API keys"}, set()),
    ],
)
def test_the_navigation_shows_what_the_role_may_use(
    client: TestClient, engine: Engine, role: str, shown: set[str], hidden: set[str]
) -> None:
    signed_in_as(client, engine, role)
    html = client.get("/").text
    links = set(re.findall(NAV_LINK, html))
    assert shown <= links and not (hidden & links), links
    assert 'aria-current="page"' in html  # Dashboard is the current section
    assert ">Sign out</button>" in html
