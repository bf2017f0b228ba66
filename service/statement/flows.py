"""Publishing the statement: its stage and the `action_statement_published` milestone together,
so the deadline is met on the day it was published and its reminders stop."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Session

from service.errors import InvalidInput
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.service import require_open
from service.rules import Rules
from service.statement import service
from service.statement.models import ActionStatement


def publish(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    published_on: date,
    url: str,
    actor: str,
    now: datetime,
) -> ActionStatement:
    require_open(session, inspection_id, what="its statement of action")
    row = service.mark_published(
        session,
        inspection_id=inspection_id,
        published_on=published_on,
        url=url,
        actor=actor,
        now=now,
    )
    try:
        inspection_flows.record_milestone(
            session,
            rules=rules,
            inspection_id=inspection_id,
            key=Milestone.action_statement_published,
            day=published_on,
            actor=actor,
            now=now,
        )
    except InvalidInput as exc:  # its fields are the milestone's; here the date is published_on
        raise InvalidInput("published_on", exc.message) from exc
    return row
