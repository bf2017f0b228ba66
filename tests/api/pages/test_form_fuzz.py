"""Every page form, fuzzed: the page routes are outside the OpenAPI schema, so Schemathesis never
sees them. Hypothesis posts each state-changing page route, signed in as an admin with a valid
CSRF token, any subset of its fields (read from the route's own Form parameters) holding any
text, huge numbers or plausible words, with path ids both real and made up. Never a 500."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.api.pages import site
from service.plan.models import Task
from tests.api.pages.helpers import csrf_from, make_user, signed_in_as

pytestmark = pytest.mark.sqlite_only

READ_BY_HAND = {
    "/contacts/import": ["replace"],
    "/contacts/import/confirm": ["replace", "upload"],
    "/templates/{purpose}/{medium}": ["subject", "body", "action"],
    "/templates/{purpose}/{medium}/preview": ["subject", "body"],
}
"""Fields of the routes that read `await request.form()` themselves (no Form parameters)."""

DATE_PART = re.compile(r"-(day|month|year)$")


def form_fields(dependant: Dependant) -> list[str]:
    """The form field names a route and its dependencies declare (aliases, as posted)."""
    names = [param.alias for param in dependant.body_params]
    for sub in dependant.dependencies:
        names += form_fields(sub)
    return sorted(set(names))


def page_posts() -> list[tuple[str, list[str]]]:
    found = []
    for group in (*site.PAGE_GROUPS, *site.PUBLIC_GROUPS):
        for route in group.routes:
            assert isinstance(route, APIRoute)
            if "POST" in route.methods:
                fields = form_fields(route.dependant) + READ_BY_HAND.get(route.path, [])
                found.append((route.path, fields))
    return found


VALUES = st.one_of(
    st.text(max_size=40),
    st.text(max_size=2000),
    st.integers().map(str),
    st.integers(min_value=10**17, max_value=10**40).map(str),
    st.sampled_from(
        ["", " ", "0", "-1", "31", "12", "2026", "10:30", "25:99", "yes", "no", "on", "email",
         "sms", "admin", "viewer", "lead", "done", "blocked", "open", "sif-2013", "preview",
         "save", "hoyelaran", "gone", "{{ 7*7 }}", "((name))", "=1+2", "\x00", "é" * 300]
    ),
)  # fmt: skip


def path_values(inspection_id: uuid.UUID, task_id: int) -> dict[str, st.SearchStrategy[str]]:
    made_up = st.text(min_size=1, max_size=30).map(lambda text: quote(text, safe=""))
    return {
        "inspection_id": st.just(str(inspection_id)) | st.uuids().map(str) | made_up,
        "task_id": st.just(str(task_id)) | st.integers().map(str) | made_up,
        "case_id": st.integers(min_value=1, max_value=3).map(str) | made_up,
        "role": st.sampled_from(["logistics_lead", "catering_lead"]) | made_up,
        "day": st.dates().map(lambda d: d.isoformat()) | made_up,
        "purpose": st.sampled_from(["announcement", "drill", "task_digest"]) | made_up,
        "medium": st.sampled_from(["email", "sms"]) | made_up,
        "username": st.just("hoyelaran") | made_up,
        "token": made_up,
        "feed_id": st.integers().map(str) | made_up,
        "key_id": st.integers().map(str) | made_up,
        "plan_id": st.integers(min_value=1, max_value=3).map(str)
        | st.integers().map(str)
        | made_up,
        "recommendation_id": st.integers(min_value=1, max_value=3).map(str) | made_up,
        "action_id": st.integers(min_value=1, max_value=3).map(str) | made_up,
        "webhook_id": st.integers(min_value=1, max_value=3).map(str)
        | st.integers().map(str)
        | made_up,
        "delivery_id": st.integers(min_value=1, max_value=3).map(str) | made_up,
    }


@pytest.fixture
def admin_client(client: TestClient, engine: Engine) -> Iterator[TestClient]:
    signed_in_as(client, engine, "admin")
    make_user(engine, "hoyelaran", "lead")
    yield client


@pytest.mark.parametrize(
    ("path", "fields"), [pytest.param(*item, id=item[0]) for item in page_posts()]
)
def test_any_values_in_a_page_form_never_get_a_server_error(
    admin_client: TestClient, engine: Engine, inspection_id: uuid.UUID, path: str, fields: list[str]
) -> None:
    with Session(engine) as session:
        task_id = session.exec(select(Task.id).where(Task.inspection_id == inspection_id)).first()
    assert task_id is not None
    token = csrf_from(admin_client.get("/").text)
    names = re.findall(r"\{([^}]+)\}", path)
    parameters = path_values(inspection_id, task_id)
    forms = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUES))
    uploads = st.none()
    if path == "/contacts/import":
        uploads = st.tuples(
            st.sampled_from(["people.csv", "people.xlsx", "people.txt"]), st.binary()
        )

    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        form=forms,
        ids=st.fixed_dictionaries({name: parameters[name] for name in names}),
        upload=uploads,
    )
    def answered(form: dict[str, str], ids: dict[str, str], upload: Any) -> None:
        url = path.format(**ids)
        files = {"file": upload} if upload is not None else None
        reply = admin_client.post(
            url, data={"csrf_token": token, **form}, files=files, follow_redirects=False
        )
        assert reply.status_code < 500, (url, form, reply.status_code)

    answered()


DATE_FORMS = [
    pytest.param(path, fields, id=path)
    for path, fields in page_posts()
    if any(DATE_PART.search(name) for name in fields)
]


@pytest.mark.parametrize(("path", "fields"), DATE_FORMS)
@pytest.mark.parametrize("huge", ["2147483648", "9" * 40])
def test_huge_numbers_in_date_fields_get_an_error_on_the_page(
    admin_client: TestClient, path: str, fields: list[str], huge: str
) -> None:
    token = csrf_from(admin_client.get("/").text)
    for part in ("day", "month", "year"):
        form = {name: "1" for name in fields if DATE_PART.search(name)}
        form.update({name: huge for name in fields if name.endswith(f"-{part}")})
        reply = admin_client.post(
            path, data={"csrf_token": token, "framework": "sif-2013", **form},
            follow_redirects=False,
        )  # fmt: skip
        assert reply.status_code < 500, (path, form)
