"""Security headers on every reply: pages may load scripts, styles, fonts and images from this
origin only (plus the one inline script GOV.UK Frontend's template needs, by nonce), may not be
framed, and send no Referer (an acknowledgement link carries its token in the path). Over https
the browser is told to use https only from then on (HSTS); whether a request came over https
behind a reverse proxy is uvicorn's to say, from the proxies FORWARDED_ALLOW_IPS trusts."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_DOCS = "/docs"
"""Swagger UI's stylesheet draws its icons as data: images; nothing else needs more."""
HSTS = "max-age=31536000"
"""A year; no includeSubDomains: other council services may share the domain."""


def content_security_policy(nonce: str, *, data_images: bool = False) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:" if data_images else "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


class SecurityHeaders:
    """Pure ASGI, so streamed replies (server-sent events) pass through untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        policy = content_security_policy(
            nonce, data_images=str(scope.get("path", "")).startswith(API_DOCS)
        )

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", HSTS)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, with_headers)
