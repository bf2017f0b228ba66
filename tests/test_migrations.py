"""The migrations are the schema: one head, and the models agree with it on both backends; and
the data migration that moved councils' template edits to Notify's language, run on real rows
in the old syntax."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

import service.models  # noqa: F401
from service import migrate
from service.audit_log import AuditEvent
from service.db import make_engine
from service.notify.models import Medium, MessageTemplate, Purpose
from service.notify.templates import edits, store
from service.notify.templates.render import render
from service.notify.templates.samples import sample_context
from tests.conftest import PG_ADMIN_URL
from tests.processes import fresh_postgres_database


def test_there_is_exactly_one_migration_head() -> None:
    assert len(migrate.heads()) == 1


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == migrate.heads()[0]
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == migrate.heads()[0]


# --- 0006: councils' edits moved to Notify's template language ------------------------------

EDITED_AT = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
OLD_EDITS = [
    # purpose, medium, subject, body: as councils saved them in the Jinja syntax
    (
        "announcement",
        "sms",
        "",
        "{{ council_name }}: Ofsted are coming, on site {{ inspection.on_site_start }}. "
        "Acknowledge: {{ ack_url }}",
    ),
    (
        "announcement",
        "email",
        "Ofsted inspection: {{ contact.name }}, please acknowledge",
        "Dear {{ contact.name }},\n\nAcknowledge: {{ ack_url }}\n"
        "{% if inspection.lead_inspector %}\n"
        "The lead inspector is {{ inspection.lead_inspector }}.\n"
        "{% endif %}\n"
        "Thank you",
    ),
    (
        "task_digest",
        "email",
        "Your tasks for {{ day }}",
        "{% for task in tasks %}\n- {{ task.title }}: {{ task.done_url }}\n{% endfor %}",
    ),
    (
        "reminder",
        "sms",
        "",
        "{{ deadline.label }}{% if deadline.working_days_before == 0 %} is today{% endif %}",
    ),
]
CONVERTED = {
    ("announcement", "sms"): (
        "",
        "((council_name)): Ofsted are coming, on site ((inspection.on_site_start)). "
        "Acknowledge: ((ack_url))",
    ),
    ("announcement", "email"): (
        "Ofsted inspection: ((contact.name)), please acknowledge",
        "Dear ((contact.name)),\n\nAcknowledge: ((ack_url))\n"
        "((inspection.lead_inspector??The lead inspector is ((inspection.lead_inspector)).\n"
        "))Thank you",
    ),
}


def _upgrade_from_0005(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine, "0005")
    with engine.begin() as connection:
        for purpose, medium, subject, body in OLD_EDITS:
            connection.execute(
                sa.insert(MessageTemplate.__table__),  # type: ignore[arg-type]
                {
                    "purpose": purpose,
                    "medium": medium,
                    "subject": subject,
                    "body": body,
                    "updated_at": EDITED_AT,
                    "updated_by": "user:priya.raman",
                },
            )
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def upgraded(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A database made at revision 0005 with councils' edits in the old syntax, then upgraded."""
    if database_url.startswith("sqlite"):
        engine = _upgrade_from_0005(f"sqlite:///{tmp_path / 'at-0005.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database(PG_ADMIN_URL) as url:
        engine = _upgrade_from_0005(url)
        yield engine
        engine.dispose()


def test_edits_that_convert_are_kept_in_the_new_syntax_and_the_old_text_is_recorded(
    upgraded: Engine,
) -> None:
    with Session(upgraded) as session:
        stored = {(row.purpose, row.medium): row for row in session.exec(select(MessageTemplate))}
        assert {key: (row.subject, row.body) for key, row in stored.items()} == CONVERTED
        assert all(row.updated_by == "user:priya.raman" for row in stored.values())
        assert all(row.updated_at == EDITED_AT for row in stored.values())
        converted = session.exec(
            select(AuditEvent).where(AuditEvent.action == edits.CONVERTED_ON_UPGRADE)
        ).all()
    by_target = {event.target: event for event in converted}
    assert set(by_target) == {"announcement.sms", "announcement.email"}
    assert by_target["announcement.sms"].data["old_body"] == OLD_EDITS[0][3]
    assert by_target["announcement.email"].data["body"] == CONVERTED[("announcement", "email")][1]


def test_edits_that_do_not_convert_are_reset_with_their_old_text_kept_and_said_why(
    upgraded: Engine,
) -> None:
    with Session(upgraded) as session:
        pending = edits.reset_on_upgrade(session)
        current = store.current(session, Purpose.task_digest, Medium.email)
    assert set(pending) == {(Purpose.task_digest, Medium.email), (Purpose.reminder, Medium.sms)}
    digest = pending[(Purpose.task_digest, Medium.email)]
    assert digest.old_subject == "Your tasks for {{ day }}"
    assert digest.old_body == OLD_EDITS[2][3]
    assert "{% for task in tasks %}" in digest.reason
    assert "no equivalent" in pending[(Purpose.reminder, Medium.sms)].reason
    assert not current.customised  # the shipped words are in use


def test_the_converted_edits_render_for_real_contacts(upgraded: Engine) -> None:
    with Session(upgraded) as session:
        rendered = render(
            session,
            purpose=Purpose.announcement,
            medium=Medium.email,
            context=sample_context(Purpose.announcement),
            drill=False,
        )
    assert rendered.customised and rendered.fell_back is None
    assert "The lead inspector is Harriet Oyelaran.\nThank you" in rendered.body


def test_downgrading_puts_the_old_edits_back_as_they_were(upgraded: Engine) -> None:
    with Session(upgraded) as session:
        edits.save(
            session,
            purpose="drill",
            medium="sms",
            subject=None,
            body="Rehearsal: ((ack_url))",
            actor="user:priya.raman",
            now=EDITED_AT,
        )
        session.commit()
    config = migrate.alembic_config(upgraded.url.render_as_string(hide_password=False))
    with upgraded.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with Session(upgraded) as session:
        rows = session.exec(select(MessageTemplate)).all()
        dropped = session.exec(
            select(AuditEvent).where(AuditEvent.action == "template_reset_on_downgrade")
        ).all()
    assert sorted((r.purpose, r.medium, r.subject, r.body) for r in rows) == sorted(OLD_EDITS)
    assert all(row.updated_at == EDITED_AT for row in rows)
    assert "drill.sms" in {event.target for event in dropped}
