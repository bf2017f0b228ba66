"""Every page group, joined. A new group goes in PAGE_GROUPS (made with `page_router()`, so its
forms are CSRF-checked; the tests walk this list to check that every state-changing page route
refuses a post without a token, and a viewer)."""

from fastapi import APIRouter

from service.api.pages import (
    account,
    ack,
    action_plan_pages,
    announce,
    api_keys_pages,
    calendar_pages,
    case_audit_pages,
    contacts_pages,
    dashboard,
    history_pages,
    home,
    judgements_pages,
    login,
    outbox_pages,
    records,
    roles_pages,
    scrutiny_pages,
    settings_pages,
    statement_pages,
    task_done,
    tasks_pages,
    templates_pages,
    users,
    webhooks_pages,
)

PAGE_GROUPS: tuple[APIRouter, ...] = (
    home.router,
    login.router,
    account.router,
    users.router,
    api_keys_pages.router,
    announce.router,
    dashboard.router,
    records.router,
    settings_pages.router,
    contacts_pages.router,
    templates_pages.router,
    outbox_pages.router,
    tasks_pages.router,
    roles_pages.router,
    case_audit_pages.router,
    calendar_pages.router,
    judgements_pages.router,
    statement_pages.router,
    action_plan_pages.router,
    history_pages.router,
    scrutiny_pages.router,
    webhooks_pages.router,
)
PUBLIC_GROUPS: tuple[APIRouter, ...] = (ack.router, task_done.router)
"""Pages reached from a message without signing in; their links are their credentials."""

router = APIRouter()
for group in (*PAGE_GROUPS, *PUBLIC_GROUPS):
    router.include_router(group)
