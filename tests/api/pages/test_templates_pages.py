"""The template pages through the TestClient: the list, the preview for an invented person or a
chosen contact (with the SMS fragment count), saving with unknown placeholders named at the
field and nothing stored, the live preview's fragment, and going back to the default."""

from __future__ import annotations

import html as html_module
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.audit_log import AuditEvent
from service.notify.models import MessageTemplate
from tests.api.pages.helpers import error_summary, post_form, signed_in_as
from tests.builders import make_contact
from tests.notify.templates.builders import reset_by_upgrade

pytestmark = pytest.mark.sqlite_only

ANNOUNCE_SMS = "/templates/announcement/sms"
ANNOUNCE_EMAIL = "/templates/announcement/email"


def _stored(engine: Engine) -> list[MessageTemplate]:
    with Session(engine) as session:
        return list(session.exec(select(MessageTemplate)).all())


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def _preview_part(html: str) -> str:
    start = html.index('id="template-preview"')
    return _text(html[start:])


def test_the_list_shows_every_purpose_and_medium(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "viewer")
    page = client.get("/templates").text
    rows = re.findall(r'id="template-([a-z_]+)-(email|sms)"', page)
    assert len(rows) == 16 and ("announcement", "sms") in rows
    assert "Customised" not in _text(page) and _text(page).count("Default") == 16
    assert f'href="{ANNOUNCE_SMS}"' in page and ">View<" in page


def test_a_viewer_sees_the_text_and_a_preview_for_a_chosen_contact_but_no_form(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        make_contact(session, "hoy", "Harriet Oyelaran")
        session.commit()
    signed_in_as(client, engine, "viewer")
    page = client.get(ANNOUNCE_EMAIL).text
    assert 'id="template-form"' not in page and "templates-preview.mjs" not in page
    assert "Dear Priya Raman" in _preview_part(page)
    chosen = client.get(ANNOUNCE_EMAIL, params={"contact": "hoy"}).text
    assert "Dear Harriet Oyelaran" in _preview_part(chosen)
    assert '<option value="hoy" selected' in chosen
    assert "Ofsted inspection announced: please acknowledge now" in _preview_part(chosen)


def test_the_sms_preview_counts_fragments(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "coordinator")
    page = client.get(ANNOUNCE_SMS).text
    found = re.search(r'id="sms-fragments">(\d+) characters: sent as (\d+) text', page)
    assert found is not None
    characters, fragments = int(found.group(1)), int(found.group(2))
    assert characters > 160 and fragments == (1 if characters <= 160 else -(-characters // 153))
    short = post_form(
        client,
        ANNOUNCE_SMS,
        {"body": "Acknowledge: ((ack_url))", "action": "preview"},
        page=ANNOUNCE_SMS,
    )
    assert short.status_code == 200
    assert re.search(r'id="sms-fragments">\d+ characters: sent as 1 text message\.', short.text)
    assert _stored(engine) == []  # previewing stores nothing


def test_saving_an_unknown_placeholder_names_it_at_the_field_and_stores_nothing(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    reply = post_form(
        client,
        ANNOUNCE_EMAIL,
        {"subject": "Inspection", "body": "Dear ((contact.nmae))", "action": "save"},
        page=ANNOUNCE_EMAIL,
    )
    assert reply.status_code == 422
    summary = error_summary(reply.text)
    assert [href for href, _ in summary] == ["#body"]
    assert "unknown placeholder ((contact.nmae))" in summary[0][1]
    assert 'id="body-error"' in reply.text
    assert "Dear ((contact.nmae))" in html_module.unescape(reply.text)  # the text is kept
    empty_subject = post_form(
        client,
        ANNOUNCE_EMAIL,
        {"subject": " ", "body": "Hello", "action": "save"},
        page=ANNOUNCE_EMAIL,
    )
    assert empty_subject.status_code == 422
    assert error_summary(empty_subject.text) == [
        ("#subject", "The subject has a problem: an e-mail needs a subject")
    ]
    assert _stored(engine) == []


def test_saving_stores_the_edit_with_an_audit_entry_and_reset_removes_it(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    body = "((contact.name)): Ofsted are coming. Acknowledge: ((ack_url))"
    reply = post_form(client, ANNOUNCE_SMS, {"body": body, "action": "save"}, page=ANNOUNCE_SMS)
    assert reply.status_code == 303 and reply.headers["location"] == ANNOUNCE_SMS
    [stored] = _stored(engine)
    assert (stored.purpose, stored.medium, stored.body) == ("announcement", "sms", body)
    assert stored.updated_by == "user:coordinator-user"
    page = client.get(ANNOUNCE_SMS).text
    assert "Inspection announced (text message) saved" in page
    assert "Priya Raman: Ofsted are coming." in _preview_part(page)
    assert "Customised" in _text(client.get("/templates").text)

    reset = post_form(client, f"{ANNOUNCE_SMS}/reset", page=ANNOUNCE_SMS)
    assert reset.status_code == 303
    assert _stored(engine) == []
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.target) == "announcement.sms")
        ).all()
    assert sorted(actions) == ["template_reset", "template_saved"]


def test_the_live_preview_answers_with_the_fragment(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session:
        make_contact(session, "twoj", "Tomasz Wójcik")
        session.commit()
    signed_in_as(client, engine, "coordinator")
    good = post_form(
        client,
        f"{ANNOUNCE_EMAIL}/preview",
        {
            "subject": "For ((contact.name))",
            "body": "Hello ((contact.name))",
            "contact": "twoj",
        },
        page=ANNOUNCE_EMAIL,
    )
    assert good.status_code == 200
    assert "<html" not in good.text and "Hello Tomasz Wójcik" in _text(good.text)
    assert "For Tomasz Wójcik" in _text(good.text)
    bad = post_form(
        client,
        f"{ANNOUNCE_EMAIL}/preview",
        {"subject": "Hi", "body": "Hello ((contact.name"},
        page=ANNOUNCE_EMAIL,
    )
    assert bad.status_code == 422 and "No preview" in bad.text and "line 1" in bad.text
    assert _stored(engine) == []


def test_a_viewer_cannot_save_and_unknown_templates_are_not_found(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    refused = post_form(client, ANNOUNCE_SMS, {"body": "x", "action": "save"}, page="/templates")
    assert refused.status_code == 403
    assert client.get("/templates/nonsense/sms").status_code == 404
    assert client.get("/templates/announcement/fax").status_code == 404
    assert _stored(engine) == []


def test_the_help_shows_placeholders_as_they_are_written(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    page = _text(client.get("/templates/task_digest/email").text)
    assert "((contact.name))" in page and "((no_tasks))" in page
    assert "((inspection.lead_inspector??The lead inspector is" in page


def test_the_preview_shows_a_list_of_tasks_as_a_bulleted_list(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    page = client.get("/templates/task_digest/email").text
    assert '<ul class="govuk-list govuk-list--bullet">' in page
    assert "<li>Send the Annex A data to the lead inspector<br>" in page


def test_an_edit_the_upgrade_reset_is_named_with_its_old_words_until_dealt_with(
    client: TestClient, engine: Engine
) -> None:
    old = "{% for task in tasks %}\n- {{ task.title }}\n{% endfor %}"
    with Session(engine) as session:
        reset_by_upgrade(session, "task_digest", "email", old, subject="Tasks for {{ day }}")
    signed_in_as(client, engine, "coordinator")
    listing = client.get("/templates").text
    assert 'id="reset-on-upgrade"' in listing
    assert 'href="/templates/task_digest/email">Daily task digest (e-mail)</a>' in listing
    assert "Default: edit not moved" in _text(listing)

    page = client.get("/templates/task_digest/email").text
    banner = page[page.index('id="reset-on-upgrade"') : page.index('<h1 class="govuk-heading-l">')]
    assert old in html_module.unescape(banner)
    assert "Tasks for {{ day }}" in html_module.unescape(banner)
    assert "{% for task in tasks %} has no equivalent" in html_module.unescape(banner)
    assert "Keep the shipped words" in banner

    kept = post_form(
        client, "/templates/task_digest/email/reset", {}, page="/templates/task_digest/email"
    )
    assert kept.status_code == 303
    assert 'id="reset-on-upgrade"' not in client.get("/templates").text
    assert 'id="reset-on-upgrade"' not in client.get("/templates/task_digest/email").text
    assert _stored(engine) == []


def test_saving_the_template_again_ends_the_upgrade_notice(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        reset_by_upgrade(session, "announcement", "sms", "{{ ack_url | upper }}")
    signed_in_as(client, engine, "coordinator")
    saved = post_form(
        client,
        ANNOUNCE_SMS,
        {"body": "Acknowledge: ((ack_url))", "action": "save"},
        page=ANNOUNCE_SMS,
    )
    assert saved.status_code == 303
    assert 'id="reset-on-upgrade"' not in client.get("/templates").text
