"""The Scrutiny and Cabinet pages: committees and meetings added by form (errors at their
fields), a meeting's report with its chart (the plotted points read back from the SVG and checked
against the report's figures), the same report as an A4 PDF read back by poppler, and as CSV."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.pages.helpers import error_summary, post_form, signed_in_as
from tests.builders import london

pytestmark = pytest.mark.sqlite_only


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def meeting_page(
    client: TestClient,
    engine: Engine,
    inspection_id: uuid.UUID,
    auth: Callable[..., dict[str, str]],
) -> str:
    """Two actions from 1 December, one done on the 3rd; scrutiny meets on the 10th."""
    api = auth("plan:write")
    url = f"/api/v1/inspections/{inspection_id}"
    with time_machine.travel(london(2026, 12, 1, 10), tick=False):
        plan = ok(
            client.post(f"{url}/action-plans", json={"title": "Leadership"}, headers=api), 201
        )
        rec = ok(
            client.post(
                f"{url}/action-plans/{plan['id']}/recommendations",
                json={"text": "Leaders know their front line."},
                headers=api,
            ),
            201,
        )
        action_ids = [
            ok(
                client.post(
                    f"{url}/recommendations/{rec['id']}/actions",
                    json={
                        "title": title,
                        "agency": "childrens-services",
                        "owner_contact_id": "twojcik",
                        "due_on": "2027-01-29",
                    },
                    headers=api,
                ),
                201,
            )["id"]
            for title in ("Monthly practice weeks", "Quarterly thematic audits")
        ]
    with time_machine.travel(london(2026, 12, 3, 15), tick=False):
        ok(client.patch(f"{url}/actions/{action_ids[0]}", json={"done": True}, headers=api))

    signed_in_as(client, engine, "coordinator")
    path = f"/inspections/{inspection_id}/scrutiny"
    refused = post_form(client, f"{path}/committees", {"name": "", "kind": "scrutiny"}, page=path)
    assert refused.status_code == 422
    assert error_summary(refused.text)[0][0] == "#name"
    added = post_form(
        client,
        f"{path}/committees",
        {"name": "Children's Services Scrutiny", "kind": "scrutiny"},
        page=path,
    )
    assert added.status_code == 303
    page = client.get(path).text
    committee_id = re.search(r'<option value="(\d+)">Children&#39;s Services Scrutiny', page)
    assert committee_id is not None, page
    form = {
        "committee_id": committee_id.group(1),
        "meets_on-day": "31",
        "meets_on-month": "2",
        "meets_on-year": "2027",
    }
    refused = post_form(client, f"{path}/meetings", form, page=path)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [
        ("#meets_on-day", "Date of the meeting must be a real date")
    ]
    added = post_form(
        client,
        f"{path}/meetings",
        form | {"meets_on-day": "10", "meets_on-month": "12", "meets_on-year": "2026"},
        page=path,
    )
    assert added.status_code == 303
    link = re.search(rf'href="({path}/meetings/\d+)"', client.get(path).text)
    assert link is not None
    return link.group(1)


def points(svg: str, key: str) -> list[tuple[float, float]]:
    """The vertices of one series' line, in drawing order."""
    group = re.search(rf'<g id="series-{key}">\s*<path d="([^"]+)"', svg)
    assert group is not None, f"no series {key} in the chart"
    return [(float(x), float(y)) for x, y in re.findall(r"[ML] ([\d.]+) ([\d.]+)", group.group(1))]


def test_the_report_page_draws_the_reports_own_figures(
    client: TestClient,
    meeting_page: str,
    auth: Callable[..., dict[str, str]],
    inspection_id: uuid.UUID,
) -> None:
    page = client.get(meeting_page)
    assert page.status_code == 200
    text = page.text
    summary = (
        "1 of 2 actions completed by 10 December 2026 (50%); 1 since the last meeting, 0 overdue."
    )
    assert summary in text
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert '<title id="completed-' in svg and f">{summary}</desc>" in svg
    assert 'role="img"' in svg and "Completed" in svg  # the legend is text, not paths

    meeting_id = meeting_page.rsplit("/", 1)[1]
    report = ok(
        client.get(
            f"/api/v1/inspections/{inspection_id}/committee-meetings/{meeting_id}/report",
            headers=auth("plan:read"),
        )
    )
    for key in ("actions", "completed"):
        values = [point[key] for point in report["over_time"]]
        drawn = points(svg, key)
        # A stepped line: the i-th day's level is the vertex 2i (the others close each step).
        assert len(drawn) == 2 * len(values) - 1
        levels = [drawn[2 * i][1] for i in range(len(values))]
        xs = [drawn[2 * i][0] for i in range(len(values))]
        assert xs == sorted(xs) and len(set(xs)) == len(values)
        # SVG's y grows downwards: one count is the same height everywhere on the chart.
        low, high = min(values), max(values)
        if low == high:
            assert len(set(levels)) == 1
            continue
        scale = (levels[values.index(low)] - levels[values.index(high)]) / (high - low)
        for value, level in zip(values, levels, strict=True):
            assert level == pytest.approx(
                levels[values.index(low)] - (value - low) * scale, abs=0.01
            )
    assert [p["completed"] for p in report["over_time"]] == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]


@pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils is not installed (scripts/test installs it as root; CI must have it)",
)
def test_the_report_prints_as_a4_with_its_chart_and_reads_back(
    client: TestClient, meeting_page: str, tmp_path: Path
) -> None:
    reply = client.get(f"{meeting_page}/report.pdf")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reply.content)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Action plan progress: Children's Services Scrutiny, 10 December 2026" in text
    assert "1 of 2 actions completed by 10 December 2026 (50%)" in text
    assert "Monthly practice weeks" in text and "Page 1 of" in text
    assert "Actions in the plans" in text  # the chart's legend, printed as text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    [png] = tmp_path.glob("p-*.png")
    header = png.read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert abs(height / width - 297 / 210) < 0.01
    if os.environ.get("SCREENSHOTS"):
        Path("test-output").mkdir(exist_ok=True)
        shutil.copy(pdf, Path("test-output") / "scrutiny-report.pdf")

    csv = client.get(f"{meeting_page}/report.csv")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("section,action_id,plan,action")
    assert [line.split(",")[0] for line in lines[1:]] == ["new", "new", "completed"]


def test_a_viewer_reads_reports_but_cannot_add_meetings(
    client: TestClient, engine: Engine, meeting_page: str, inspection_id: uuid.UUID
) -> None:
    client.cookies.clear()
    signed_in_as(client, engine, "viewer")
    assert client.get(meeting_page).status_code == 200
    path = f"/inspections/{inspection_id}/scrutiny"
    page = client.get(path).text
    assert "Add a committee" not in page
    refused = post_form(
        client, f"{path}/committees", {"name": "Cabinet", "kind": "cabinet"}, page=path
    )
    assert refused.status_code == 403
    assert client.get(f"{path}/meetings/99999").status_code == 404
