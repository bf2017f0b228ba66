"""two-tier case audit: the first-tier grade beside the senior re-audit's, findings by kind

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 01:30:00

`grade` stays the senior re-audit's grade (the moderated one); `findings` stays a free summary
beside strengths, areas for improvement and good practice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("first_tier_grade", 64),
    ("strengths", 2000),
    ("areas_for_improvement", 2000),
    ("good_practice", 2000),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_case") as batch:
        for name, length in COLUMNS:
            batch.add_column(
                sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True)
            )


def downgrade() -> None:
    with op.batch_alter_table("audit_case") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
