"""The fake as a process, for the benchmarks: `python tests/notify/fake_notify.py --port 8765`
prints one JSON line (base_url, api_key, template ids) and serves until stopped; drive it with
`FakeNotifyControl(base_url)`. `--ceiling URL` measures a running fake instead."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict

import uvicorn

from tests.notify.fake_notify.ceiling import measure_ceiling
from tests.notify.fake_notify.limits import DEFAULT_RATE_LIMIT
from tests.notify.fake_notify.server import (
    DEFAULT_EMAIL_TEMPLATE_ID,
    DEFAULT_KEY_NAME,
    DEFAULT_SECRET,
    DEFAULT_SERVICE_ID,
    DEFAULT_SMS_TEMPLATE_ID,
    FakeNotify,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    parser.add_argument("--service-id", default=DEFAULT_SERVICE_ID)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument("--email-template-id", default=DEFAULT_EMAIL_TEMPLATE_ID)
    parser.add_argument("--sms-template-id", default=DEFAULT_SMS_TEMPLATE_ID)
    parser.add_argument(
        "--ceiling", metavar="BASE_URL", help="measure a running fake instead of serving"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="with --ceiling: how long")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="added to every API answer (network round trip)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="with --ceiling: connections")
    parser.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=DEFAULT_RATE_LIMIT,
        help="the service's rate limit (Notify's default: 3,000 a minute per key type)",
    )
    args = parser.parse_args(argv)

    if args.ceiling:
        result = asyncio.run(
            measure_ceiling(
                args.ceiling,
                f"{DEFAULT_KEY_NAME}-{args.service_id}-{args.secret}",
                args.sms_template_id,
                seconds=args.seconds,
                concurrency=args.concurrency,
            )
        )
        print(json.dumps(asdict(result) | {"per_second": round(result.per_second, 1)}), flush=True)
        return 0

    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the fake serves on loopback addresses only")
    fake = FakeNotify(
        service_id=args.service_id,
        secret=args.secret,
        email_template_id=args.email_template_id,
        sms_template_id=args.sms_template_id,
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000,
        rate_limit_per_minute=args.rate_limit_per_minute,
    )
    sock = fake.bind()
    print(
        json.dumps(
            {
                "base_url": fake.base_url,
                "api_key": fake.api_key,
                "email_template_id": fake.email_template_id,
                "sms_template_id": fake.sms_template_id,
            }
        ),
        flush=True,
    )
    try:
        uvicorn.Server(fake.uvicorn_config()).run(sockets=[sock])
    finally:
        fake.stop()
    return 0
