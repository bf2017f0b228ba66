"""Every table, imported in one place so that Alembic sees the whole schema."""

from service.actions.models import ActionPlan, ActionUpdate, Agency, PlanAction, Recommendation
from service.api.idempotency import IdempotentRequest
from service.api_keys import ApiKey
from service.audit_log import AuditEvent
from service.calendar.closures import ClosureDay
from service.calendar_feeds.models import CalendarFeed, PublishedEvent
from service.cascade.models import CascadeNode, SmsReply
from service.contacts.models import Contact
from service.improvement.models import BoardMeeting, ImprovementBoard
from service.inspections.models import Inspection, MilestoneRecord, TimetableOverride
from service.judgements.models import JudgementRecord
from service.notify.models import MediumPause, Message, MessageTemplate, UnreadCallback
from service.plan.models import AuditCase, RoleAssignment, Task, TaskComment
from service.scheduler.due import DueJob
from service.scrutiny.models import Committee, CommitteeMeeting
from service.secrets import AppSecret
from service.statement.models import ActionStatement
from service.timeline import TimelineEntry
from service.users.models import LoginAttempt, User, UserSession
from service.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "ActionPlan",
    "ActionUpdate",
    "Agency",
    "PlanAction",
    "Recommendation",
    "ActionStatement",
    "ApiKey",
    "AppSecret",
    "AuditCase",
    "AuditEvent",
    "CalendarFeed",
    "CascadeNode",
    "ClosureDay",
    "Contact",
    "BoardMeeting",
    "ImprovementBoard",
    "DueJob",
    "IdempotentRequest",
    "JudgementRecord",
    "MediumPause",
    "Message",
    "MessageTemplate",
    "PublishedEvent",
    "SmsReply",
    "UnreadCallback",
    "Inspection",
    "MilestoneRecord",
    "RoleAssignment",
    "Task",
    "TaskComment",
    "TimelineEntry",
    "TimetableOverride",
    "Committee",
    "CommitteeMeeting",
    "LoginAttempt",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
