"""a task's version, which voids the mark-done links sent for an earlier one

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:15:00.000000

Every mark-done link names the task's version; reassigning or reopening the task moves the version
on, so a link sent to the previous owner, or before the task was reopened, no longer marks it done
and its page says why (`version_voided_by`). Existing tasks start at version 0, which is also what
a link made before this revision stands for, so links already sent keep working until the task
next changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("version_voided_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_task", schema=None) as batch_op:
        batch_op.drop_column("version_voided_by")
        batch_op.drop_column("version")
