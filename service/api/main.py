"""The routers, joined."""

from fastapi import APIRouter

from service.api.routes import frameworks, health, inspections, working_days

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(inspections.router)
api_router.include_router(frameworks.router)
api_router.include_router(working_days.router)
