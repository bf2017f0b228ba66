"""Printable reports: the one path every PDF the service makes goes through.

A report is a standalone print template (A4, the council's name at the top of each page, the time
it was made and page numbers at the bottom) rendered by WeasyPrint. Nothing is fetched while
rendering (styles are inline, no images by address), so a report can neither reach the network
nor read a file; at most two are drawn at once, so a burst of downloads cannot starve the
pages."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from service.api.pages.rendering import SERVICE_NAME, environment

_AT_ONCE = threading.BoundedSemaphore(2)


def pdf(template: str, context: dict[str, Any]) -> bytes:
    """WeasyPrint is imported here, not with the pages: it needs Pango from the system, and a
    machine without it should still serve everything but the PDFs."""
    from weasyprint import HTML, URLFetcher

    html = environment.get_template(template).render(context)
    with _AT_ONCE:
        return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def pdf_response(
    request: Request, template: str, context: dict[str, Any], *, filename: str, made: datetime
) -> Response:
    """`template` extends `print_layout.html`; `made` is shown on every page."""
    settings = request.app.state.settings
    values = {
        "service_name": SERVICE_NAME,
        "organisation": settings.council_name[:1].upper() + settings.council_name[1:],
        "zone": settings.zone,  # `local_time` reads it, as on the pages
        "made": made,
        **context,
    }
    return Response(
        content=pdf(template, values),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
