"""The cascade over time: the database's minute-by-minute figures agree with the row-by-row
reach times, the dashboard, its fragment and the rehearsal report draw exactly those figures,
and the summary sentence above says them in words."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.cascade import compared, over_time, progress
from service.cascade import counts as cascade_counts
from service.inspections import service
from service.plan import tasks as plan_tasks
from service.plan.models import Task
from service.rules import Rules
from tests.api.pages.helpers import signed_in_as
from tests.api.pages.test_dashboard import CALL, THURSDAY_WEEK_3, deliver_all, step
from tests.api.pages.test_dashboard import people as people  # noqa: F401  (a fixture)
from tests.api.pages.test_dashboard import settings as settings  # noqa: F401  (a fixture)
from tests.builders import make_inspection


def points(svg: str, key: str) -> list[tuple[float, float]]:
    group = re.search(rf'<g id="series-{key}">\s*<path d="([^"]+)"', svg)
    assert group is not None, f"no series {key} in the chart"
    return [(float(x), float(y)) for x, y in re.findall(r"[ML] ([\d.]+) ([\d.]+)", group.group(1))]


def assert_drawn(svg: str, key: str, xs: list[int], values: list[int]) -> None:
    """A stepped line: vertex 2i is the i-th point; x and y are each one linear scale."""
    drawn = points(svg, key)
    assert len(drawn) == 2 * len(values) - 1
    vertices = [drawn[2 * i] for i in range(len(values))]
    for axis, figures in ((0, xs), (1, values)):
        at = [v[axis] for v in vertices]
        low, high = min(figures), max(figures)
        if low == high:
            assert len(set(at)) == 1
            continue
        scale = (at[figures.index(high)] - at[figures.index(low)]) / (high - low)
        for figure, where in zip(figures, at, strict=True):
            assert where == pytest.approx(at[figures.index(low)] + (figure - low) * scale, abs=0.01)


def chart_of(page: str) -> str:
    start = page.index('<svg id="cascade-over-time-')
    return page[start : page.index("</svg>", start)]


def test_the_minutes_counted_by_the_database_match_the_row_by_row_reach_times(
    engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    with Session(engine) as fresh:
        empty = over_time.over_time(fresh, drill.id, start=drill.created_at)
    assert empty.total == 5 and empty.reached[-1] == 0
    assert empty.summary() == "0 of 5 people reached so far; 0% acknowledged within 15 minutes."
    deliver_all(engine, rules, CALL + timedelta(minutes=1, seconds=10))
    step(engine, rules, drill, "sg-lead", CALL + timedelta(minutes=3, seconds=59), "ack")
    step(engine, rules, drill, "sg-dcs", CALL + timedelta(minutes=16), "escalate")
    deliver_all(engine, rules, CALL + timedelta(minutes=17))
    step(engine, rules, drill, "people", CALL + timedelta(minutes=18), "ack")
    with Session(engine) as fresh:
        inspection = service.get(fresh, drill.id)
        figures = over_time.over_time(fresh, drill.id, start=inspection.created_at)
        views = progress._views(fresh, inspection.id)
    start = drill.created_at

    def minute(moment):  # noqa: ANN001, ANN202
        return int((moment - start).total_seconds() // 60)

    reached = {}
    acked = {}
    for view in views:
        if view.reached_at is not None:
            reached[minute(view.reached_at)] = reached.get(minute(view.reached_at), 0) + 1
        if view.node.acknowledged_at is not None:
            at = minute(view.node.acknowledged_at)
            acked[at] = acked.get(at, 0) + 1
    assert figures.reached_buckets == reached
    assert figures.acknowledged_buckets == acked
    assert acked == {3: 1, 18: 1}
    # Cumulative at the end of each minute in which something happened.
    assert figures.minutes == [0, 2, 4, 18, 19]
    assert figures.reached == [0, 2, 2, 4, 4]
    assert figures.acknowledged == [0, 0, 1, 1, 2]
    # The steering group apart: both its people reached in minute 1, its lead acknowledged in
    # minute 3, its other member escalated, never acknowledging.
    assert figures.steering_total == 2
    assert figures.steering_reached == [0, 2, 2, 2, 2]
    assert figures.steering_acknowledged == [0, 0, 1, 1, 1]
    assert {m.key: m.minute for m in figures.markers} == {"window": 15.0, "escalation": 16.0}
    with Session(engine) as fresh:
        live = over_time.over_time(
            fresh, drill.id, start=start, now=start + timedelta(minutes=40, seconds=5)
        )
        later = over_time.over_time(fresh, drill.id, start=start, now=start + timedelta(hours=5))
    # While the morning goes on, the lines run flat to the present minute; hours later, no.
    assert live.minutes[-1] == 41 and live.reached[-1] == 4
    assert later.minutes == figures.minutes
    # "staff" was never messaged: not everyone is reached.
    assert figures.summary() == "4 of 5 people reached so far; 20% acknowledged within 15 minutes."


def test_the_dashboard_fragment_and_report_draw_the_databases_figures(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    signed_in_as(client, engine, "viewer")
    before = client.get(f"/inspections/{drill.id}").text
    assert "0 of 5 people reached so far" in before
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    step(engine, rules, drill, "sg-lead", CALL + timedelta(minutes=2), "ack")
    step(engine, rules, drill, "sg-dcs", CALL + timedelta(minutes=5), "ack")
    deliver_all(engine, rules, CALL + timedelta(minutes=6))
    for who, at in (("people", 7), ("partners", 9)):
        step(engine, rules, drill, who, CALL + timedelta(minutes=at), "ack")
    deliver_all(engine, rules, CALL + timedelta(minutes=10))
    step(engine, rules, drill, "staff", CALL + timedelta(minutes=21), "ack")
    with Session(engine) as fresh:
        figures = over_time.over_time(fresh, drill.id, start=drill.created_at)
    assert figures.summary() == (
        "All 5 people reached in 11 minutes; 80% acknowledged within 15 minutes."
    )
    paths = (
        f"/inspections/{drill.id}",
        f"/inspections/{drill.id}/cascade-chart",
        f"/inspections/{drill.id}/report",
    )
    for path in paths:
        reply = client.get(path)
        assert reply.status_code == 200, path
        page = reply.text
        assert figures.summary() in page, path
        svg = chart_of(page)
        assert "<desc id=" in svg and figures.summary() in svg
        assert ' style="' not in svg and "<style" not in svg
        assert_drawn(svg, "reached", figures.minutes, figures.reached)
        assert_drawn(svg, "acknowledged", figures.minutes, figures.acknowledged)
        assert_drawn(svg, "steering-reached", figures.minutes, figures.steering_reached)
        assert_drawn(svg, "steering-acknowledged", figures.minutes, figures.steering_acknowledged)
        assert '<g id="marker-steering">' in svg and "Steering group all acknowledged" in svg
        table = re.search(r'id="cascade-over-time-table".*?</table>', page, re.S)
        assert table is not None
        rows = re.findall(
            r'data-minute="(\d+)">.*?"reached">(\d+) .*?"acknowledged">(\d+) '
            r'.*?"steering-reached">(\d+)<.*?"steering-acknowledged">(\d+)<',
            table.group(0),
            re.S,
        )
        assert [tuple(map(int, row)) for row in rows] == list(
            zip(
                figures.minutes,
                figures.reached,
                figures.acknowledged,
                figures.steering_reached,
                figures.steering_acknowledged,
                strict=True,
            )
        )
    fragment = client.get(paths[1]).text
    assert "<html" not in fragment and fragment.lstrip().startswith('<div class="app-chart-frame"')
    assert client.get("/inspections/not-one/cascade-chart").status_code == 404


def read_pdf(content: bytes, folder: Path, name: str) -> str:
    """The PDF's text as pdftotext reads it, after checking pdftoppm draws its first page A4."""
    pdf = folder / f"{name}.pdf"
    pdf.write_bytes(content)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(folder / name)],
        check=True,
    )
    [png] = folder.glob(f"{name}-*.png")
    header = png.read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert abs(height / width - 297 / 210) < 0.01
    if os.environ.get("SCREENSHOTS"):
        Path("test-output").mkdir(exist_ok=True)
        shutil.copy(pdf, Path("test-output") / f"{name}.pdf")
    return text


@pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils is not installed (scripts/test installs it as root; CI must have it)",
)
def test_the_rehearsal_report_and_the_dashboard_print_as_a4_with_the_chart(
    client: TestClient,
    engine: Engine,
    session: Session,
    rules: Rules,
    people: None,
    tmp_path: Path,
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    step(engine, rules, drill, "sg-lead", CALL + timedelta(minutes=2), "ack")
    step(engine, rules, drill, "sg-dcs", CALL + timedelta(minutes=16), "escalate")
    signed_in_as(client, engine, "viewer")
    with Session(engine) as fresh:
        summary = over_time.over_time(fresh, drill.id, start=drill.created_at).summary()
    assert summary == "2 of 5 people reached so far; 20% acknowledged within 15 minutes."
    page = client.get(f"/inspections/{drill.id}/report").text
    assert f'href="/inspections/{drill.id}/report.pdf"' in page
    assert (
        f'href="/inspections/{drill.id}/summary.pdf"' in client.get(f"/inspections/{drill.id}").text
    )

    report = client.get(f"/inspections/{drill.id}/report.pdf")
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    assert 'filename="rehearsal-report-2026-05-12.pdf"' in report.headers["content-disposition"]
    text = read_pdf(report.content, tmp_path, "rehearsal-report")
    assert "Rehearsal report" in text and "Page 1 of" in text and "Made " in text
    assert summary in text
    assert "Acknowledged within 15 minutes 20.0%" in text
    # The chart's marker and axis label, printed as text; drawn to its last event (minute 16),
    # not to today, long after this rehearsal.
    assert "First escalation" in text and "Minutes since the cascade started" in text
    assert " 1350 " not in text
    assert "Tomasz Wójcik" in text  # where it broke
    # This rehearsal against the others, in the papers too.
    assert "This rehearsal against the others" in text and "(this rehearsal)" in text
    assert "Rehearsal, oldest first" in text  # the trend chart's axis, as text

    compared_pdf = client.get("/rehearsals.pdf")
    assert compared_pdf.status_code == 200
    assert compared_pdf.headers["content-type"] == "application/pdf"
    text = read_pdf(compared_pdf.content, tmp_path, "rehearsals-compared")
    assert "Rehearsals compared" in text and "Page 1 of" in text and "Made " in text
    assert "1 rehearsal; in the latest, 20% acknowledged within 15 minutes." in text
    assert "Where the tree keeps breaking" in text and "Rehearsal, oldest first" in text

    board = client.get(f"/inspections/{drill.id}/summary.pdf")
    assert board.status_code == 200 and board.headers["content-type"] == "application/pdf"
    text = read_pdf(board.content, tmp_path, "dashboard-summary")
    assert "Rehearsal of 12 May 2026" in text and "Page 1 of" in text
    assert "2 of 5 reached, 1 acknowledged" in text and summary in text
    assert "Minutes since the cascade started" in text
    assert "Deadlines" in text and "case audit" in text
    for path in ("report.pdf", "summary.pdf"):
        assert client.get(f"/inspections/nothing/{path}").status_code == 404


def test_the_plan_at_a_glance_draws_tasks_due_and_done_and_overdue_by_owner(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    with Session(engine) as writing:
        tasks = list(
            writing.exec(
                select(Task)
                .where(Task.inspection_id == inspection.id, col(Task.due_at).is_not(None))
                .order_by(col(Task.due_at), col(Task.key))
            )
        )
        for task in tasks[:3]:
            assert task.due_at is not None
            task.status, task.done_at = "done", task.due_at - timedelta(hours=1)
        writing.commit()
    with time_machine.travel(THURSDAY_WEEK_3, tick=False):
        signed_in_as(client, engine, "viewer")
        page = client.get(f"/inspections/{inspection.id}").text
        with Session(engine) as fresh:
            listed = plan_tasks.list_tasks(fresh, inspection.id, rules=rules, now=THURSDAY_WEEK_3)
    today = rules.local_date(THURSDAY_WEEK_3)
    due_days = [rules.local_date(t.due_at) for t in listed.items if t.due_at]
    done_days = [rules.local_date(t.done_at) for t in listed.items if t.done_at]
    first, last = min(due_days + done_days), max(due_days + done_days)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    due = [sum(1 for d in due_days if d <= day) for day in days]
    done = [sum(1 for d in done_days if d <= day) for day in days]
    kept = [
        i
        for i in range(len(days))
        if i in (0, len(days) - 1) or (due[i], done[i]) != (due[i - 1], done[i - 1])
    ]
    days = [days[i] for i in kept]
    due = [due[i] for i in kept]
    done = [done[i] for i in kept]
    assert done[-1] == 3 and due[-1] == len(due_days)
    by_today = max(i for i, day in enumerate(days) if day <= today)
    summary = (
        f"3 of {len(listed.items)} tasks done; {due[by_today]} were due by today "
        f"and {done[by_today]} done by today."
    )
    assert summary in page
    start = page.index('<svg id="plan-burndown-')
    svg = page[start : page.index("</svg>", start)]
    assert_drawn(svg, "due", [(day - first).days for day in days], due)
    assert_drawn(svg, "done", [(day - first).days for day in days], done)

    overdue: dict[str, int] = {}
    for task in listed.items:
        if task.overdue:
            name = task.owner_name or task.owner_contact_id or "No owner"
            overdue[name] = overdue.get(name, 0) + 1
    assert overdue, "the plan has overdue tasks by the third Thursday"
    start = page.index('<svg id="plan-overdue-')
    bars = page[start : page.index("</svg>", start)]
    widths = []
    for index in range(len(overdue)):
        path = re.search(rf'<g id="bar-{index}">\s*<path d="([^"]+)"', bars)
        assert path is not None
        xs = [float(x) for x in re.findall(r"[ML] ([\d.]+) [\d.]+", path.group(1))]
        widths.append(max(xs) - min(xs))
    assert f'id="bar-{len(overdue)}"' not in bars
    table = re.search(r'id="plan-overdue-table".*?</table>', page, re.S)
    assert table is not None
    rows = [
        (html.unescape(name), int(n))
        for name, n in re.findall(r'header">([^<]+)</th>\s*<td[^>]*>(\d+)<', table.group(0))
    ]
    assert sorted(rows) == sorted(overdue.items())
    # Most first, each bar as long as its number.
    assert [n for _, n in rows] == sorted(overdue.values(), reverse=True)
    for (_, n), width in zip(rows, widths, strict=True):
        assert width == pytest.approx(widths[0] * n / rows[0][1], abs=0.01)


def test_rehearsals_compared_agree_with_each_rehearsal_report_and_draw_the_trend(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    signed_in_as(client, engine, "viewer")
    empty = client.get("/rehearsals")
    assert empty.status_code == 200 and "No rehearsal has been run yet." in empty.text
    assert "<svg" not in empty.text
    first = make_inspection(session, rules, notified_at=CALL, drill=True)
    deliver_all(engine, rules, CALL + timedelta(minutes=1))
    step(engine, rules, first, "sg-lead", CALL + timedelta(minutes=20), "ack")
    step(engine, rules, first, "sg-dcs", CALL + timedelta(minutes=16), "escalate")
    later = CALL + timedelta(days=7)
    second = make_inspection(session, rules, notified_at=later, drill=True)
    deliver_all(engine, rules, later + timedelta(minutes=1))
    step(engine, rules, second, "sg-lead", later + timedelta(minutes=2), "ack")
    step(engine, rules, second, "sg-dcs", later + timedelta(minutes=4), "ack")
    deliver_all(engine, rules, later + timedelta(minutes=5))
    step(engine, rules, second, "people", later + timedelta(minutes=31), "ack")
    page = client.get("/rehearsals").text
    with Session(engine) as fresh:
        reports = [
            progress.rehearsal_report(fresh, service.get(fresh, drill.id))
            for drill in (first, second)
        ]
        listed = compared.rehearsals(fresh)
    assert [r.inspection_id for r in listed] == [first.id, second.id]
    for report, row in zip(reports, listed, strict=True):
        assert row.people == report.people
        assert row.broken == len(report.broken)
        assert row.seconds_until_steering_group_acknowledged == (
            report.seconds_until_steering_group_acknowledged
        )
        for minutes in (15, 30, 60):
            assert row.percent_within(minutes) == report.acknowledged_percent[f"{minutes}_minutes"]
    assert [r.seconds_until_steering_group_acknowledged for r in listed] == [None, 240.0]
    assert [r.percent_within(15) for r in listed] == [0.0, 40.0]
    assert [r.percent_within(60) for r in listed] == [20.0, 60.0]
    # No channel reached them: nothing accepted for them and no acknowledgement.
    with Session(engine) as fresh:
        for row in listed:
            overall = cascade_counts.counts(fresh, row.inspection_id).overall
            assert row.no_channel == overall.total - overall.reached
    assert [r.no_channel for r in listed] == [1, 1]  # "staff", below the unacknowledged
    assert "2 rehearsals; in the latest, 40% acknowledged within 15 minutes (up from 0%)." in page
    table = re.search(r'id="rehearsals-table".*?</table>', page, re.S)
    assert table is not None
    within = re.findall(r'data-figure="within-60">([\d.]+)%', table.group(0))
    assert within == ["20.0", "60.0"]
    assert re.findall(r'data-figure="steering">([^<]+)<', table.group(0)) == [
        "Not yet",
        "4 min 0 s",
    ]
    start = page.index('<svg id="rehearsals-compared"')
    svg = page[start : page.index("</svg>", start)]
    for minutes in (15, 30, 60):
        values = [round(r.percent_within(minutes)) for r in listed]
        drawn = points(svg, f"within-{minutes}")
        assert len(drawn) == len(values)
        if len(set(values)) > 1:
            scale = (drawn[0][1] - drawn[1][1]) / (values[1] - values[0])
            assert scale > 0
    # The same scale for every series: 20% is drawn at one height wherever it appears.
    heights = {
        value: y
        for minutes in (15, 30, 60)
        for value, (_, y) in zip(
            [round(r.percent_within(minutes)) for r in listed],
            points(svg, f"within-{minutes}"),
            strict=True,
        )
    }
    low, high = min(heights), max(heights)
    for value, y in heights.items():
        expected = heights[low] - (value - low) * (heights[low] - heights[high]) / (high - low)
        assert y == pytest.approx(expected, abs=0.01)
    # Where it keeps breaking, by level: the rehearsal reports' broken people, counted.
    with Session(engine) as fresh:
        by_level = compared.broken_by_level(fresh, listed)
    expected: dict[int, list[int]] = {}
    for index, report in enumerate(reports):
        for person in report.broken:
            expected.setdefault(person.level, [0, 0])[index] += 1
    assert by_level == sorted(expected.items()) == [(1, [1, 0])]
    level_rows = re.search(r'id="broken-by-level".*?</table>', page, re.S)
    assert level_rows is not None
    assert re.findall(
        r'data-level="(\d+)">.*?numeric">(\d+)</td>.*?numeric">(\d+)</td>',
        level_rows.group(0),
        re.S,
    ) == [("1", "1", "0")]
    # Each rehearsal report carries the same comparison, marking itself in the table.
    for index, drill in enumerate((first, second), start=1):
        report_page = client.get(f"/inspections/{drill.id}/report").text
        assert 'href="/rehearsals"' in report_page
        assert "2 rehearsals; in the latest, 40% acknowledged within 15 minutes" in report_page
        section = re.search(r'id="rehearsals-table".*?</table>', report_page, re.S)
        assert section is not None
        assert re.findall(r'data-figure="within-60">([\d.]+)%', section.group(0)) == within
        current = re.findall(r'data-rehearsal="(\d+)" aria-current="true"', section.group(0))
        assert current == [str(index)]
        assert f'href="/inspections/{drill.id}/report"' not in section.group(0)
        assert '<svg id="rehearsals-compared"' in report_page


def test_signed_out_browsers_see_no_chart_report_or_pdf(client: TestClient) -> None:
    some = uuid.uuid4()
    for path in (
        f"/inspections/{some}/cascade-chart",
        f"/inspections/{some}/report.pdf",
        f"/inspections/{some}/summary.pdf",
        f"/inspections/{some}?charts=off",
        "/rehearsals",
        "/rehearsals.pdf",
    ):
        reply = client.get(path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login"), path


def test_the_dashboard_without_its_charts_keeps_its_figures(
    client: TestClient, engine: Engine, session: Session, rules: Rules, people: None
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    signed_in_as(client, engine, "viewer")
    bare = client.get(f"/inspections/{drill.id}", params={"charts": "off"}).text
    assert "<svg" not in bare and 'id="charts-off"' in bare and 'id="cascade-total">5<' in bare
    full = client.get(f"/inspections/{drill.id}").text
    assert '<svg id="cascade-over-time-' in full and '<svg id="plan-burndown-' in full
