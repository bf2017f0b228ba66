"""CSRF protection for every page form, with fastapi-csrf-protect (double-submit cookie: a
signed token in an HttpOnly cookie, the same token in a hidden form field; a form posted from
another site cannot read the cookie to copy the token).

Page routers made by `page_router()` check every POST, PUT, PATCH and DELETE. The JSON API
(Bearer keys, no cookies, so nothing for a forger to ride on), Notify's callbacks (their own
bearer token) and the public acknowledgement links (the signed link is the credential) are on
other routers and need no token.

A page reuses the token already in the browser's cookie, so two tabs of the service do not
invalidate each other's forms."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadData, URLSafeTimedSerializer

from service.api.pages.auth import MaybeSignedIn
from service.api.pages.signing import page_secret

FIELD = "csrf_token"
COOKIE = "iw_csrf"
MAX_AGE = timedelta(hours=24)
REUSE_FOR = MAX_AGE - timedelta(hours=4)
"""A page reuses a cookie younger than this, so a form shown has hours left to be sent."""
LIBRARY_SALT = "fastapi-csrf-token"
"""fastapi-csrf-protect's own salt; tests check that a reused token still validates."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@CsrfProtect.load_config
def _config() -> list[tuple[str, object]]:
    return [
        ("cookie_key", COOKIE),
        ("cookie_samesite", "lax"),
        ("token_location", "body"),
        ("token_key", FIELD),
        ("max_age", int(MAX_AGE.total_seconds())),
    ]


class CsrfRefused(Exception):
    """A state-changing page request without a valid token: a 403 page, nothing done."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _reusable(request: Request, secret: str) -> str | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        token = URLSafeTimedSerializer(secret, salt=LIBRARY_SALT).loads(
            cookie, max_age=int(REUSE_FOR.total_seconds())
        )
    except BadData:
        return None
    return token if isinstance(token, str) else None


def token_for(request: Request) -> str:
    """The token to put in this page's forms (made, and queued for the cookie, when the
    browser has none that is still good)."""
    token = getattr(request.state, "csrf_token", None)
    if token is not None:
        return token
    secret = page_secret(request)
    token = _reusable(request, secret)
    if token is None:
        token, signed = CsrfProtect().generate_csrf_tokens(secret)
        request.state.csrf_cookie = signed
    request.state.csrf_token = token
    return token


def set_cookie(request: Request, response: Response, *, secure: bool) -> None:
    signed = getattr(request.state, "csrf_cookie", None)
    if signed is not None:
        response.set_cookie(
            COOKIE,
            signed,
            max_age=int(MAX_AGE.total_seconds()),
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )


async def check(request: Request, _: MaybeSignedIn) -> None:
    """The dependency every page router carries. Who is signed in is looked up first, so that
    the refusal page shows them."""
    if request.method in SAFE_METHODS:
        return
    await request.form()  # parsed once and cached, where the library looks for the field
    try:
        await CsrfProtect().validate_csrf(request, secret_key=page_secret(request))
    except CsrfProtectError as exc:
        raise CsrfRefused(exc.message) from exc
    except ValueError as exc:  # a body the library cannot read at all
        raise CsrfRefused("the form could not be read") from exc
