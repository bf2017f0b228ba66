"""`cascade.progress` and `cascade.completed`: the webhooks that tell the intranet how far the
tree has acknowledged, a tenth at a time."""

from __future__ import annotations

import sqlalchemy as sa

from service.cascade.models import CascadeNode
from service.cascade.run import Run
from service.webhooks import service as webhooks


def emit_progress(run: Run) -> None:
    """`cascade.progress` each time another tenth of the tree has acknowledged, and
    `cascade.completed` when everyone has: counted only when a subscription listens."""
    if not webhooks.listening(run.session, "cascade.progress", "cascade.completed"):
        return
    run.session.flush()
    inspection_id = run.inspection.id
    if run.session.get_bind().dialect.name == "postgresql":
        # Two replicas acknowledging at once would each count without the other's (uncommitted)
        # acknowledgement: both announce the same tenth and the next is never announced. One
        # lock per inspection, held to the commit, makes the second count after the first.
        # (SQLite has one writer at a time already.)
        run.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": int.from_bytes(inspection_id.bytes[:8], "big", signed=True)},
        )
    total, acknowledged = run.session.execute(
        sa.select(  # type: ignore[call-overload]
            sa.func.count(), sa.func.count(CascadeNode.acknowledged_at)
        ).where(CascadeNode.inspection_id == inspection_id)
    ).one()
    if not total:
        return
    tenth, before = acknowledged * 10 // total, (acknowledged - 1) * 10 // total
    if tenth == before:
        return
    data = {
        "inspection_id": str(inspection_id),
        "drill": run.inspection.drill,
        "acknowledged": acknowledged,
        "people": total,
        "percent": tenth * 10,
    }
    webhooks.emit(run.session, "cascade.progress", data, inspection_id, now=run.now)
    if acknowledged == total:
        webhooks.emit(run.session, "cascade.completed", data, inspection_id, now=run.now)
