"""Dependencies as Annotated aliases, so a route's signature reads like a sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from service import api_keys
from service.api.rate_limit import KeyRateLimit
from service.config import Settings
from service.db import reader, utcnow
from service.notify.models import DeliveryFailed
from service.rules import Rules

log = structlog.get_logger(__name__)

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer iw_...`")


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_read_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(reader(engine), expire_on_commit=False) as session:
        yield session


def get_rules(request: Request) -> Rules:
    return request.app.state.rules


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_delivery_failed(request: Request) -> DeliveryFailed:
    return request.app.state.on_delivery_failure


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
"""For routes that only read: never holds SQLite's writer lock."""
RulesDep = Annotated[Rules, Depends(get_rules)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DeliveryFailedDep = Annotated[DeliveryFailed, Depends(get_delivery_failed)]
"""What a delivery receipt that says "failed" sets off (wired in main.py)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling; recorded as the actor of every change they make."""

    name: str
    scopes: tuple[str, ...]
    key_id: int | None = None

    @property
    def actor(self) -> str:
        return f"api-key:{self.name}"


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def record_use(engine: Engine, key_id: int, now: datetime) -> None:
    """A short write of its own, before the route's own work: never inside the request's read
    session (on SQLite, turning a read into a write fails at once with "database is locked"
    when another write came first), and never after the route, whose write session may still
    hold the writer's lock until the response is sent. It waits for another request's write
    like any write; should that take longer than the busy timeout, the request goes on and the
    time is written on a later request."""
    try:
        with Session(engine) as session:
            api_keys.touch(session, key_id, now=now)
            session.commit()
    except SQLAlchemyError:
        log.warning("api_key_last_used_not_recorded", key_id=key_id, exc_info=True)


def authorise(
    request: Request,
    security_scopes: SecurityScopes,
    session: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> Principal:
    """The API key behind the request, if it is known, not revoked, within its rate limit and
    holds every scope the route asks for (see `require`)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorised("send an API key as `Authorization: Bearer <key>`")
    key = api_keys.verify(session, credentials.credentials)
    if key is None or key.id is None:
        raise _unauthorised("unknown or revoked API key")
    limit: KeyRateLimit = request.app.state.key_rate_limit
    wait = limit.admit(key.id)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"this API key made more than {limit.per_minute} requests in a minute; "
            f"try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    for scope in security_scopes.scopes:
        if not api_keys.grants(key.scopes, scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key lacks the {scope!r} scope"
            )
    now = utcnow()
    if api_keys.touch_due(key, now=now):
        record_use(engine, key.id, now)
    return Principal(name=key.name, scopes=tuple(key.scopes), key_id=key.id)


def require(scope: str) -> Callable[..., Principal]:
    """The dependency of a route that needs `scope`. It asks for the key through a Security
    dependency, so the scope is written into the route's OpenAPI entry
    (`security: [{"HTTPBearer": [scope]}]`), where the docs and the scope tests read it."""

    def check(principal: Principal) -> Principal:
        return principal

    # Set here, not in the signature: postponed annotations could not see `scope`.
    check.__annotations__["principal"] = Annotated[Principal, Security(authorise, scopes=[scope])]
    return check


InspectionsReader = Annotated[Principal, Depends(require("inspections:read"))]
InspectionsWriter = Annotated[Principal, Depends(require("inspections:write"))]
ContactsReader = Annotated[Principal, Depends(require("contacts:read"))]
ContactsWriter = Annotated[Principal, Depends(require("contacts:write"))]
TemplatesReader = Annotated[Principal, Depends(require("templates:read"))]
TemplatesWriter = Annotated[Principal, Depends(require("templates:write"))]
PlanReader = Annotated[Principal, Depends(require("plan:read"))]
"""Tasks, roles and the case audit."""
PlanWriter = Annotated[Principal, Depends(require("plan:write"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def nudge(request: Request) -> None:
    """Rows due now were just committed: let this process's scheduler and dispatcher look at
    once rather than at their next poll (other replicas find them on theirs)."""
    request.app.state.scheduler.wake()
    request.app.state.dispatcher.wake()
    webhooks = getattr(request.app.state, "webhooks", None)
    if webhooks is not None:
        webhooks.wake()
