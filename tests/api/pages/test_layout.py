"""What every page shares: the GOV.UK Frontend files served from node_modules (and a plain
notice when they are missing), security headers, the home page, and acknowledgement pages that
show no signed-in state."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.main import create_app
from service.rules import Rules
from tests.api.pages.helpers import signed_in_as
from tests.builders import make_inspection
from tests.conftest import make_settings

pytestmark = pytest.mark.sqlite_only

MakeClient = Callable[..., TestClient]


def frontend_folder(root: Path) -> Path:
    """A stand-in for node_modules/govuk-frontend/dist/govuk, laid out the same way."""
    (root / "assets" / "fonts").mkdir(parents=True)
    (root / "govuk-frontend.min.css").write_text("body{margin:0}")
    (root / "govuk-frontend.min.js").write_text("export function initAll(){}")
    (root / "assets" / "fonts" / "bold.woff2").write_bytes(b"wOF2")
    return root


@pytest.fixture
def app_with(engine: Engine, database_url: str) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(**values: object) -> TestClient:
        client = TestClient(create_app(make_settings(database_url=database_url, **values), engine))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_gov_uk_frontend_is_served_from_its_folder(app_with: MakeClient, tmp_path: Path) -> None:
    client = app_with(govuk_frontend_dir=frontend_folder(tmp_path / "govuk"))
    assert client.get("/assets/frontend/govuk-frontend.min.css").text == "body{margin:0}"
    assert client.get("/assets/fonts/bold.woff2").content == b"wOF2"
    assert client.get("/static/init.mjs").status_code == 200
    page = client.get("/login").text
    assert 'href="/assets/frontend/govuk-frontend.min.css"' in page
    assert 'src="/static/init.mjs"' in page and "npm ci" not in page


def test_without_gov_uk_frontend_the_pages_still_work_and_say_why_they_look_plain(
    app_with: MakeClient, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    client = app_with(govuk_frontend_dir=tmp_path / "missing")
    assert "govuk_frontend_missing" in capfd.readouterr().err
    page = client.get("/login")
    assert page.status_code == 200
    assert "Run <code>npm ci</code>" in page.text
    assert "govuk-frontend.min.css" not in page.text
    assert client.get("/assets/frontend/govuk-frontend.min.css").status_code == 404


def test_the_real_gov_uk_frontend_when_installed(client: TestClient, settings: Settings) -> None:
    from service.api.pages.assets import frontend_dir

    if not (frontend_dir(settings) / "govuk-frontend.min.css").is_file():
        pytest.skip("node_modules is not installed (scripts/test runs npm ci)")
    css = client.get("/assets/frontend/govuk-frontend.min.css")
    assert css.status_code == 200 and "govuk-" in css.text
    for font in re.findall(r"url\((/assets/fonts/[^)]+)\)", css.text):
        assert client.get(font).status_code == 200, font


def test_pages_carry_security_headers_and_the_inline_script_its_nonce(client: TestClient) -> None:
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None and f'<script nonce="{nonce.group(1)}">' in page.text
    assert page.text.count("<script") == 2  # the template's one-liner and the module file
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/login").headers["content-security-policy"] != csp  # a nonce per reply


def test_hsts_is_sent_over_https_only(client: TestClient) -> None:
    """Over plain http the header would be ignored at best; on a development machine served
    over http it must not stick."""
    over_https = TestClient(client.app, base_url="https://testserver")

    assert over_https.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    assert over_https.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in client.get("/login").headers


def swagger_ui_folder(root: Path) -> Path:
    """A stand-in for node_modules/swagger-ui-dist: the two files the page loads."""
    root.mkdir(parents=True)
    (root / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    (root / "swagger-ui.css").write_text(".swagger-ui{margin:0}")
    return root


@pytest.mark.parametrize(
    "path", ["/docs", "/docs/", "/docs/assets/swagger-ui.css", "/openapi.json"]
)
def test_the_api_documentation_is_served_under_the_page_policy(
    app_with: MakeClient, tmp_path: Path, path: str
) -> None:
    client = app_with(swagger_ui_dir=swagger_ui_folder(tmp_path / "swagger-ui"))

    reply = client.get(path)

    assert reply.status_code == 200, reply.text
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_the_api_documentation_loads_swagger_ui_from_this_service_only(
    app_with: MakeClient, tmp_path: Path
) -> None:
    client = app_with(swagger_ui_dir=swagger_ui_folder(tmp_path / "swagger-ui"))

    page = client.get("/docs").text

    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/docs/assets/") for source in sources), sources
    assert "<script>" not in page, "no inline script: the policy allows none without a nonce"
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.text == "window.SwaggerUIBundle = function () {};"
    assert "/openapi.json" in client.get("/docs/assets/init.js").text
    assert client.get("/docs/assets/index.html").status_code == 404, "only the files it needs"
    assert client.get("/redoc").status_code == 404, "ReDoc needs inline styles: not offered"


def test_without_swagger_ui_the_documentation_page_says_why(
    app_with: MakeClient, tmp_path: Path
) -> None:
    client = app_with(swagger_ui_dir=tmp_path / "missing")

    page = client.get("/docs")

    assert page.status_code == 200
    assert "npm ci" in page.text and 'href="/openapi.json"' in page.text
    assert "<script" not in page.text


def test_the_real_swagger_ui_when_installed(client: TestClient, settings: Settings) -> None:
    from service.api.docs import swagger_ui_dir

    if not (swagger_ui_dir(settings) / "swagger-ui-bundle.js").is_file():
        pytest.skip("node_modules is not installed (scripts/test runs npm ci)")
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200


def test_the_home_page_links_to_the_live_inspection(
    client: TestClient, engine: Engine, session: Session, rules: Rules
) -> None:
    signed_in_as(client, engine, "lead")
    home = client.get("/")
    assert "No inspection is live" in home.text and 'href="/announce"' in home.text
    make_inspection(
        session, rules, notified_at=datetime(2026, 11, 17, 10, 30, tzinfo=UTC), drill=True
    )
    assert "No inspection is live" in client.get("/").text  # a drill is not live
    live = make_inspection(session, rules, notified_at=datetime(2026, 11, 18, 10, 30, tzinfo=UTC))
    home = client.get("/")
    assert f'href="/inspections/{live.id}"' in home.text
    assert "18 November 2026, 10:30am" in home.text and "Harriet Oyelaran" in home.text


def test_a_viewer_is_not_offered_the_announce_button(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "viewer")
    assert 'href="/announce"' not in client.get("/").text


def test_an_acknowledgement_page_shows_no_signed_in_state(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "admin")
    page = client.get("/ack/not-a-real-link")
    assert page.status_code == 404 and "This link is not valid" in page.text
    assert "Sign out" not in page.text and "Signed in as" not in page.text
    assert "govuk-service-navigation__list" not in page.text
    assert "iw_csrf" not in page.headers.get("set-cookie", "")  # no form, no token
