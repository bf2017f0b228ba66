"""Notify's v2 error answer: `{"status_code": N, "errors": [{"error": ..., "message": ...}]}`.

alphagov/notifications-api app/v2/errors.py (`to_dict_v2`, `register_errors`). No header of any kind
goes with it: Notify's error handlers return `jsonify(...)` and a status, never `Retry-After`."""

from __future__ import annotations

from starlette.responses import JSONResponse


class NotifyError(Exception):
    """Raised anywhere in a request; `response()` is what Notify would answer."""

    def __init__(self, status: int, errors: list[tuple[str, str]]):
        super().__init__(f"{status} {errors}")
        self.status = status
        self.errors = errors

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "status_code": self.status,
                "errors": [{"error": e, "message": m} for e, m in self.errors],
            },
            status_code=self.status,
        )


def bad_request(message: str, error: str = "BadRequestError", status: int = 400) -> NotifyError:
    return NotifyError(status, [(error, message)])
