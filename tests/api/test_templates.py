"""Message template routes: read, save (validated), reset, preview; scopes and the audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.contacts.models import Contact
from service.db import utcnow
from service.notify.models import Medium, Purpose
from service.notify.templates.placeholders import PLACEHOLDERS
from service.notify.templates.render import DRILL_FIRST_LINE
from service.notify.templates.samples import SAMPLE_ACK_TOKEN, SAMPLE_CONTACT
from service.notify.templates.store import default
from tests.notify.templates.builders import measured

Headers = Callable[..., dict[str, str]]
URL = "/api/v1/templates"


@pytest.fixture
def reader(auth: Headers) -> dict[str, str]:
    return auth("templates:read")


@pytest.fixture
def writer(auth: Headers) -> dict[str, str]:
    return auth("templates:write")


def audit_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def add_contact(engine: Engine, **values: object) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.add(Contact(created_at=now, updated_at=now, **values))  # type: ignore[arg-type]
        session.commit()


# --- reading --------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_list_has_every_purpose_and_medium_with_its_placeholders(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get(URL, headers=reader)
    assert response.status_code == 200
    items = response.json()["items"]
    assert {(i["purpose"], i["medium"]) for i in items} == {
        (p.value, m.value) for p in Purpose for m in Medium
    }
    for item in items:
        assert item["customised"] is False
        assert [p["name"] for p in item["placeholders"]] == list(PLACEHOLDERS[item["purpose"]])
        shipped = default(item["purpose"], item["medium"])
        assert item["body"] == shipped.body
        assert item["subject"] == (shipped.subject if item["medium"] == "email" else None)


def test_read_one_template(client: TestClient, reader: dict[str, str]) -> None:
    response = client.get(f"{URL}/escalation/sms", headers=reader)
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] is None and "((about.name))" in body["body"]
    assert "about.name" in [p["name"] for p in body["placeholders"]]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("path", ["/inspection/sms", "/announcement/fax", "/announcement"])
def test_unknown_purpose_or_medium_is_refused(
    client: TestClient, reader: dict[str, str], path: str
) -> None:
    assert client.get(URL + path, headers=reader).status_code in (404, 422)


@pytest.mark.sqlite_only
def test_reading_needs_a_key_with_the_templates_read_scope(
    client: TestClient, auth: Headers
) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer iw_nonsense"}).status_code == 401
    assert client.get(URL, headers=auth("inspections:read")).status_code == 403
    assert client.get(URL, headers=auth("templates:write")).status_code == 200


# --- saving and resetting -------------------------------------------------------------------


def test_save_then_read_back_then_reset_with_audit_records(
    client: TestClient, writer: dict[str, str], engine: Engine
) -> None:
    edit = {
        "subject": "Ofsted are coming: ((contact.name)), please acknowledge",
        "body": "Ofsted called at ((inspection.notified_at)).\n\nAcknowledge: ((ack_url))",
    }
    saved = client.put(f"{URL}/announcement/email", json=edit, headers=writer)
    assert saved.status_code == 200, saved.text
    assert saved.json()["customised"] is True
    assert saved.json()["updated_by"].startswith("api-key:")
    read = client.get(f"{URL}/announcement/email", headers=writer).json()
    assert (read["subject"], read["body"], read["customised"]) == (
        edit["subject"],
        edit["body"],
        True,
    )
    listed = {
        (i["purpose"], i["medium"]): i["customised"]
        for i in client.get(URL, headers=writer).json()["items"]
    }
    assert listed[("announcement", "email")] is True
    assert listed[("announcement", "sms")] is False

    assert client.delete(f"{URL}/announcement/email", headers=writer).status_code == 204
    back = client.get(f"{URL}/announcement/email", headers=writer).json()
    assert back["customised"] is False
    assert back["body"] == default("announcement", "email").body
    # Resetting again is harmless and records nothing new.
    assert client.delete(f"{URL}/announcement/email", headers=writer).status_code == 204

    events = [e for e in audit_events(engine) if e.target == "announcement.email"]
    assert [e.action for e in events] == ["template_saved", "template_reset"]
    assert events[0].data["body"] == edit["body"]
    assert events[0].actor == saved.json()["updated_by"]


@pytest.mark.sqlite_only
def test_saving_an_unknown_placeholder_is_422_naming_it(
    client: TestClient, writer: dict[str, str]
) -> None:
    response = client.put(
        f"{URL}/announcement/email",
        json={"subject": "Hello", "body": "Dear ((contact.nmae))"},
        headers=writer,
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "body"]
    assert "contact.nmae" in error["msg"]
    assert client.get(f"{URL}/announcement/email", headers=writer).json()["customised"] is False


@pytest.mark.sqlite_only
def test_saving_a_syntax_error_names_the_line(client: TestClient, writer: dict[str, str]) -> None:
    response = client.put(
        f"{URL}/reminder/email",
        json={"subject": "Reminder ((deadline.label)", "body": "((deadline.label))"},
        headers=writer,
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "subject"] and "line 1" in error["msg"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/announcement/sms", {"subject": "Hi", "body": "((ack_url))"}, "subject"),
        ("/announcement/email", {"body": "((ack_url))"}, "subject"),
        ("/announcement/sms", {"body": "x" * 919}, "body"),
        ("/announcement/sms", {"body": "   "}, "body"),
        ("/announcement/sms", {"body": "ok\x00"}, "body"),
        ("/announcement/sms", {"body": "ok", "colour": "red"}, "colour"),
    ],
)
def test_saving_bad_input_is_422_naming_the_field(
    client: TestClient, writer: dict[str, str], path: str, payload: dict[str, str], field: str
) -> None:
    response = client.put(URL + path, json=payload, headers=writer)
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"])


@pytest.mark.sqlite_only
def test_changing_templates_needs_the_templates_write_scope(
    client: TestClient, reader: dict[str, str]
) -> None:
    edit = {"body": "((ack_url))"}
    assert client.put(f"{URL}/announcement/sms", json=edit).status_code == 401
    assert client.put(f"{URL}/announcement/sms", json=edit, headers=reader).status_code == 403
    assert client.delete(f"{URL}/announcement/sms", headers=reader).status_code == 403
    assert client.get(f"{URL}/announcement/sms", headers=reader).json()["customised"] is False


# --- previews -------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_preview_of_the_default_for_the_sample_person(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.post(f"{URL}/announcement/email/preview", json={}, headers=reader)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == default("announcement", "email").subject
    assert f"Dear {SAMPLE_CONTACT['name']}," in body["body"]
    # The link is built from this server's PUBLIC_BASE_URL, as the real one will be.
    assert f"http://127.0.0.1:8000/ack/{SAMPLE_ACK_TOKEN}" in body["body"]
    assert body["html_body"].count("<a href=") == 1
    assert body["sms_fragments"] is None
    assert body["characters"] == len(body["body"])


def test_preview_for_a_stored_contact_of_an_sms(
    client: TestClient, reader: dict[str, str], engine: Engine
) -> None:
    add_contact(
        engine,
        id="E2201",
        name="Tomasz Wójcik",
        role="Team Manager, Front Door",
        email="tomasz.wojcik@example.org",
        mobile="+447700900123",
    )
    response = client.post(
        f"{URL}/announcement/sms/preview",
        json={
            "contact_id": "E2201",
            "body": "((contact.name)), ((contact.role)): ((ack_url))",
        },
        headers=reader,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["body"].startswith("Tomasz Wójcik, Team Manager, Front Door: http://")
    assert body["subject"] is None and body["html_body"] is None
    assert body["characters"] == len(body["body"])
    # "ó" is outside the GSM alphabet: Notify sends the text as unicode, 70 then 67 a fragment.
    assert 70 < body["characters"] <= 134 and body["sms_fragments"] == 2


def test_preview_shows_a_stored_edit_and_does_not_save_unsaved_text(
    client: TestClient, reader: dict[str, str], writer: dict[str, str]
) -> None:
    client.put(
        f"{URL}/reminder/sms",
        json={"body": "Stored: ((deadline.label))"},
        headers=writer,
    ).raise_for_status()
    stored = client.post(f"{URL}/reminder/sms/preview", json={}, headers=reader).json()
    assert stored["body"].startswith("Stored: ")
    unsaved = client.post(
        f"{URL}/reminder/sms/preview",
        json={"body": "Unsaved: ((deadline.due))"},
        headers=reader,
    ).json()
    assert unsaved["body"].startswith("Unsaved: ")
    assert client.get(f"{URL}/reminder/sms", headers=reader).json()["body"] == (
        "Stored: ((deadline.label))"
    )


@pytest.mark.sqlite_only
def test_preview_as_a_drill_is_marked(client: TestClient, reader: dict[str, str]) -> None:
    body = client.post(
        f"{URL}/escalation/email/preview", json={"drill": True}, headers=reader
    ).json()
    assert body["subject"].startswith("EXERCISE: ")
    assert body["body"].startswith(DRILL_FIRST_LINE)


@pytest.mark.sqlite_only
def test_preview_of_unsaved_text_with_an_unknown_placeholder_is_422_naming_it(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.post(
        f"{URL}/escalation/email/preview",
        json={"subject": "About ((abuot.name))"},
        headers=reader,
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "subject"] and "abuot" in error["msg"]


@pytest.mark.sqlite_only
def test_preview_for_an_unknown_contact_is_404(client: TestClient, reader: dict[str, str]) -> None:
    response = client.post(
        f"{URL}/announcement/email/preview", json={"contact_id": "NOBODY"}, headers=reader
    )
    assert response.status_code == 404


@pytest.mark.sqlite_only
def test_preview_needs_the_templates_read_scope(client: TestClient, auth: Headers) -> None:
    path = f"{URL}/announcement/sms/preview"
    assert client.post(path, json={}).status_code == 401
    assert client.post(path, json={}, headers=auth("contacts:read")).status_code == 403


# --- templates that tried to stall the service (issue: templates without limits) ------------

LOOPS = (
    "{% for a in 'x'*500 %}{% for b in 'x'*500 %}{% for c in 'x'*500 %}x"
    "{% endfor %}{% endfor %}{% endfor %}"
)
ATTACKS = {
    "three nested loops": LOOPS,
    "big-number arithmetic": "{{ (((9**64)**64)**64)**64 }}",
    "string-growing method": "{{ ('x'*9999).replace('x', 'x'*9999).replace('x', 'x'*9999) }}",
    "loops for real contacts only": "{% if contact.name != 'Priya Raman' %}"
    + LOOPS
    + "{% endif %}Hi",
    "every list at the output limit": "((tasks))" * 2_222,
    "brackets only": "((" * 10_000,
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("text", list(ATTACKS.values()), ids=list(ATTACKS))
def test_a_template_built_to_stall_is_refused_at_once_and_nothing_is_stored(
    client: TestClient, reader: dict[str, str], writer: dict[str, str], text: str
) -> None:
    with measured() as cost:
        previewed = client.post(
            f"{URL}/task_digest/sms/preview", json={"body": text}, headers=reader
        )
        saved = client.put(f"{URL}/task_digest/sms", json={"body": text}, headers=writer)
    for response in (previewed, saved):
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "body"]
    assert cost.peak_bytes < 32 * 1024 * 1024 and cost.seconds < 5.0  # no blow-up, not a speed test
    assert client.get(f"{URL}/task_digest/sms", headers=reader).json()["customised"] is False
