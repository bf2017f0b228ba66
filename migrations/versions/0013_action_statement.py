"""the written statement of action

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:30:00.000000

One row per inspection: its stage (draft, approved, published), who approved it at which
meeting, and where and when it was published (which also records the milestone).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_statement",
        sa.Column("inspection_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("draft_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column(
            "approved_at_meeting", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("published_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"]),
        sa.PrimaryKeyConstraint("inspection_id"),
    )


def downgrade() -> None:
    op.drop_table("action_statement")
