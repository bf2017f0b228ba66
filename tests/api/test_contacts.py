"""The contacts API through HTTP on both databases: scopes, the public shape, the tree rules as
status codes, and the import's own 422 contract `{"errors": [{line, column, message}]}`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from service.audit_log import AuditEvent
from service.contacts.models import Contact
from tests.builders import make_contact
from tests.contacts.sheets import csv_bytes, person, tree_rows, xlsx_bytes

URL = "/api/v1/contacts"
PUBLIC_KEYS = {
    "id", "name", "role", "email", "mobile", "reports_to", "deputy", "groups", "channels",
    "ack_window_minutes", "active", "created_at", "updated_at",
}  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def editor(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("contacts:write")


@pytest.fixture
def viewer(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("contacts:read")


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    filename: str = "contacts.csv",
    content_type: str = "text/csv",
    **params: Any,
) -> Any:
    return client.post(
        f"{URL}/import",
        files={"file": (filename, data, content_type)},
        params=params,
        headers=headers,
    )


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


def test_create_returns_the_public_shape_with_the_mobile_in_e164(
    client: TestClient, editor: dict[str, str]
) -> None:
    response = client.post(
        URL,
        json={"id": "S002", "name": "Tomasz Wójcik", "email": "tomasz@example.org",
              "mobile": "07700 900002", "groups": ["Steering group"]},
        headers=editor,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{URL}/S002"
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body["mobile"] == "+447700900002"
    assert body["channels"] == ["email", "sms"]
    assert body["active"] is True
    assert client.get(f"{URL}/S002", headers=editor).json() == body


@pytest.mark.sqlite_only
def test_no_key_is_401_and_the_wrong_scope_is_403(
    client: TestClient, auth: Callable[..., dict[str, str]], viewer: dict[str, str]
) -> None:
    assert client.get(URL).status_code == 401
    assert (
        client.get(URL, headers={"Authorization": "Bearer iw_nobody-was-given-this"}).status_code
        == 401
    )
    inspections_only = auth("inspections:write")
    assert client.get(URL, headers=inspections_only).status_code == 403
    assert client.get(f"{URL}/export", headers=inspections_only).status_code == 403
    assert client.get(URL, headers=viewer).status_code == 200
    writes = [
        (
            "POST",
            URL,
            {"json": {"id": "S001", "name": "Harriet Oyelaran", "email": "h@example.org"}},
        ),
        ("PATCH", f"{URL}/S001", {"json": {"role": "Director"}}),
        ("POST", f"{URL}/S001/deactivate", {}),
        (
            "POST",
            f"{URL}/import",
            {"files": {"file": ("c.csv", csv_bytes(tree_rows()), "text/csv")}},
        ),
    ]
    for method, url, extra in writes:
        assert client.request(method, url, headers=viewer, **extra).status_code == 403, url


@pytest.mark.sqlite_only
def test_a_bad_field_is_422_naming_it(client: TestClient, editor: dict[str, str]) -> None:
    response = client.post(
        URL, json={"id": "S001", "name": "Harriet Oyelaran", "mobile": "020 7946 0000"},
        headers=editor,
    )  # fmt: skip
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "mobile"]
    assert "not a UK mobile" in problem["msg"]
    assert "7946" not in response.text.replace(problem["msg"], "")


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "=1+2@example.org"), ("email", "@SUM(A1)@example.org"), ("name", "+Harriet")],
)
def test_a_value_starting_a_formula_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, editor: dict[str, str], engine: Engine, field: str, value: str
) -> None:
    body = {"id": "S001", "name": "Harriet Oyelaran", "email": "harriet@example.org"}
    response = client.post(URL, json={**body, field: value}, headers=editor)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert "must not start with = + - or @" in problem["msg"]
    assert count(engine) == 0


def test_an_import_with_an_email_starting_a_formula_is_422_on_its_line(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    rows = [*tree_rows(), person("S099", "Priya Raman", email="=1+2@example.org")]
    response = upload(client, editor, csv_bytes(rows))
    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert (problem["line"], problem["column"]) == (len(rows) + 1, "email")
    assert "must not start with = + - or @" in problem["message"]
    assert count(engine) == 0


def test_a_stored_email_starting_a_formula_is_exported_as_text(
    client: TestClient, viewer: dict[str, str], engine: Engine
) -> None:
    """A row written before the input rule (or straight into the database) still cannot run
    in the spreadsheet of whoever opens the export."""
    with Session(engine) as session:
        make_contact(session, "S001", "Harriet Oyelaran", email="=1+2@example.org")
        session.commit()
    exported = client.get(f"{URL}/export", params={"format": "csv"}, headers=viewer)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    assert [(r["id"], r["email"]) for r in rows] == [("S001", "'=1+2@example.org")]


def test_tree_rules_become_status_codes(client: TestClient, editor: dict[str, str]) -> None:
    create(client, editor, id="S001", name="Harriet Oyelaran", email="harriet@example.org")
    create(
        client, editor, id="S010", name="Priya Raman", email="priya@example.org", reports_to="S001"
    )
    assert client.post(URL, json={"id": "S001", "name": "Harriet again", "email": "h@example.org"},
                       headers=editor).status_code == 409  # fmt: skip
    cycle = client.patch(f"{URL}/S001", json={"reports_to": "S010"}, headers=editor)
    assert cycle.status_code == 422
    assert cycle.json()["detail"][0]["loc"] == ["body", "reports_to"]
    assert client.get(f"{URL}/S999", headers=editor).status_code == 404
    assert client.patch(f"{URL}/S999", json={"role": "x"}, headers=editor).status_code == 404


def test_patch_changes_only_what_is_sent(client: TestClient, editor: dict[str, str]) -> None:
    create(client, editor, id="S011", name="Eilidh Baptiste", email="eilidh@example.org",
           role="Service manager", groups=["People"])  # fmt: skip
    response = client.patch(
        f"{URL}/S011", json={"mobile": "07700 900011", "role": None}, headers=editor
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["role"], body["mobile"], body["groups"]) == (None, "+447700900011", ["People"])
    assert body["channels"] == ["email", "sms"]


def test_deactivating_someone_still_in_the_tree_is_409_naming_who(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    create(client, editor, id="S001", name="Harriet Oyelaran", email="harriet@example.org")
    create(
        client, editor, id="S002", name="Tomasz Wójcik", email="tomasz@example.org", deputy="S001"
    )
    refused = client.post(f"{URL}/S001/deactivate", headers=editor)
    assert refused.status_code == 409
    assert refused.json()["deputy_for"] == ["S002"] and refused.json()["reports_to_them"] == []
    assert client.post(f"{URL}/S002/deactivate", headers=editor).json()["active"] is False
    assert client.post(f"{URL}/S001/deactivate", headers=editor).json()["active"] is False
    assert (
        client.patch(f"{URL}/S001", json={"active": True}, headers=editor).json()["active"] is True
    )


def test_list_searches_filters_and_pages(client: TestClient, editor: dict[str, str]) -> None:
    assert upload(client, editor, csv_bytes(tree_rows())).status_code == 200
    first = client.get(URL, params={"limit": 1}, headers=editor).json()
    page = client.get(
        URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=editor
    ).json()
    assert [c["name"] for c in page["items"]] == [
        "Harriet Oyelaran", "Olumide Fairbairn",
    ]  # fmt: skip
    assert page["next_cursor"] is not None
    assert set(page["items"][0]) == PUBLIC_KEYS
    found = client.get(URL, params={"q": "wójcik"}, headers=editor).json()
    assert [c["id"] for c in found["items"]] == ["S002"]
    people = client.get(URL, params={"group": "People", "active": True}, headers=editor).json()
    assert sorted(c["id"] for c in people["items"]) == ["S010", "S011", "S020"]
    bad = client.get(URL, params={"q": "a\x00b"}, headers=editor)
    assert bad.status_code == 422


def test_import_replies_with_the_counts_and_audits_the_actor(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {make_key('contacts:write', name='intranet')}"}
    response = upload(client, headers, xlsx_bytes(tree_rows()), "contacts.xlsx", XLSX)
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 5, "updated": 0, "unchanged": 0, "deactivated": 0}
    with Session(engine) as session:
        # (make_key's own "api_key_created" event is the fixture's, with actor "test")
        [event] = session.exec(select(AuditEvent).where(AuditEvent.actor != "test")).all()
    assert (event.actor, event.action) == ("api-key:intranet", "contacts_imported")


def test_a_bad_import_is_422_listing_every_row_and_writes_nothing(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    rows = [
        person("S001", "Harriet Oyelaran"),
        person("S002", "Tomasz Wójcik", mobile="01632 960001"),
        person("S003", "Priya Raman", reports_to="S404"),
        person("S004", "Eilidh Baptiste", email="eilidh-at-example.org", channels="fax"),
    ]
    response = upload(client, editor, csv_bytes(rows))
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"errors", "more_errors"} and body["more_errors"] == 0
    assert [(e["line"], e["column"]) for e in body["errors"]] == [
        (3, "mobile"), (4, "reports_to"), (5, "email"), (5, "channels"),
    ]  # fmt: skip
    assert all(set(e) == {"line", "column", "message"} and e["message"] for e in body["errors"])
    assert count(engine) == 0


@pytest.mark.sqlite_only
def test_a_4000_row_cycle_with_a_bad_mobile_on_every_row_is_a_small_422(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    """The reply lists 100 problems and counts the rest; the cycle is one of them, once."""
    rows = [
        person(f"R{n:05d}", f"Person {n:05d}", reports_to=f"R{(n + 1) % 4000:05d}", mobile="1")
        for n in range(4000)
    ]
    response = upload(client, editor, csv_bytes(rows))
    assert response.status_code == 422
    body = response.json()
    assert len(body["errors"]) == 100
    assert body["more_errors"] == 4000 + 1 - 100
    cycles = [e for e in body["errors"] if "cycle" in e["message"]]
    assert [(e["line"], e["column"]) for e in cycles] == [(2, "reports_to")]
    assert len(response.content) < 30_000
    assert count(engine) == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"%PDF-1.7\n...", "tree.pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "tree.png", "image/png"),
        (b"PK\x03\x04 broken", "tree.xlsx", XLSX),
        (b"", "empty.csv", "text/csv"),
    ],
)
def test_an_upload_that_is_not_a_contacts_file_is_422_in_the_import_shape(
    client: TestClient, editor: dict[str, str], data: bytes, filename: str, content_type: str
) -> None:
    response = upload(client, editor, data, filename, content_type)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["line"], error["column"]) == (0, "file")


@pytest.mark.sqlite_only
def test_an_import_without_a_file_field_is_422_in_the_import_shape(
    client: TestClient, editor: dict[str, str]
) -> None:
    for extra in ({"json": {"file": "id,name"}}, {"data": {"file": "id,name"}}, {}):
        response = client.post(f"{URL}/import", headers=editor, **extra)
        assert response.status_code == 422, extra
        assert response.json()["errors"][0]["line"] == 0


@pytest.mark.sqlite_only
def test_a_header_without_a_column_is_422_on_line_1(
    client: TestClient, editor: dict[str, str]
) -> None:
    response = upload(client, editor, b"id,name,email\nS001,Harriet Oyelaran,h@example.org\n")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["line"] for e in errors} == {1}
    assert {e["column"] for e in errors} == {
        "role", "mobile", "reports_to", "deputy", "groups", "channels", "ack_window_minutes",
    }  # fmt: skip


def test_dry_run_and_replace_through_http(
    client: TestClient, editor: dict[str, str], engine: Engine
) -> None:
    assert upload(client, editor, csv_bytes(tree_rows())).status_code == 200
    two = [row for row in tree_rows() if row["id"] in {"S001", "S002"}]
    dry = upload(client, editor, csv_bytes(two), dry_run="true", replace="true")
    assert dry.json() == {"created": 0, "updated": 0, "unchanged": 2, "deactivated": 3}
    assert len(client.get(URL, params={"active": True}, headers=editor).json()["items"]) == 5
    real = upload(client, editor, csv_bytes(two), replace="true")
    assert real.json() == dry.json()
    assert len(client.get(URL, params={"active": True}, headers=editor).json()["items"]) == 2


@pytest.mark.parametrize(("kind", "media"), [("csv", "text/csv"), ("xlsx", XLSX)])
def test_an_export_reimports_as_unchanged(
    client: TestClient, editor: dict[str, str], viewer: dict[str, str], kind: str, media: str
) -> None:
    upload(client, editor, csv_bytes(tree_rows()))
    exported = client.get(f"{URL}/export", params={"format": kind}, headers=viewer)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith(media)
    assert f'filename="contacts.{kind}"' in exported.headers["content-disposition"]
    again = upload(client, editor, exported.content, f"contacts.{kind}", media)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 5, "deactivated": 0}


@pytest.mark.sqlite_only
def test_export_format_is_checked(client: TestClient, viewer: dict[str, str]) -> None:
    assert client.get(f"{URL}/export", params={"format": "pdf"}, headers=viewer).status_code == 422


def test_every_change_through_the_api_is_audited(
    client: TestClient, make_key: Callable[..., str], engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {make_key('contacts:write', name='coordinator')}"}
    create(client, headers, id="S001", name="Harriet Oyelaran", email="harriet@example.org")
    client.patch(f"{URL}/S001", json={"role": "Director"}, headers=headers)
    client.post(f"{URL}/S001/deactivate", headers=headers)
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.actor != "test").order_by(AuditEvent.id)
        ).all()
    assert [(e.actor, e.action) for e in events] == [
        ("api-key:coordinator", "contact_created"),
        ("api-key:coordinator", "contact_updated"),
        ("api-key:coordinator", "contact_deactivated"),
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = {
    "id": st.sampled_from(["S001", "S050", "", "a/b", "S\x00"]) | st.text(max_size=70),
    "name": st.text(max_size=210),
    "role": st.text(max_size=20) | st.none(),
    "email": st.sampled_from(["x@example.org", "nope", ""]) | st.none(),
    "mobile": st.sampled_from(["07700 900001", "+447700900001", "020 7946 0000"])
    | st.text(max_size=20),
    "reports_to": st.sampled_from(["S001", "S050", "S999"]) | st.none(),
    "deputy": st.sampled_from(["S001", "S050"]) | st.none(),
    "groups": st.lists(st.text(max_size=12), max_size=3),
    "channels": st.lists(st.sampled_from(["email", "sms", "fax"]), max_size=3),
    "ack_window_minutes": st.integers(-5, 2000) | st.none(),
    "active": st.booleans(),
}
BODIES = st.fixed_dictionaries(
    {}, optional={name: values | JSON_VALUES for name, values in FIELDS.items()}
)


def test_generated_bodies_get_a_4xx_naming_a_field_or_succeed(
    client: TestClient, editor: dict[str, str]
) -> None:
    create(client, editor, id="S001", name="Harriet Oyelaran", email="harriet@example.org")

    @settings(
        max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(body=BODIES | JSON_VALUES, patch=st.booleans())
    def answered(body: Any, patch: bool) -> None:
        if patch:
            response = client.patch(f"{URL}/S001", json=body, headers=editor)
        else:
            response = client.post(URL, json=body, headers=editor)
        assert response.status_code < 500, (body, response.text)
        if response.status_code == 422:
            for error in response.json()["detail"]:
                assert error["loc"][0] == "body", error

    answered()
