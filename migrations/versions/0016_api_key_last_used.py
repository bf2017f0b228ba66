"""api keys: when each was last used

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 01:30:00.000000

Written at most once a minute per key, so an admin can see which keys are still in use before
revoking one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.add_column(
            sa.Column("last_used_at", service.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_column("last_used_at")
