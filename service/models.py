"""Every table, imported in one place so that Alembic sees the whole schema."""

from service.api_keys import ApiKey
from service.audit import AuditEvent
from service.idempotency import IdempotentRequest
from service.inspections.models import Inspection, MilestoneRecord, TimetableOverride
from service.scheduler.due import DueJob
from service.timeline import TimelineEntry
from service.working_days import ClosureDay

__all__ = [
    "ApiKey",
    "AuditEvent",
    "ClosureDay",
    "DueJob",
    "IdempotentRequest",
    "Inspection",
    "MilestoneRecord",
    "TimelineEntry",
    "TimetableOverride",
]
