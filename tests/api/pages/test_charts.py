"""Server-drawn charts: well-formed SVG labelled by its title and description, no inline CSS
(the pages' Content-Security-Policy refuses it), real text, the same markup for the same data."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta

import pytest

from service.api.pages import charts

pytestmark = pytest.mark.sqlite_only
SVG = "{http://www.w3.org/2000/svg}"


def draw(values: list[int]) -> str:
    days = [date(2026, 3, 2) + timedelta(days=n) for n in range(len(values))]
    return str(
        charts.line_chart(
            chart_id="done-3",
            title="Actions completed over time",
            description="3 of 7 actions completed by 5 March 2026 & counting",
            days=days,
            series=[charts.Series("completed", "Completed", values, charts.GOVUK_GREEN)],
            y_label="Actions",
        )
    )


def test_a_chart_is_labelled_svg_without_inline_css() -> None:
    svg = draw([0, 1, 1, 3])
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "done-3-title done-3-desc"
    assert root.get("width") is None and root.get("viewBox")
    assert root[0].tag == f"{SVG}title" and root[0].text == "Actions completed over time"
    assert root[1].tag == f"{SVG}desc" and root[1].text.endswith("& counting")
    assert all(element.get("style") is None for element in root.iter())
    assert not list(root.iter(f"{SVG}style"))
    texts = "".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))
    assert "Completed" in texts and "Actions" in texts
    line = root.find(f".//{SVG}g[@id='series-completed']/{SVG}path")
    assert line is not None and line.get("stroke") == charts.GOVUK_GREEN


def test_the_same_figures_draw_the_same_chart() -> None:
    assert draw([0, 2, 2]) == draw([0, 2, 2])
    assert draw([0, 2, 2]) != draw([0, 2, 3])


def test_a_chart_drawn_once_is_remembered_until_its_figures_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(charts, "DRAWN_KEPT", 4)
    first = draw([0, 4, 5])
    assert (
        charts._DRAWN
        and str(
            charts.line_chart(
                chart_id="done-3",
                title="Actions completed over time",
                description="3 of 7 actions completed by 5 March 2026 & counting",
                days=[date(2026, 3, 2) + timedelta(days=n) for n in range(3)],
                series=[charts.Series("completed", "Completed", [0, 4, 5], charts.GOVUK_GREEN)],
                y_label="Actions",
            )
        )
        == first
    )
    kept = len(charts._DRAWN)
    assert draw([0, 4, 6]) != first and len(charts._DRAWN) == min(kept + 1, charts.DRAWN_KEPT)
    for n in range(charts.DRAWN_KEPT + 5):
        draw([0, n])
    assert len(charts._DRAWN) == charts.DRAWN_KEPT
