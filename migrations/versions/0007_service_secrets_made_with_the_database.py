"""the service's own keys are made with the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 08:00:00.000000

The key that signs acknowledgement links and the key that signs the pages' cookies used to be
made by whichever request first needed one. The first to need the link key can be a read-only
page, whose transaction on SQLite may not upgrade to a write while the announce that sent the
link still holds the writer's lock. Made here, they exist before any request runs; the service
still makes any key that is missing (service.secrets.get_or_create), so a database whose keys
were deleted recovers.

Downgrading leaves the keys: older code reads them the same way.
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The names service.signed_links and service.api.pages.signing read; copied, not imported, so
# that this migration means the same thing whatever those modules become.
KEY_NAMES = ("ack-link-key", "page_signing_key")

app_secret = sa.table(
    "app_secret",
    sa.column("name", sa.String),
    sa.column("value", sa.String),
    sa.column("created_at", service.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    connection = op.get_bind()
    present = set(connection.execute(sa.select(app_secret.c.name)).scalars())
    now = datetime.now(UTC)
    missing = [
        {"name": name, "value": secrets.token_urlsafe(32), "created_at": now}
        for name in KEY_NAMES
        if name not in present
    ]
    if missing:
        op.bulk_insert(app_secret, missing)


def downgrade() -> None:
    pass
