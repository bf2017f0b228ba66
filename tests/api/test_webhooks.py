"""The webhooks API: subscriptions made, listed, changed and deleted with an admin key; bad URLs
refused naming `url`; ping, replay and a rotated secret reach a real receiver, verified with the
`standardwebhooks` package."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service.main import create_app
from tests.conftest import make_settings
from tests.webhooks.receiver import Receiver, receiving

URL = "/api/v1/webhooks"
TARGET = "https://127.0.0.1:9/hooks"
"""Never delivered to in these tests (no worker runs); a literal address needs no DNS."""
PUBLIC = "https://93.184.215.14/hooks"
"""A public address (no connection is made): allowed by the deployed settings."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def hooks_client(database_url: str, engine: Engine) -> Iterator[TestClient]:
    """The app with its webhook worker running (loopback and http allowed, as in tests)."""
    settings = make_settings(database_url=database_url, webhooks_enabled=True)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def strict_client(database_url: str, engine: Engine) -> Iterator[TestClient]:
    """The app as deployed: https only, no private addresses."""
    settings = make_settings(
        database_url=database_url, webhook_allow_http=False, webhook_allow_private=False
    )
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


def wait_for(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("waited in vain")


def create(client: TestClient, admin: dict[str, str], url: str, **extra: object) -> dict:
    body = {"url": url, "events": ["task.created", "inspection.announced"], **extra}
    response = client.post(URL, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_shows_a_standard_webhooks_secret_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    made = create(client, admin, TARGET, description="Banner")
    assert set(made) == {"id", "url", "events", "secret"}
    assert made["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(made["secret"].removeprefix("whsec_"))) <= 32
    read = client.get(f"{URL}/{made['id']}", headers=admin).json()
    assert "secret" not in read and read["description"] == "Banner" and read["enabled"] is True


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://intranet.example.org/hooks", "https"),
        ("ftp://intranet.example.org/hooks", "https"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://localhost/hooks", "loopback"),
        ("https://[::1]/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
        ("https://user:pw@intranet.example.org/hooks", "password"),
    ],
)
@pytest.mark.sqlite_only
def test_bad_urls_are_refused_naming_url(
    strict_client: TestClient, admin: dict[str, str], url: str, reason: str
) -> None:
    response = strict_client.post(URL, json={"url": url, "events": ["ping"]}, headers=admin)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "url"]
    assert reason in detail["msg"]


@pytest.mark.sqlite_only
def test_a_public_https_url_is_accepted_as_deployed(
    strict_client: TestClient, admin: dict[str, str]
) -> None:
    assert create(strict_client, admin, PUBLIC)["url"] == PUBLIC


def test_unknown_events_are_refused_naming_events(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(URL, json={"url": TARGET, "events": ["task.made"]}, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_only_an_admin_key_manages_webhooks(
    client: TestClient, admin: dict[str, str], auth: Callable[..., dict[str, str]]
) -> None:
    made = create(client, admin, TARGET)
    writer = auth("inspections:write", "plan:write", "contacts:write")
    for method, path in [
        ("post", URL),
        ("get", URL),
        ("get", f"{URL}/{made['id']}"),
        ("patch", f"{URL}/{made['id']}"),
        ("delete", f"{URL}/{made['id']}"),
        ("post", f"{URL}/{made['id']}/rotate-secret"),
        ("get", f"{URL}/{made['id']}/deliveries"),
        ("post", f"{URL}/{made['id']}/deliveries/1/replay"),
        ("post", f"{URL}/{made['id']}/ping"),
    ]:
        body = {"url": TARGET, "events": ["ping"]}
        kwargs = {"json": body} if method in ("post", "patch") else {}
        assert getattr(client, method)(path, headers=writer, **kwargs).status_code == 403
        assert getattr(client, method)(path, **kwargs).status_code == 401


def test_list_pages_with_a_cursor_and_patch_and_delete(
    client: TestClient, admin: dict[str, str]
) -> None:
    ids = [create(client, admin, f"{TARGET}/{n}")["id"] for n in range(3)]
    first = client.get(URL, params={"limit": 2}, headers=admin).json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    rest = client.get(URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin)
    assert [item["id"] for item in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None
    assert client.get(URL, params={"cursor": "nonsense!"}, headers=admin).status_code == 422

    changed = client.patch(
        f"{URL}/{ids[0]}", json={"events": ["task.overdue"], "enabled": False}, headers=admin
    )
    assert changed.status_code == 200
    assert changed.json()["events"] == ["task.overdue"] and changed.json()["enabled"] is False
    bad = client.patch(f"{URL}/{ids[0]}", json={"url": "http://x.example.org"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "url"]
    assert client.delete(f"{URL}/{ids[0]}", headers=admin).status_code == 204
    assert client.get(f"{URL}/{ids[0]}", headers=admin).status_code == 404
    assert client.delete(f"{URL}/{ids[0]}", headers=admin).status_code == 404


def test_ping_replay_and_rotate_reach_the_receiver_verifiably(
    hooks_client: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    made = create(hooks_client, admin, receiver.url)
    hook = f"{URL}/{made['id']}"
    ping = hooks_client.post(f"{hook}/ping", headers=admin)
    assert ping.status_code == 202 and ping.json()["type"] == "ping"
    wait_for(lambda: len(receiver.accepted) == 1)
    first = receiver.accepted[0]
    payload = Webhook(made["secret"]).verify(first.body, first.headers)
    assert payload["type"] == "ping" and payload["data"]["webhook_id"] == made["id"]
    assert first.id == ping.json()["event_id"]

    def log() -> list[dict]:
        return hooks_client.get(f"{hook}/deliveries", headers=admin).json()["items"]

    wait_for(lambda: log()[0]["status"] == "succeeded")
    (delivery,) = log()
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["last_status"] == 204 and delivery["next_attempt_at"] is None

    rotated = hooks_client.post(f"{hook}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != made["secret"]

    replay = hooks_client.post(f"{hook}/deliveries/{delivery['id']}/replay", headers=admin)
    assert replay.status_code == 202
    wait_for(lambda: len(receiver.accepted) == 2)
    again = receiver.accepted[1]
    assert again.id == first.id and again.body == first.body  # the same event, the same id
    Webhook(new_secret).verify(again.body, again.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(again.body, again.headers)
    missing = hooks_client.post(f"{hook}/deliveries/999/replay", headers=admin)
    assert missing.status_code == 404


def test_the_delivery_log_pages_newest_first(client: TestClient, admin: dict[str, str]) -> None:
    made = create(client, admin, TARGET)
    events = [client.post(f"{URL}/{made['id']}/ping", headers=admin).json() for _ in range(3)]
    page = client.get(f"{URL}/{made['id']}/deliveries", params={"limit": 2}, headers=admin).json()
    assert [d["id"] for d in page["items"]] == [events[2]["id"], events[1]["id"]]
    rest = client.get(
        f"{URL}/{made['id']}/deliveries",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=admin,
    ).json()
    assert [d["id"] for d in rest["items"]] == [events[0]["id"]]
    assert rest["items"][0]["status"] == "pending" and rest["items"][0]["next_attempt_at"]
