"""contacts, cascade, outbox, templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:48:29.888601
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_secret",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "contact",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("mobile", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("reports_to", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("deputy", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("ack_window_minutes", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reports_to"],
            ["contact.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_mobile"), ["mobile"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_reports_to"), ["reports_to"], unique=False)

    op.create_table(
        "message_template",
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("medium", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("purpose", "medium"),
    )
    op.create_table(
        "cascade_node",
        sa.Column("inspection_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ack_code", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("deputy_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("notified_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_closes_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_via", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("children_released_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("broken_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("inspection_id", "contact_id"),
        sa.UniqueConstraint("ack_code"),
    )
    with op.batch_alter_table("cascade_node", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cascade_node_parent", ["inspection_id", "parent_id"], unique=False
        )

    op.create_table(
        "message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inspection_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("medium", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("provider_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(
            "ix_message_due", ["status", "priority", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_inspection_id"), ["inspection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_message_provider_id"), ["provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_provider_id"))
        batch_op.drop_index(batch_op.f("ix_message_inspection_id"))
        batch_op.drop_index("ix_message_due")
        batch_op.drop_index(batch_op.f("ix_message_contact_id"))

    op.drop_table("message")
    with op.batch_alter_table("cascade_node", schema=None) as batch_op:
        batch_op.drop_index("ix_cascade_node_parent")

    op.drop_table("cascade_node")
    op.drop_table("message_template")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_reports_to"))
        batch_op.drop_index(batch_op.f("ix_contact_mobile"))

    op.drop_table("contact")
    op.drop_table("app_secret")
