"""The callbacks Notify makes to a service: delivery receipts and received text messages, POSTed
with the service's bearer token, retried when the service could not take them.

Sources: alphagov/notifications-api app/celery/service_callback_tasks.py
(`send_delivery_status_to_service`: the receipt's fields; `_send_data_to_service_callback_api`:
`timeout=5`, retried only for a network error, a 5xx or a 429, never another 4xx; `max_retries=5,
default_retry_delay=300`), app/celery/process_sms_client_response_tasks.py and
app/delivery/send_to_providers.py (which status changes queue a receipt),
app/celery/nightly_tasks.py with app/dao/notifications_dao.py (`timeout_notifications`,
`dao_timeout_notifications`) and app/config.py (`SENDING_NOTIFICATIONS_TIMEOUT_PERIOD = 259200`,
the task's 00:05 schedule)."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

RECEIPT_STATUSES = frozenset({"delivered", "permanent-failure", "temporary-failure"})
"""Statuses a receipt is POSTed for. Provider callbacks queue one for every status but `pending`
(process_sms_client_response_tasks.py; email receipts only ever carry these three), and moving to
`sending`, or to `sent` for an international number, queues none (send_to_providers.py
`update_notification_to_sending`). `technical-failure` is what Notify records when it could not
hand the message to a provider at all (provider_tasks.py, after its retries), and that path queues
no receipt either; an unknown provider status can also end there with one, but that is the rare
case, so the fake never sends a receipt for it: a service must not wait for one."""

TIMEOUT_SECONDS = 259_200
"""72 hours: a message with no final status by then becomes `temporary-failure`."""
TIMEOUT_RUN = (0, 5)
"""`timeout-sending-notifications` runs once a night at 00:05 and times out what was created more
than 72 hours before the run. Celery beat's timezone was not established here; UTC is taken, which
is never earlier than London time."""

CALLBACK_TIMEOUT_SECONDS = 5.0
CALLBACK_MAX_RETRIES = 5
CALLBACK_RETRY_DELAY_SECONDS = 300.0


def text(moment: float) -> str:
    """Notify's timestamps: '2026-11-18T09:47:10.123456Z'."""
    return datetime.fromtimestamp(moment, UTC).strftime(DATETIME_FORMAT)


def timed_out_at(created_at: float) -> float:
    """When the nightly task would move a message created at `created_at` that never got a final
    status: the first 00:05 run more than 72 hours later."""
    due = datetime.fromtimestamp(created_at + TIMEOUT_SECONDS, UTC)
    run = due.replace(hour=TIMEOUT_RUN[0], minute=TIMEOUT_RUN[1], second=0, microsecond=0)
    if run <= due:
        run += timedelta(days=1)
    return run.timestamp()


def receipt_body(api: dict[str, Any]) -> dict[str, Any]:
    """The delivery receipt for a notification as GET /v2/notifications/{id} shows it: exactly the
    fields `send_delivery_status_to_service` sends. `to` is the recipient as the service wrote it,
    `completed_at` the time of the last status change."""
    return {
        "id": api["id"],
        "reference": api["reference"],
        "to": api["email_address"] or api["phone_number"],
        "status": api["status"],
        "created_at": api["created_at"],
        "completed_at": api["completed_at"],
        "sent_at": api["sent_at"],
        "notification_type": api["type"],
        "template_id": api["template"]["id"],
        "template_version": api["template"]["version"],
    }


@dataclass
class CallbackAttempt:
    """One POST the fake made to a service's callback URL."""

    url: str
    body: dict[str, Any]
    attempt: int  # 0 for the first try, then 1..max_retries
    status: int | None  # the service's answer, or None when there was none
    error: str | None
    retried: bool
    at: float


class Scheduler:
    """Runs small jobs on one background thread at given monotonic times."""

    def __init__(self) -> None:
        self._jobs: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._running = 0
        self._thread: threading.Thread | None = None
        self._stopped = False

    def after(self, delay: float, job: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._jobs, (time.monotonic() + delay, next(self._order), job))
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="fake-notify-callbacks", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def idle(self) -> bool:
        with self._wake:
            return not self._jobs and not self._running

    def clear(self) -> None:
        with self._wake:
            self._jobs.clear()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._jobs.clear()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._stopped = False

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._jobs or self._jobs[0][0] > time.monotonic()):
                    timeout = self._jobs[0][0] - time.monotonic() if self._jobs else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._jobs)
                self._running += 1
            try:
                job()
            finally:
                with self._wake:
                    self._running -= 1


class CallbackSender:
    """POSTs callback bodies as `_send_data_to_service_callback_api` does, and keeps every attempt.
    `retry_delay` is Notify's 300 seconds unless a test shortens it; `max_retries` its 5."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        retry_delay: float = CALLBACK_RETRY_DELAY_SECONDS,
        max_retries: int = CALLBACK_MAX_RETRIES,
        timeout: float = CALLBACK_TIMEOUT_SECONDS,
    ):
        self._scheduler = scheduler
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self.timeout = timeout
        self._lock = threading.Lock()
        self._attempts: list[CallbackAttempt] = []

    def send(self, url: str, token: str, body: dict[str, Any], delay: float = 0.0) -> None:
        self._scheduler.after(delay, lambda: self._post(url, token, body, 0))

    def attempts(self) -> list[CallbackAttempt]:
        with self._lock:
            return list(self._attempts)

    def forget(self) -> None:
        with self._lock:
            self._attempts.clear()

    def _post(self, url: str, token: str, body: dict[str, Any], attempt: int) -> None:
        status: int | None = None
        error: str | None = None
        try:
            response = httpx.post(
                url,
                content=json.dumps(body),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
            status = response.status_code
            retry = status >= 500 or status == 429
            if 400 <= status < 500 and not retry:
                error = f"{status}: not retried"
        except httpx.HTTPError as exc:  # requests.RequestException that is not an HTTPError
            error = f"{type(exc).__name__}: {exc}"
            retry = True
        retry = retry and attempt < self.max_retries
        with self._lock:
            self._attempts.append(
                CallbackAttempt(url, body, attempt, status, error, retry, time.time())
            )
        if retry:
            self._scheduler.after(
                self.retry_delay, lambda: self._post(url, token, body, attempt + 1)
            )
