"""The app factory and its lifespan (the scheduler starts and stops with the app)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from service import frameworks, logs
from service.api.errors import BodySizeLimit, install
from service.api.main import api_router
from service.api.pages import framework as pages
from service.cascade.service import Messaging
from service.config import Settings, get_settings
from service.db import make_engine
from service.inspections.service import Rules
from service.notify.channels import build_channels, close_channels
from service.notify.dispatch import Dispatcher, build_limiters
from service.plan import templates as plan_templates
from service.scheduler.core import Scheduler
from service.scheduler.jobs import build_handlers

DESCRIPTION = """
When Ofsted phones to say inspectors arrive tomorrow, one call to `POST /api/v1/inspections`
computes the week 1-4 timetable and the statutory deadlines on England's working days and
schedules reminders ahead of each deadline.

Authenticate with an API key (`inspection-week api-keys create`) as `Authorization: Bearer <key>`.
Errors: 401 no or unknown key, 403 missing scope, 404 unknown id, 409 conflict, 422 bad input
with `detail[].loc` naming the field.
"""


def build_rules(settings: Settings) -> Rules:
    registry = frameworks.Registry(frameworks.load_all(settings.frameworks_dir))
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
    )


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    rules = build_rules(settings)  # an invalid framework file stops the start here
    engine = engine or make_engine(settings.database_url)
    scheduler = Scheduler(
        engine,
        handlers=build_handlers(rules),
        tick_seconds=settings.scheduler_tick_seconds,
        enabled=settings.scheduler_enabled,
    )

    channels = build_channels(settings)  # a bad channel setting stops the start here
    dispatcher = Dispatcher(
        engine,
        rules=rules,
        channels=channels,
        limiters=build_limiters(settings, channels),
        concurrency=settings.dispatch_concurrency,
        max_attempts=settings.message_max_attempts,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler.start()
        stop = asyncio.Event()
        sending = asyncio.create_task(dispatcher.run(stop)) if settings.dispatcher_enabled else None
        try:
            yield
        finally:
            stop.set()
            dispatcher.wake()
            if sending is not None:
                await sending
            await close_channels(channels)
            scheduler.shutdown()

    app = FastAPI(
        title="inspection-week",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.rules = rules
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    pages.install(app, settings)
    app.include_router(api_router)
    return app
