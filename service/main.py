"""The app factory and its lifespan (the scheduler starts and stops with the app).

Stopping (SIGTERM, as uvicorn hands it on): no new work is claimed; sends and webhook posts in
flight get SHUTDOWN_DRAIN_SECONDS to finish and be recorded; a message send still unfinished
then is handed back (queued, in doubt), so nothing is left `sending`; then the scheduler
stops. Only then does the process exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from service import frameworks, logs
from service.api import docs, openapi
from service.api.concurrency import RequestConcurrency
from service.api.errors import BodySizeLimit, UnexpectedErrors, install
from service.api.main import api_router
from service.api.pages import framework as pages
from service.api.rate_limit import KeyRateLimit
from service.cascade import flows as cascade_flows
from service.cascade import service as cascade
from service.config import Settings, get_settings
from service.db import make_engine
from service.improvement import flows as improvement_flows
from service.improvement import service as improvement
from service.inspections import flows as inspection_flows
from service.inspections import reminders as deadline_reminders
from service.notify.channels import build_channels, close_channels
from service.notify.dispatch import Dispatcher, build_limiters
from service.notify.models import DeliveryFailed, MediumPaused
from service.plan import definitions as plan_templates
from service.plan import flows as plan_flows
from service.plan import reminders as plan_reminders
from service.rules import Messaging, Rules
from service.scheduler.core import Scheduler
from service.scheduler.due import Handler
from service.webhooks import targets as webhook_targets
from service.webhooks.delivery import Deliverer

DESCRIPTION = """
When Ofsted phones to say inspectors arrive tomorrow, one call to `POST /api/v1/inspections`
computes the week 1-4 timetable and the statutory deadlines on England's working days and
schedules reminders ahead of each deadline.

Authenticate with an API key (`inspection-week api-keys create`) as `Authorization: Bearer <key>`.
Errors: 401 no or unknown key, 403 missing scope, 404 unknown id, 409 conflict, 422 bad input
with `detail[].loc` naming the field, 429 too many requests by one key (wait `Retry-After`
seconds).
"""


def build_rules(settings: Settings) -> Rules:
    registry = frameworks.Registry(frameworks.load_all(settings.frameworks_dir))
    improvement.check_frameworks(registry)
    return Rules(
        frameworks=registry,
        plans=plan_templates.PlanRegistry(plan_templates.load_all(registry, settings.plans_dir)),
        region=settings.bank_holiday_region,
        zone=settings.zone,
        messaging=Messaging(
            public_base_url=settings.public_base_url,
            council_name=settings.council_name,
            zone=settings.zone,
            ack_max_age_seconds=settings.ack_link_max_age_hours * 3600,
        ),
        steering_group=settings.steering_group,
    )


def build_handlers(rules: Rules) -> dict[str, Handler]:
    """Every kind of due row and what runs it, with this process's rules: the scheduler itself
    knows no domain."""
    handlers = {
        deadline_reminders.KIND: inspection_flows.remind_deadline,
        cascade.WINDOW_KIND: cascade_flows.window_closed,
        cascade.RELEASE_KIND: cascade_flows.release_due,
        plan_reminders.REMINDER_KIND: plan_flows.remind,
        plan_reminders.OVERDUE_KIND: plan_flows.escalate,
        plan_reminders.DIGEST_KIND: plan_flows.digest,
        improvement.MEETING_KIND: improvement_flows.remind_meeting,
    }
    return {kind: partial(handler, rules=rules) for kind, handler in handlers.items()}


def on_delivery_failure(rules: Rules) -> DeliveryFailed:
    """A message that can never be delivered: the cascade tries another way or escalates."""
    return partial(cascade_flows.message_failed, rules=rules)


def on_medium_paused(rules: Rules) -> MediumPaused:
    """A medium paused by a daily limit: the cascade reaches its waiting people another way."""
    return partial(cascade_flows.medium_paused, rules=rules)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    rules = build_rules(settings)  # an invalid framework file stops the start here
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    scheduler = Scheduler(
        engine,
        handlers=build_handlers(rules),
        tick_seconds=settings.scheduler_tick_seconds,
        enabled=settings.scheduler_enabled,
    )

    channels = build_channels(settings)  # a bad channel setting stops the start here
    on_failure = on_delivery_failure(rules)
    dispatcher = Dispatcher(
        engine,
        on_failure=on_failure,
        channels=channels,
        limiters=build_limiters(settings, channels),
        concurrency=settings.dispatch_concurrency,
        max_attempts=settings.message_max_attempts,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        on_pause=on_medium_paused(rules),
        status_poll=timedelta(minutes=settings.notify_status_poll_minutes),
    )
    webhooks = Deliverer(
        engine,
        policy=webhook_targets.Policy(
            allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private
        ),
        concurrency=settings.webhook_concurrency,
        lease=timedelta(seconds=settings.webhook_lease_seconds),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler.start()
        stop = asyncio.Event()
        drain = settings.shutdown_drain_seconds
        sending = (
            asyncio.create_task(dispatcher.run(stop, drain_seconds=drain))
            if settings.dispatcher_enabled
            else None
        )
        posting = (
            asyncio.create_task(webhooks.run(stop, drain_seconds=drain))
            if settings.webhooks_enabled
            else None
        )
        try:
            yield
        finally:
            stop.set()
            dispatcher.wake()
            webhooks.wake()
            if sending is not None:
                await sending
            if posting is not None:
                await posting
            await close_channels(channels)
            scheduler.shutdown()

    app = FastAPI(
        title="inspection-week",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by service.api.docs, from local files
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.rules = rules
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    app.state.webhooks = webhooks
    app.state.on_delivery_failure = on_failure
    app.state.key_rate_limit = KeyRateLimit(settings.api_rate_limit_per_minute)
    install(app)
    app.add_middleware(UnexpectedErrors, page=pages.server_error)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestConcurrency, limit=settings.request_concurrency)
    pages.install(app, settings)
    docs.install(app, settings)
    app.include_router(api_router)
    openapi.install(app)
    return app
