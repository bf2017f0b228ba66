"""Driving the pages as a browser would, through the TestClient: read the CSRF token from the
form, post it back with the cookie the page set."""

from __future__ import annotations

import html as html_module
import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.db import utcnow
from service.users import service as users
from service.users.models import User, UserSession

PASSWORD = "violet teapot harbour"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def make_user(
    engine: Engine,
    username: str,
    role: str = "viewer",
    *,
    name: str = "Harriet Oyelaran",
    password: str | None = PASSWORD,
) -> tuple[User, str]:
    """A user and the password to sign in with (a one-time one when `password` is None)."""
    with Session(engine, expire_on_commit=False) as session:
        user, one_time = users.create(
            session,
            username=username,
            display_name=name,
            role=role,
            actor="tests",
            now=utcnow(),
            password=password,
        )
        session.commit()
    return user, password or one_time or ""


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "username": username,
            "password": password,
            "next": next_path,
        },
        follow_redirects=False,
    )


def signed_in_as(
    client: TestClient, engine: Engine, role: str, username: str | None = None
) -> User:
    user, password = make_user(engine, username or f"{role}-user", role)
    reply = sign_in(client, user.username, password)
    assert reply.status_code == 303, reply.text
    return user


def post_form(
    client: TestClient, path: str, data: dict[str, str] | None = None, *, page: str = "/"
) -> httpx.Response:
    """Post as the page's own form would: with the token from a page of the service."""
    token = csrf_from(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def error_summary(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link in the GOV.UK error summary."""
    start = html.find('class="govuk-error-summary"')
    if start < 0:
        return []
    end = html.find("</ul>", start)
    return [
        (href, html_module.unescape(re.sub(r"\s+", " ", text).strip()))
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html[start:end], re.S)
    ]


def counts(engine: Engine) -> tuple[int, int, int]:
    """Users, sessions and audit events: what a refused form must leave unchanged."""
    with Session(engine) as session:
        return (
            len(session.exec(select(User)).all()),
            len(session.exec(select(UserSession)).all()),
            len(session.exec(select(AuditEvent)).all()),
        )
