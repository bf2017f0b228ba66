"""Static files: GOV.UK Frontend straight from node_modules (installed by `npm ci`, never
copied into the repository) and this service's own few files.

GOV.UK Frontend's compiled stylesheet asks for its fonts and images at /assets/fonts and
/assets/images, so its `assets/` folder is served at /assets and the compiled CSS and JS at
/assets/frontend."""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.config import Settings

OWN_STATIC = Path(__file__).parent / "static"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FRONTEND = PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STYLESHEET = "govuk-frontend.min.css"


def frontend_dir(settings: Settings) -> Path:
    return settings.govuk_frontend_dir or DEFAULT_FRONTEND


def mount(app: FastAPI, settings: Settings) -> bool:
    """Mount the static folders; False (and a warning) when GOV.UK Frontend is missing, in
    which case the pages still work, unstyled, and say so."""
    app.mount("/static", StaticFiles(directory=OWN_STATIC), name="static")
    folder = frontend_dir(settings)
    if not (folder / STYLESHEET).is_file() or not (folder / "assets").is_dir():
        # A logger fetched now, not at import: it writes where logging is configured today.
        structlog.get_logger(__name__).warning(
            "govuk_frontend_missing",
            folder=str(folder),
            fix="run `npm ci` in the project folder (scripts/serve and scripts/test do)",
        )
        return False
    app.mount("/assets/frontend", StaticFiles(directory=folder), name="govuk-frontend")
    app.mount("/assets", StaticFiles(directory=folder / "assets"), name="govuk-assets")
    return True
