"""Driving a fake that runs as a separate process: the `/_fake/...` routes it serves beside the API,
and `FakeNotifyControl`, the client that calls them with the names `FakeNotify` uses in-process."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from tests.notify.fake_notify.server import FakeNotify


def control_routes(fake: FakeNotify) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "ok": True,
                "base_url": fake.base_url,
                "api_key": fake.api_key,
                "email_template_id": fake.email_template_id,
                "sms_template_id": fake.sms_template_id,
            }
        )

    async def notifications(request: Request) -> Response:
        return JSONResponse({"notifications": [asdict(n) for n in fake.notifications()]})

    async def requests(request: Request) -> Response:
        return JSONResponse({"requests": [asdict(r) for r in fake.requests()]})

    async def simulated(request: Request) -> Response:
        return JSONResponse({"simulated": fake.simulated()})

    async def callback_attempts(request: Request) -> Response:
        return JSONResponse({"attempts": [asdict(a) for a in fake.callback_attempts()]})

    async def reset(request: Request) -> Response:
        fake.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        spec = await request.json()
        kind, times = spec.get("kind"), int(spec.get("times", 1))
        if kind == "rate_limit":
            fake.rate_limit(times)
        elif kind == "daily_limit":
            fake.daily_limit(times)
        elif kind == "server_error":
            fake.server_error(times, status=int(spec.get("status", 500)))
        elif kind == "slow":
            fake.slow(times, delay=float(spec.get("delay", 1.0)))
        else:
            return JSONResponse({"error": f"unknown fault kind {kind!r}"}, status_code=400)
        return JSONResponse({"ok": True, "pending": fake.pending_faults()})

    async def reject(request: Request) -> Response:
        spec = await request.json()
        fake.reject_recipient(spec["recipient"], spec.get("message"), spec.get("error"))
        return JSONResponse({"ok": True})

    async def clock(request: Request) -> Response:
        spec = await request.json()
        if "offset" in spec:
            fake.set_clock_offset(float(spec["offset"]))
        if "advance" in spec:
            fake.advance_clock(float(spec["advance"]))
        if "at" in spec:
            fake.set_clock(float(spec["at"]))
        return JSONResponse({"ok": True, "now": fake.now()})

    async def status(request: Request) -> Response:
        spec = await request.json()
        try:
            receipt = fake.set_status(spec["id"], spec["status"])
        except KeyError:
            return JSONResponse({"error": "no such notification"}, status_code=404)
        return JSONResponse({"receipt": receipt})

    async def keys(request: Request) -> Response:
        spec = await request.json()
        return JSONResponse({"api_key": fake.add_api_key(spec.get("key_type", "live"))})

    async def settings(request: Request) -> Response:
        fake.configure(**(await request.json()))
        return JSONResponse({"ok": True})

    async def callbacks(request: Request) -> Response:
        spec = await request.json()
        setter = fake.set_inbound_callback if spec.get("kind") == "inbound" else None
        (setter or fake.set_delivery_callback)(spec.get("url"), spec.get("bearer_token", ""))
        return JSONResponse({"ok": True})

    return [
        Route("/_fake/health", health, methods=["GET"]),
        Route("/_fake/notifications", notifications, methods=["GET"]),
        Route("/_fake/requests", requests, methods=["GET"]),
        Route("/_fake/simulated", simulated, methods=["GET"]),
        Route("/_fake/callback-attempts", callback_attempts, methods=["GET"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/faults", faults, methods=["POST"]),
        Route("/_fake/reject", reject, methods=["POST"]),
        Route("/_fake/clock", clock, methods=["POST"]),
        Route("/_fake/status", status, methods=["POST"]),
        Route("/_fake/keys", keys, methods=["POST"]),
        Route("/_fake/settings", settings, methods=["POST"]),
        Route("/_fake/callbacks", callbacks, methods=["POST"]),
    ]


class FakeNotifyControl:
    """The control methods of `FakeNotify`, for a fake running as a separate process."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def health(self) -> dict[str, Any]:
        return self._ok(self._client.get("/_fake/health"))

    def reset(self) -> None:
        self._ok(self._client.post("/_fake/reset"))

    def rate_limit(self, times: int = 1) -> None:
        self._fault(kind="rate_limit", times=times)

    def daily_limit(self, times: int = 1) -> None:
        self._fault(kind="daily_limit", times=times)

    def server_error(self, times: int = 1, status: int = 500) -> None:
        self._fault(kind="server_error", times=times, status=status)

    def slow(self, times: int = 1, delay: float = 1.0) -> None:
        self._fault(kind="slow", times=times, delay=delay)

    def reject_recipient(
        self, recipient: str, message: str | None = None, error: str | None = None
    ) -> None:
        self._post("/_fake/reject", recipient=recipient, message=message, error=error)

    reject_number = reject_recipient

    def set_clock_offset(self, seconds: float) -> None:
        self._post("/_fake/clock", offset=seconds)

    def advance_clock(self, seconds: float) -> None:
        self._post("/_fake/clock", advance=seconds)

    def set_clock(self, moment: float) -> None:
        self._post("/_fake/clock", at=moment)

    def set_status(self, notification_id: str, status: str) -> dict[str, Any] | None:
        return self._post("/_fake/status", id=notification_id, status=status)["receipt"]

    def add_api_key(self, key_type: str = "live") -> str:
        return self._post("/_fake/keys", key_type=key_type)["api_key"]

    def configure(self, **changes: Any) -> None:
        self._post("/_fake/settings", **changes)

    def set_delivery_callback(self, url: str | None, bearer_token: str = "") -> None:
        self._post("/_fake/callbacks", kind="delivery", url=url, bearer_token=bearer_token)

    def set_inbound_callback(self, url: str | None, bearer_token: str = "") -> None:
        self._post("/_fake/callbacks", kind="inbound", url=url, bearer_token=bearer_token)

    def notifications(self) -> list[dict[str, Any]]:
        """Every stored notification: {'api': <what GET returns>, 'personalisation', ...}."""
        return self._ok(self._client.get("/_fake/notifications"))["notifications"]

    def simulated(self) -> list[dict[str, Any]]:
        return self._ok(self._client.get("/_fake/simulated"))["simulated"]

    def requests(self) -> list[dict[str, Any]]:
        return self._ok(self._client.get("/_fake/requests"))["requests"]

    def callback_attempts(self) -> list[dict[str, Any]]:
        return self._ok(self._client.get("/_fake/callback-attempts"))["attempts"]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FakeNotifyControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fault(self, **spec: Any) -> None:
        self._post("/_fake/faults", **spec)

    def _post(self, path: str, **spec: Any) -> Any:
        return self._ok(
            self._client.post(path, json={k: v for k, v in spec.items() if v is not None})
        )

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()
