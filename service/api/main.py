"""The routers, joined."""

from fastapi import APIRouter

from service.api.pages.site import router as pages_router
from service.api.routes import (
    action_plans,
    action_statement,
    api_keys,
    audit_cases,
    calendar_feeds,
    cascade,
    contacts,
    frameworks,
    health,
    history,
    improvement,
    inspections,
    judgements,
    notify_callbacks,
    outbox,
    roles,
    scrutiny,
    tasks,
    templates,
    webhooks,
    working_days,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(inspections.router)
api_router.include_router(cascade.router)
api_router.include_router(frameworks.router)
api_router.include_router(working_days.router)
api_router.include_router(contacts.router)
api_router.include_router(templates.router)
api_router.include_router(outbox.router)
api_router.include_router(notify_callbacks.router)
api_router.include_router(tasks.router)
api_router.include_router(roles.router)
api_router.include_router(audit_cases.router)
api_router.include_router(api_keys.router)
api_router.include_router(calendar_feeds.router)
api_router.include_router(calendar_feeds.feed_router)
api_router.include_router(judgements.router)
api_router.include_router(action_statement.router)
api_router.include_router(action_plans.router)
api_router.include_router(history.router)
api_router.include_router(scrutiny.router)
api_router.include_router(improvement.router)
api_router.include_router(webhooks.router)
api_router.include_router(pages_router)
