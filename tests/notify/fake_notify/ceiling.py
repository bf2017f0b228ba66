"""How fast a running fake accepts sends: a bare load loop, no channel code in the way (the
benchmarks' ceiling)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from tests.notify.fake_notify.server import (
    DEFAULT_KEY_NAME,
    DEFAULT_SECRET,
    DEFAULT_SERVICE_ID,
    DEFAULT_SMS_TEMPLATE_ID,
)


@dataclass
class Ceiling:
    accepted: int
    refused: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


async def measure_ceiling(
    base_url: str,
    api_key: str = f"{DEFAULT_KEY_NAME}-{DEFAULT_SERVICE_ID}-{DEFAULT_SECRET}",
    sms_template_id: str = DEFAULT_SMS_TEMPLATE_ID,
    *,
    seconds: float = 2.0,
    concurrency: int = 16,
    max_requests: int = 50_000,
) -> Ceiling:
    """Send valid SMS requests as fast as `concurrency` connections allow, for at most `seconds`
    (capped at 60) and `max_requests`; count the 201s. Bare: one token a second, a fixed body, no
    channel code in the way."""
    seconds = min(max(seconds, 0.1), 60.0)
    service_id, secret = api_key[-73:-37], api_key[-36:]
    payload = json.dumps(
        {
            "phone_number": "07700 900123",
            "template_id": sms_template_id,
            "personalisation": {"body": "Ceiling measurement: Ofsted inspection notified."},
            "reference": "ceiling",
        }
    ).encode()
    tokens: dict[int, str] = {}

    def token() -> str:
        second = int(time.time())
        if second not in tokens:
            tokens.clear()
            tokens[second] = jwt.encode(
                {"iss": service_id, "iat": second}, secret, algorithm="HS256"
            )
        return tokens[second]

    counts = {"accepted": 0, "refused": 0, "started": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as client:
        start = time.monotonic()
        deadline = start + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and counts["started"] < max_requests:
                counts["started"] += 1
                response = await client.post(
                    "/v2/notifications/sms",
                    content=payload,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token()}",
                    },
                )
                counts["accepted" if response.status_code == 201 else "refused"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - start
    return Ceiling(counts["accepted"], counts["refused"], elapsed)


def ceiling(base_url: str, **kwargs: Any) -> float:
    """Accepted sends per second a running fake sustains (see `measure_ceiling`)."""
    return asyncio.run(measure_ceiling(base_url, **kwargs)).per_second


def _sequential_worker(
    base_url: str,
    api_key: str,
    sms_template_id: str,
    ready: Any,
    seconds: float,
    out: Any,
    connections: int = 1,
) -> None:
    """One process: `connections` threads, each a plain loop over its own kept-alive connection
    (http.client, the cheapest client the standard library has), from when every worker is
    ready (`ready`, a barrier) until `seconds` later; puts (accepted, refused). Threads, so
    that a fake answering after a delay is not measured by the delay alone."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    service_id, secret = api_key[-73:-37], api_key[-36:]
    target = urlsplit(base_url)
    payload = json.dumps(
        {
            "phone_number": "07700 900123",
            "template_id": sms_template_id,
            "personalisation": {"body": "Ceiling measurement: Ofsted inspection notified."},
            "reference": "ceiling",
        }
    ).encode()
    counts = [0, 0]
    tokens: dict[int, str] = {}

    def loop() -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        while (moment := time.time()) < deadline:
            second = int(moment)
            token = tokens.get(second) or tokens.setdefault(
                second, jwt.encode({"iss": service_id, "iat": second}, secret, algorithm="HS256")
            )
            connection.request(
                "POST",
                "/v2/notifications/sms",
                body=payload,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            response = connection.getresponse()
            response.read()
            counts[0 if response.status == 201 else 1] += 1
        connection.close()

    threads = [threading.Thread(target=loop) for _ in range(max(1, connections))]
    ready.wait()
    deadline = time.time() + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((counts[0], counts[1]))


def measure_ceiling_processes(
    base_url: str,
    api_key: str = f"{DEFAULT_KEY_NAME}-{DEFAULT_SERVICE_ID}-{DEFAULT_SECRET}",
    sms_template_id: str = DEFAULT_SMS_TEMPLATE_ID,
    *,
    seconds: float = 5.0,
    processes: int = 2,
    connections: int = 2,
) -> Ceiling:
    """The fake's ceiling with the load side out of the way: `processes` worker processes, each
    with plain sequential loops on `connections` connections in all, all starting together. One
    event loop driving many httpx connections runs out of CPU long before the fake does (it
    measured less than one sequential loop), so its figure said more about the client than about
    the server. The fake is the same process the service sends to, every request checked as
    Notify checks it (JWT, schema, limits), so nothing is skipped to make it fast."""
    import multiprocessing

    seconds = min(max(seconds, 0.1), 60.0)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    ready = context.Barrier(processes + 1)  # every worker started before the clock runs
    share = max(1, -(-connections // processes))
    workers = [
        context.Process(
            target=_sequential_worker,
            args=(base_url, api_key, sms_template_id, ready, seconds, out, share),
            daemon=True,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=60)
    results = [out.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    return Ceiling(sum(a for a, _ in results), sum(r for _, r in results), seconds)
