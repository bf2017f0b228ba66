"""improvement pathway: the board an inadequate outcome opens, and its meetings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 01:30:00.000000

One board per inspection (members as plan roles), its meetings for the next twelve months; the
pathway's tasks are plan tasks (category `improvement`), so no table of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "improvement_board",
        sa.Column("inspection_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("withdrawn_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"]),
        sa.PrimaryKeyConstraint("inspection_id"),
    )
    op.create_table(
        "board_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("starts_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("report_task_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["improvement_board.inspection_id"]),
        sa.ForeignKeyConstraint(["report_task_id"], ["plan_task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id", "number", name="uq_board_meeting_number"),
    )
    op.create_index(
        op.f("ix_board_meeting_inspection_id"), "board_meeting", ["inspection_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_board_meeting_inspection_id"), table_name="board_meeting")
    op.drop_table("board_meeting")
    op.drop_table("improvement_board")
