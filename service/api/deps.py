"""Dependencies as Annotated aliases, so a route's signature reads like a sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import api_keys
from service.config import Settings
from service.db import reader
from service.notify.models import DeliveryFailed
from service.rules import Rules

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

    @property
    def actor(self) -> str:
        return f"api-key:{self.name}"


def require(scope: str) -> Callable[..., Principal]:
    def check(
        session: ReadSessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "send an API key as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = api_keys.verify(session, credentials.credentials)
        if key is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not api_keys.grants(key.scopes, scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this API key lacks the {scope!r} scope"
            )
        return Principal(name=key.name, scopes=tuple(key.scopes))

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
