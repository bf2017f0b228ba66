"""A deadline's reminder to the steering group of an inspection: the people of level 1 of its
cascade, on every channel that reaches them now."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from service.cascade.models import CascadeNode
from service.cascade.run import Run
from service.notify.models import Purpose
from service.notify.templates.render import format_day


def remind_steering_group(run: Run, payload: dict[str, Any]) -> int:
    """A deadline reminder to everyone in the steering group of the inspection."""
    nodes = run.session.exec(
        select(CascadeNode).where(
            CascadeNode.inspection_id == run.inspection.id, CascadeNode.level == 1
        )
    ).all()
    count = 0
    for node in nodes:
        contact = run.contact(node.contact_id)
        if contact is None or not contact.active:
            continue
        for medium, address in run.reachable(contact).items():
            run.outbox.enqueue(
                person=contact,
                medium=medium,
                address=address,
                purpose=Purpose.reminder,
                dedupe=f"{contact.id}:{Purpose.reminder}:{payload['deadline']}:{payload['working_days_before']}",
                priority=1,
                values={
                    "deadline": {
                        "label": payload["label"],
                        "due": format_day(date.fromisoformat(payload["due"])),
                        "working_days_before": payload["working_days_before"],
                    }
                },
            )
            count += 1
    run.flush()
    return count
