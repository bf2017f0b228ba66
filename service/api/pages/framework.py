"""What every page group builds on. A new group of pages is one module with
`router = page_router()` (CSRF checked on every state-changing method), dependencies from
`auth` (`CurrentUser`, `require_permission(...)`) and `api.deps` (`ReadSessionDep` to read,
`SessionDep` to change), and `render(request, "x.html", {...})`; then one line in `site.py`
and, if it has a menu entry, one in `navigation.py`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.pages import assets, csrf
from service.api.pages.auth import (
    PageForbidden,
    PasswordChangeRequired,
    SignInRequired,
    change_password_url,
    login_url,
)
from service.api.pages.rendering import render
from service.api.pages.security import SecurityHeaders
from service.config import Settings

log = structlog.get_logger(__name__)


def page_router(**options: Any) -> APIRouter:
    """A router for HTML pages: out of the OpenAPI schema, CSRF-checked."""
    options.setdefault("include_in_schema", False)
    options.setdefault("default_response_class", HTMLResponse)
    return APIRouter(dependencies=[Depends(csrf.check)], **options)


def see_other(path: str) -> RedirectResponse:
    """After a form: 303, so the browser fetches the next page with GET."""
    return RedirectResponse(path, status_code=303)


def not_found(request: Request, what: str) -> HTMLResponse:
    return render(request, "not_found.html", {"what": what}, status_code=404)


def server_error(request: Request) -> HTMLResponse:
    """The page for a fault of ours: public (no navigation, no session read), so it renders
    whatever state the request was in when it failed."""
    return render(request, "server_error.html", public=True, status_code=500)


def install(app: FastAPI, settings: Settings) -> None:
    app.state.frontend_assets = assets.mount(app, settings)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> Response:
        return see_other(login_url(exc.next_path))

    @app.exception_handler(PasswordChangeRequired)
    async def _change_password(_: Request, exc: PasswordChangeRequired) -> Response:
        return see_other(change_password_url(exc.next_path))

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return render(request, "forbidden.html", {"needed": exc.needed}, status_code=403)

    @app.exception_handler(csrf.CsrfRefused)
    async def _csrf(request: Request, exc: csrf.CsrfRefused) -> Response:
        log.warning("csrf_refused", path=request.url.path, reason=exc.reason)
        return render(request, "csrf_refused.html", status_code=403)
