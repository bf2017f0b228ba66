"""One-off messages shown on the next page after a redirect ("Your password has been changed"):
a short-lived signed cookie, so nothing is stored server-side and every replica can show it.
Never put a secret in one: a one-time password is rendered on the reply itself instead."""

from __future__ import annotations

from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from service.api.pages.signing import page_secret

COOKIE = "iw_flash"
MAX_AGE_SECONDS = 300
SALT = "inspection-week-flash"

Kind = Literal["success", "important"]


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(page_secret(request), salt=SALT)


def flash(
    request: Request, response: Response, text: str, *, kind: Kind = "success", secure: bool
) -> None:
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps({"text": text, "kind": kind}),
        max_age=MAX_AGE_SECONDS,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def pop(request: Request) -> dict[str, str] | None:
    """The waiting message, if any; `clear` then removes the cookie from the reply."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    request.state.flash_shown = True
    try:
        value = _serializer(request).loads(raw, max_age=MAX_AGE_SECONDS)
    except BadData:
        return None
    if not isinstance(value, dict) or value.get("kind") not in ("success", "important"):
        return None
    return {"text": str(value.get("text", "")), "kind": str(value["kind"])}


def clear(request: Request, response: Response) -> None:
    if getattr(request.state, "flash_shown", False):
        response.delete_cookie(COOKIE, path="/")
