"""The case audit report as a page and as a PDF: both grades per case and how the senior moved
them, the moderation counts, the findings grouped by kind; the PDF read back by poppler's
`pdftotext` and drawn by `pdftoppm`, as a printer would."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.plan.models import AuditCase
from tests.api.pages.helpers import post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only

STRENGTH = "Direct work with the child is recorded at every visit."
IMPROVE = "Plans are adult-focused; the child's voice is missing."
GOOD = "The chronology was kept up to date by the team manager."


def record(client: TestClient, path: str, case_id: uuid.UUID, **fields: str) -> None:
    reply = post_form(client, f"{path}/cases/{case_id}", fields, page=path)
    assert reply.status_code == 303, reply.text


@pytest.fixture
def audited(client: TestClient, engine: Engine, inspection_id: uuid.UUID) -> str:
    """Three cases: one agreed, one lowered by the senior, one not yet audited."""
    signed_in_as(client, engine, "coordinator")
    path = f"/inspections/{inspection_id}/audit"
    reply = post_form(
        client,
        f"{path}/cases",
        {"references": "CIN-004512\nLAC/2013/0042\nCP12345", "auditor_contact_id": "twojcik"},
        page=path,
    )
    assert reply.status_code == 303
    with Session(engine) as session:
        ids = {case.reference: case.id for case in session.exec(select(AuditCase)).all()}
    for reference, first, senior in (
        ("CIN-004512", "good", "good"),
        ("LAC/2013/0042", "good", "inadequate"),
    ):
        people = {"auditor_contact_id": "twojcik", "reauditor_contact_id": "hoyelaran"}
        record(client, path, ids[reference], status="audited", first_tier_grade=first, **people)
        record(
            client,
            path,
            ids[reference],
            status="re_audited",
            first_tier_grade=first,
            grade=senior,
            **people,
        )
    record(
        client,
        path,
        ids["CIN-004512"],
        status="findings_reported",
        first_tier_grade="good",
        grade="good",
        strengths=STRENGTH,
        good_practice=GOOD,
        auditor_contact_id="twojcik",
        reauditor_contact_id="hoyelaran",
    )
    record(
        client,
        path,
        ids["LAC/2013/0042"],
        status="re_audited",
        first_tier_grade="good",
        grade="inadequate",
        areas_for_improvement=IMPROVE,
        auditor_contact_id="twojcik",
        reauditor_contact_id="hoyelaran",
    )
    return path


def test_the_report_page_shows_both_grades_the_moderation_and_the_findings_by_kind(
    client: TestClient, audited: str
) -> None:
    page = client.get(f"{audited}/report")
    assert page.status_code == 200
    text = page.text
    assert (
        "agreed with the first-tier grade in 1 of 2 cases (50%), raised it in 0 and lowered it in 1"
        in text
    )
    assert "Lowered 2 grades" in text  # good → inadequate skips requires improvement
    strengths = text.index(">Strengths<")
    areas = text.index(">Areas for improvement<")
    practice = text.index(">Good practice<")
    assert (
        strengths
        < text.index(STRENGTH)
        < areas
        < text.index(IMPROVE.replace("'", "&#39;"))
        < practice
        < text.index(GOOD)
    )
    assert f'href="{audited}/report.pdf"' in text


def test_the_findings_are_hidden_from_people_who_do_not_read_the_audit(
    client: TestClient, engine: Engine, audited: str
) -> None:
    client.cookies.clear()
    signed_in_as(client, engine, "viewer")
    for suffix in ("/report", "/report.pdf"):
        reply = client.get(audited + suffix)
        assert reply.status_code == 403
        assert STRENGTH not in reply.text


@pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils is not installed (scripts/test installs it as root; CI must have it)",
)
def test_the_pdf_is_a4_with_the_council_the_time_page_numbers_and_the_findings(
    client: TestClient, audited: str, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    reply = client.get(f"{audited}/report.pdf")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.headers["content-disposition"].startswith('inline; filename="audit-report-')
    assert reply.content.startswith(b"%PDF-")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reply.content)

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "Case audit report" in flat
    assert "The council · inspection-week" in flat
    assert "Page 1 of" in flat
    assert f"Made {before.astimezone(ZoneInfo('Europe/London')).strftime('%-d %B %Y')}" in flat
    assert "CIN-004512" in flat and "LAC/2013/0042" in flat and "CP12345" in flat
    assert STRENGTH in flat and IMPROVE in flat and GOOD in flat
    assert "Lowered 2 grades" in flat

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info  # A4 in points

    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    if os.environ.get("SCREENSHOTS"):
        shutil.copy(pdf, Path("test-output") / "audit-report.pdf")
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages, "pdftoppm drew no page"
    header = pages[0].read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert abs(height / width - 297 / 210) < 0.01  # portrait A4
