"""Liveness and readiness, for load balancers and the Docker HEALTHCHECK; no key needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])

READY = {
    "database": "ok",
    "scheduler": {
        "enabled": True,
        "running": True,
        "leader": True,
        "last_tick_at": "2026-11-17T10:30:05+00:00",
        "last_error": None,
    },
    "status": "ready",
}
READINESS = {
    "type": "object",
    "required": ["database", "scheduler", "status"],
    "properties": {
        "database": {"type": "string"},
        "scheduler": {"type": "object"},
        "status": {"type": "string", "enum": ["ready", "not ready"]},
    },
}


@router.get(
    "/healthz",
    summary="The process answers",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and the scheduler is in the state configured",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "Ready",
            "content": {"application/json": {"schema": READINESS, "example": READY}},
        },
        503: {
            "description": "Not ready (a load balancer's answer, not an API error): what is not",
            "content": {
                "application/json": {
                    "schema": READINESS,
                    "example": {
                        **READY,
                        "database": "unreachable: OperationalError",
                        "status": "not ready",
                    },
                }
            },
        },
    },
)
def readyz(request: Request) -> JSONResponse:
    body: dict[str, Any] = {}
    ready = True
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as exc:
        ready = False
        body["database"] = f"unreachable: {type(exc).__name__}"
    state = request.app.state.scheduler.state()
    body["scheduler"] = {
        "enabled": state.enabled,
        "running": state.running,
        "leader": state.leader,
        "last_tick_at": state.last_tick_at.isoformat() if state.last_tick_at else None,
        "last_error": state.last_error,
    }
    if state.enabled and not state.running:
        ready = False
    body["status"] = "ready" if ready else "not ready"
    return JSONResponse(status_code=200 if ready else 503, content=body)
