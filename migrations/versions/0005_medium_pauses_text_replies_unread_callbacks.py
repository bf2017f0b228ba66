"""medium pauses, text replies, unread Notify callbacks, status polling

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:00:12.857013
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "medium_pause",
        sa.Column("medium", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("paused_until", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("since", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("medium"),
    )
    op.create_table(
        "notify_unread_callback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("problem", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("received_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notify_unread_callback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notify_unread_callback_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "sms_reply",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notify_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("inspection_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("received_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notify_id", "inspection_id"),
    )
    with op.batch_alter_table("sms_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_reply_inspection_id"), ["inspection_id"], unique=False
        )

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status_checked_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("status_checked_at")

    with op.batch_alter_table("sms_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_reply_inspection_id"))

    op.drop_table("sms_reply")
    with op.batch_alter_table("notify_unread_callback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_unread_callback_received_at"))

    op.drop_table("notify_unread_callback")
    op.drop_table("medium_pause")
