"""The README's section for the intranet team works as written: its Python examples run, in
their own interpreter, against a real `inspection-week serve`, and the webhook receiver it shows
verifies a delivery the service really sent to a receiver on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.processes import Server, create_api_key, poll, server_env

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
MARK = "# intranet example: "


def examples() -> dict[str, str]:
    """The README's ```python blocks that begin with the mark, by the name after it."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    found = {
        block.splitlines()[0].removeprefix(MARK).strip(): block
        for block in blocks
        if block.startswith(MARK)
    }
    assert {"announce", "progress", "receive a webhook"} <= found.keys(), found.keys()
    return found


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = server_env(
        f"sqlite:///{tmp_path / 'inspection-week.db'}",
        webhook_allow_http="true",
        webhook_allow_private="true",
    )
    server = Server(env, tmp_path)
    try:
        yield server.start()
    finally:
        server.close()


def test_the_readme_examples_announce_read_progress_and_verify_a_real_delivery(
    server: Server, receiver: ThreadingHTTPServer, tmp_path: Path
) -> None:
    code = examples()
    key = create_api_key(server.env, tmp_path, "admin", name="intranet")
    subscribed = server.http.post(
        "/api/v1/webhooks",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "url": f"http://127.0.0.1:{receiver.server_address[1]}/hooks",
            "events": ["inspection.announced"],
        },
    )
    assert subscribed.status_code == 201, subscribed.text
    secret = subscribed.json()["secret"]

    script = tmp_path / "intranet.py"
    script.write_text(code["announce"] + "\n" + code["progress"], encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)],
        env={**server.env, "INSPECTION_WEEK_URL": server.url, "INSPECTION_WEEK_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    printed = run.stdout.splitlines()
    inspection_id = printed[0].split()[0]
    assert re.fullmatch(r"\d+ tasks; \d+ done", printed[-1]), printed

    body, headers = poll(
        lambda: next(iter(Receiver.received), None), timeout=60, what="a webhook delivery"
    )
    namespace: dict[str, object] = {}
    exec(compile(code["receive a webhook"], "README.md", "exec"), namespace)  # noqa: S102
    event = namespace["receive"](body, headers, secret)  # type: ignore[operator]
    assert event["type"] == "inspection.announced"
    assert event["data"]["id"] == inspection_id
    assert json.loads(body)["data"]["id"] == inspection_id

    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        namespace["receive"](body.replace(b"sif-2013", b"sif-2014"), headers, secret)  # type: ignore[operator]
