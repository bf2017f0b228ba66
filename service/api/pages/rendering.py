"""Rendering pages: one Jinja2 environment (this folder's templates and GOV.UK Frontend's
macros from govuk-frontend-jinja) and `render`, which adds what every page's layout needs: the
signed-in user, the CSRF token, the navigation, a waiting flash message and the CSP nonce."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.api.pages import csrf, flash, navigation
from service.api.pages.auth import cookies_secure
from service.users.permissions import Permission, can

SERVICE_NAME = "inspection-week"
TIME_PATTERN = "%-d %B %Y, %-I:%M%p"

environment = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
            jinja2.PrefixLoader(
                {"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}
            ),
        ]
    ),
    autoescape=True,
)

templates = Jinja2Templates(env=environment)


@jinja2.pass_context
def local_time(context: jinja2.runtime.Context, value: Any, pattern: str = TIME_PATTERN) -> str:
    """A stored UTC moment in the service's zone (Europe/London): `17 November 2026, 10:30am`."""
    if value is None:
        return ""
    zone = context.get("zone") or ZoneInfo("Europe/London")
    text = value.astimezone(zone).strftime(pattern)
    return text.replace("AM", "am").replace("PM", "pm")


environment.filters["local_time"] = local_time


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    public: bool = False,
) -> HTMLResponse:
    """A page in the service's layout. `public` pages (acknowledgement links) show no
    navigation and no signed-in state, whoever opens them."""
    settings = request.app.state.settings
    user = None if public else getattr(request.state, "user", None)
    values: dict[str, Any] = {
        "service_name": SERVICE_NAME,
        "organisation": settings.council_name[:1].upper() + settings.council_name[1:],
        "user": user,
        "can": (lambda permission: user is not None and can(user.role, Permission(permission))),
        "navigation": navigation.items_for(user, request.url.path),
        "csrf_field": csrf.FIELD,
        # Public pages (acknowledgement links) have no form that needs one, so no cookie either.
        "csrf_token": None if public else csrf.token_for(request),
        "flash": flash.pop(request),
        "assets_missing": not getattr(request.app.state, "frontend_assets", False),
        "cspNonce": getattr(request.state, "csp_nonce", None),
        "htmlLang": "en-GB",
        "assetPath": "/assets",
        "public": public,
        "zone": settings.zone,
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    secure = cookies_secure(settings)
    csrf.set_cookie(request, response, secure=secure)
    flash.clear(request, response)
    # Pages show people's names and numbers: keep them out of shared caches and the
    # back-button cache after signing out.
    response.headers["Cache-Control"] = "no-store"
    return response
