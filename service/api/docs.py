"""The interactive API documentation at /docs: Swagger UI from swagger-ui-dist in node_modules
(installed by `npm ci` like GOV.UK Frontend), never from a CDN, so the page lives under the same
Content-Security-Policy as every other. ReDoc is not offered: its styles are injected inline."""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import escape

from service.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SWAGGER_UI = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
OWN_FILES = Path(__file__).parent / "docs_static"
FILES = {
    "swagger-ui-bundle.js": None,
    "swagger-ui.css": None,
    "init.js": OWN_FILES,
}
"""The only files served under /docs/assets, and the folder each comes from (None: Swagger UI's)."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"""

MISSING = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - API documentation</title></head>
<body>
<h1>API documentation</h1>
<p>Swagger UI is not installed: run <code>npm ci</code> in the project folder
(scripts/serve and scripts/test do). The OpenAPI schema is at
<a href="/openapi.json">/openapi.json</a>.</p>
</body>
</html>
"""


def swagger_ui_dir(settings: Settings) -> Path:
    return settings.swagger_ui_dir or DEFAULT_SWAGGER_UI


def install(app: FastAPI, settings: Settings) -> None:
    """Add /docs and its files; the app is made with FastAPI's own docs and ReDoc turned off."""
    folder = swagger_ui_dir(settings)
    installed = all((folder / name).is_file() for name, own in FILES.items() if own is None)
    if not installed:
        structlog.get_logger(__name__).warning(
            "swagger_ui_missing",
            folder=str(folder),
            fix="run `npm ci` in the project folder (scripts/serve and scripts/test do)",
        )
    page = (PAGE if installed else MISSING).format(title=escape(app.title))
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @router.get("/docs/assets/{name}")
    def docs_file(name: str) -> FileResponse:
        if name not in FILES or not installed:
            raise HTTPException(status_code=404)
        return FileResponse((FILES[name] or folder) / name)

    app.include_router(router)
