"""Every table, imported in one place so that Alembic sees the whole schema."""

from service.api_keys import ApiKey
from service.audit import AuditEvent
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.idempotency import IdempotentRequest
from service.inspections.models import Inspection, MilestoneRecord, TimetableOverride
from service.notify.models import Message, MessageTemplate
from service.plan.models import AuditCase, RoleAssignment, Task, TaskComment
from service.scheduler.due import DueJob
from service.secrets import AppSecret
from service.timeline import TimelineEntry
from service.users.models import LoginAttempt, User, UserSession
from service.working_days import ClosureDay

__all__ = [
    "ApiKey",
    "AppSecret",
    "AuditCase",
    "AuditEvent",
    "CascadeNode",
    "ClosureDay",
    "Contact",
    "DueJob",
    "IdempotentRequest",
    "Message",
    "MessageTemplate",
    "Inspection",
    "MilestoneRecord",
    "RoleAssignment",
    "Task",
    "TaskComment",
    "TimelineEntry",
    "TimetableOverride",
    "LoginAttempt",
    "User",
    "UserSession",
]
