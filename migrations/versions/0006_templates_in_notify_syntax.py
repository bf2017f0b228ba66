"""message templates in GOV.UK Notify's language: councils' edits converted or reset

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00.000000

Templates were Jinja2 (`{{ contact.name }}`) and are now written as in GOV.UK Notify
(`((contact.name))`). Each stored edit is converted where that is mechanical
(service/notify/templates/old_syntax.py) and must then pass today's validation; any other edit is
removed, so the shipped default is used again, with an audit entry keeping its old text so a
coordinator can see it and write it again (the templates page shows it). Converted edits get an
audit entry with their old text too.

Downgrading puts every edit back as it was before the upgrade, from those audit entries; edits
saved since are removed (their text stays in the audit log), since the old renderer cannot read
them.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import service.db
from service.notify.templates.edits import CONVERTED_ON_UPGRADE, RESET_ON_UPGRADE
from service.notify.templates.old_syntax import NotConvertible, convert

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "upgrade"
RESET_ON_DOWNGRADE = "template_reset_on_downgrade"

templates = sa.table(
    "message_template",
    sa.column("purpose", sa.String),
    sa.column("medium", sa.String),
    sa.column("subject", sa.String),
    sa.column("body", sa.Text),
    sa.column("updated_at", service.db.UTCDateTime(timezone=True)),
    sa.column("updated_by", sa.String),
)
audit = sa.table(
    "audit_event",
    sa.column("id", sa.Integer),
    sa.column("at", service.db.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("data", sa.JSON),
)


def _record(bind: sa.Connection, action: str, target: str, data: dict[str, Any]) -> None:
    bind.execute(
        sa.insert(audit).values(
            at=service.db.utcnow(), actor=ACTOR, action=action, target=target, data=data
        )
    )


def _where(row: Any) -> sa.ColumnElement[bool]:
    return sa.and_(templates.c.purpose == row.purpose, templates.c.medium == row.medium)


def upgrade() -> None:
    bind = op.get_bind()
    stored = sa.select(templates).order_by(templates.c.purpose, templates.c.medium)
    for row in bind.execute(stored).all():
        kept = {
            "old_subject": row.subject,
            "old_body": row.body,
            "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by,
        }
        try:
            subject, body = convert(row.purpose, row.medium, row.subject, row.body)
        except NotConvertible as exc:
            bind.execute(sa.delete(templates).where(_where(row)))
            action, data = RESET_ON_UPGRADE, {**kept, "reason": str(exc)}
        else:
            bind.execute(sa.update(templates).where(_where(row)).values(subject=subject, body=body))
            action, data = CONVERTED_ON_UPGRADE, {**kept, "subject": subject, "body": body}
        _record(bind, action, f"{row.purpose}.{row.medium}", data)


def downgrade() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(templates)).all():
        bind.execute(sa.delete(templates).where(_where(row)))
        _record(
            bind,
            RESET_ON_DOWNGRADE,
            f"{row.purpose}.{row.medium}",
            {"subject": row.subject, "body": row.body, "updated_by": row.updated_by},
        )
    before: dict[str, dict[str, Any]] = {}
    upgraded = (
        sa.select(audit.c.target, audit.c.data)
        .where(audit.c.action.in_([CONVERTED_ON_UPGRADE, RESET_ON_UPGRADE]))
        .order_by(audit.c.id)
    )
    for target, data in bind.execute(upgraded).all():
        before[target] = data
    for target, data in before.items():
        purpose, _, medium = target.partition(".")
        bind.execute(
            sa.insert(templates).values(
                purpose=purpose,
                medium=medium,
                subject=data["old_subject"],
                body=data["old_body"],
                updated_at=datetime.fromisoformat(data["updated_at"]),
                updated_by=data["updated_by"],
            )
        )
