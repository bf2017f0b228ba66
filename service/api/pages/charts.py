"""Charts drawn on the server as SVG with matplotlib: they print, they work without JavaScript,
and their text is real text (`svg.fonttype: none`).

Accessible as GOV.UK asks of charts: the SVG carries a `<title>` and a `<desc>` and is labelled
by them; the page puts a one-sentence summary above it and the figures as a table beside it.
Each series' line has the id `series-<key>`, so a test can read the points back."""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from markupsafe import Markup

GOVUK_BLUE = "#1d70b8"
GOVUK_GREEN = "#00703c"
GOVUK_BLACK = "#0b0c0c"
GOVUK_GREY = "#505a5f"
GOVUK_MID_GREY = "#b1b4b6"
GOVUK_PURPLE = "#4c2c92"
GOVUK_PINK = "#d53880"

_LOCK = threading.Lock()
"""matplotlib's settings are process-wide; one chart at a time."""

_DRAWN: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
_DRAWN_LOCK = threading.Lock()
DRAWN_KEPT = 128
"""Charts kept drawn, by everything that goes into them: drawing one takes tens of milliseconds
and a busy morning's dashboard is opened by many people between two changes of its figures."""


def _remembered(key: tuple[Any, ...], draw: Callable[[], Markup]) -> Markup:
    with _DRAWN_LOCK:
        found = _DRAWN.get(key)
        if found is not None:
            _DRAWN.move_to_end(key)
            return found
    drawn = draw()
    with _DRAWN_LOCK:
        _DRAWN[key] = drawn
        while len(_DRAWN) > DRAWN_KEPT:
            _DRAWN.popitem(last=False)
    return drawn


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: Sequence[int]
    colour: str


def _line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    days: Sequence[date],
    series: Sequence[Series],
    y_label: str,
) -> Markup:
    """Cumulative counts by day, one stepped line per series, as inline SVG."""
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with (
        _LOCK,
        matplotlib.rc_context(
            {
                "svg.fonttype": "none",
                "svg.hashsalt": chart_id,  # the same figures give the same markup
                "path.simplify": False,  # every point drawn, so a test can read each back
                "font.family": "sans-serif",
                "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
                "font.size": 10,
                "axes.edgecolor": GOVUK_MID_GREY,
                "axes.labelcolor": GOVUK_BLACK,
                "xtick.color": GOVUK_GREY,
                "ytick.color": GOVUK_GREY,
            }
        ),
    ):
        figure = Figure(figsize=(7.0, 3.0), dpi=72)
        axes = figure.add_subplot()
        for one in series:
            (line,) = axes.step(
                list(days),
                list(one.values),
                where="post",
                color=one.colour,
                linewidth=2,
                label=one.label,
            )
            line.set_gid(f"series-{one.key}")
        axes.set_ylabel(y_label)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0, top=max([1, *(max(one.values, default=0) for one in series)]) * 1.1)
        locator = AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color=GOVUK_MID_GREY, linewidth=0.5)
        # Below the plot, so it never hides a line.
        axes.legend(loc="upper left", bbox_to_anchor=(0, -0.18), ncol=len(series), frameon=False)
        svg = _drawn(figure)
    return Markup(_labelled(_without_css(svg), chart_id, title, description))


@dataclass(frozen=True)
class Marker:
    """A moment marked across the chart by a dashed vertical line with its label as text."""

    key: str
    label: str
    x: float


@dataclass(frozen=True)
class XSeries:
    """A stepped line over numbers (minutes since the call, say) rather than dates."""

    key: str
    label: str
    xs: Sequence[float]
    values: Sequence[int]
    colour: str
    dashed: bool = False
    """A second cue besides colour, where lines can lie on top of each other."""


_POINTS = ("o", "s", "^")
_DASHES: tuple[Any, ...] = ("-", (0, (4, 2)), (0, (1, 2)))


def _minutes_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[XSeries],
    y_label: str,
    x_label: str = "Minutes since the cascade started",
    markers: Sequence[Marker] = (),
    stepped: bool = True,
    percent: bool = False,
) -> Markup:
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _LOCK, matplotlib.rc_context(_settings(chart_id)):
        columns = len(series) if len(series) <= 3 else 2
        rows = -(-len(series) // columns) if series else 1
        figure = Figure(figsize=(7.0, 3.0 + 0.2 * rows), dpi=72)
        axes = figure.add_subplot()
        for one in series:
            if stepped:
                (line,) = axes.step(
                    list(one.xs),
                    list(one.values),
                    where="post",
                    color=one.colour,
                    linewidth=2,
                    linestyle=(0, (4, 2)) if one.dashed else "-",
                    label=one.label,
                )
            else:
                # Lines that may lie on top of each other: each its own point shape and dashes.
                index = len(axes.lines)
                (line,) = axes.plot(
                    list(one.xs),
                    list(one.values),
                    color=one.colour,
                    linewidth=2,
                    marker=_POINTS[index % len(_POINTS)],
                    markersize=7 - 1.5 * (index % len(_POINTS)),
                    linestyle=_DASHES[index % len(_DASHES)],
                    label=one.label,
                )
            line.set_gid(f"series-{one.key}")
        top = max([1, *(max(one.values, default=0) for one in series)]) * 1.15
        for index, marker in enumerate(markers):
            line = axes.axvline(marker.x, color=GOVUK_GREY, linewidth=1, linestyle="--")
            line.set_gid(f"marker-{marker.key}")
            label = axes.text(
                marker.x,
                top * (0.98 - 0.09 * index),
                f" {marker.label}",
                color=GOVUK_BLACK,
                fontsize=8,
                verticalalignment="top",
            )
            label.set_gid(f"marker-{marker.key}-label")
        axes.set_ylabel(y_label)
        axes.set_xlabel(x_label)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if percent:
            top = 100 * 1.15
            axes.set_yticks(range(0, 101, 20))
        axes.set_ylim(bottom=0, top=top)
        right = max([1.0, *(max(one.xs, default=0) for one in series)])
        if stepped:
            axes.set_xlim(left=0, right=right)
        else:
            # Points at whole numbers (rehearsal 1, 2, ...): never a tick between two of them.
            axes.set_xlim(left=0.7, right=right + 0.3)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            if right <= 20:
                axes.set_xticks(range(1, int(right) + 1))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color=GOVUK_MID_GREY, linewidth=0.5)
        axes.legend(loc="upper left", bbox_to_anchor=(0, -0.22), ncol=columns, frameon=False)
        svg = _drawn(figure)
    return Markup(_labelled(_without_css(svg), chart_id, title, description))


def _bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[int],
    x_label: str,
    colour: str = GOVUK_BLUE,
) -> Markup:
    """One horizontal bar per label, first at the top (`bar-<i>`), each with its number written
    at its end, as inline SVG."""
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _LOCK, matplotlib.rc_context(_settings(chart_id)):
        figure = Figure(figsize=(7.0, 0.8 + 0.35 * max(1, len(labels))), dpi=72)
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        bars = axes.barh(positions, list(values), color=colour, height=0.6)
        for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
            bar.set_gid(f"bar-{index}")
            axes.text(
                value,
                index,
                f" {value}",
                verticalalignment="center",
                color=GOVUK_BLACK,
                fontsize=9,
            )
        axes.set_yticks(positions, list(labels))
        axes.invert_yaxis()
        axes.set_xlabel(x_label)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(left=0, right=max([1, *values]) * 1.15)
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", color=GOVUK_MID_GREY, linewidth=0.5)
        axes.set_axisbelow(True)
        svg = _drawn(figure)
    return Markup(_labelled(_without_css(svg), chart_id, title, description))


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    days: Sequence[date],
    series: Sequence[Series],
    y_label: str,
) -> Markup:
    """Cumulative counts by day, one stepped line per series, as inline SVG."""
    key = (
        "line",
        chart_id,
        title,
        description,
        tuple(days),
        tuple((s.key, s.label, tuple(s.values), s.colour) for s in series),
        y_label,
    )
    return _remembered(
        key,
        lambda: _line_chart(
            chart_id=chart_id,
            title=title,
            description=description,
            days=days,
            series=series,
            y_label=y_label,
        ),
    )


def minutes_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[XSeries],
    y_label: str,
    x_label: str = "Minutes since the cascade started",
    markers: Sequence[Marker] = (),
    stepped: bool = True,
    percent: bool = False,
) -> Markup:
    """Counts against minutes, one stepped line per series (`series-<key>`), or, not
    `stepped`, points joined by straight lines, each with its own point shape and dashes;
    the moments in `markers` as labelled vertical lines (`marker-<key>`); `percent` draws the
    y axis from 0 to 100. Inline SVG."""
    key = (
        "minutes",
        chart_id,
        title,
        description,
        tuple((s.key, s.label, tuple(s.xs), tuple(s.values), s.colour, s.dashed) for s in series),
        y_label,
        x_label,
        tuple(markers),
        stepped,
        percent,
    )
    return _remembered(
        key,
        lambda: _minutes_chart(
            chart_id=chart_id,
            title=title,
            description=description,
            series=series,
            y_label=y_label,
            x_label=x_label,
            markers=markers,
            stepped=stepped,
            percent=percent,
        ),
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[int],
    x_label: str,
    colour: str = GOVUK_BLUE,
) -> Markup:
    """One horizontal bar per label, first at the top (`bar-<i>`), each with its number written
    at its end, as inline SVG."""
    key = ("bar", chart_id, title, description, tuple(labels), tuple(values), x_label, colour)
    return _remembered(
        key,
        lambda: _bar_chart(
            chart_id=chart_id,
            title=title,
            description=description,
            labels=labels,
            values=values,
            x_label=x_label,
            colour=colour,
        ),
    )


def _settings(chart_id: str) -> dict[str, object]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": chart_id,  # the same figures give the same markup
        "path.simplify": False,  # every point drawn, so a test can read each back
        "font.family": "sans-serif",
        "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
        "font.size": 10,
        "axes.edgecolor": GOVUK_MID_GREY,
        "axes.labelcolor": GOVUK_BLACK,
        "xtick.color": GOVUK_GREY,
        "ytick.color": GOVUK_GREY,
    }


def _drawn(figure: Any) -> str:
    """The figure as SVG text, laid out tight and with no date in it (the same figures give the
    same markup)."""
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


_STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.S)
_STYLED_TAG = re.compile(r'<[^<>]*\sstyle="[^"]*"[^<>]*>')
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def _without_css(svg: str) -> str:
    """The pages' Content-Security-Policy allows no inline style, so matplotlib's `style`
    attributes and its one `<style>` element become SVG presentation attributes (`fill`,
    `stroke`, `font-size`...), which draw the same and are not styles."""
    svg = _STYLE_ELEMENT.sub("", svg, count=1)
    svg = svg.replace("<svg", '<svg stroke-linejoin="round" stroke-linecap="butt"', 1)

    def attributes(tag: re.Match[str]) -> str:
        text = tag.group(0)
        declarations = _STYLE_ATTRIBUTE.search(text)
        assert declarations is not None
        present = set(re.findall(r"\s([\w:-]+)=", text))
        pairs = []
        for declaration in declarations.group(1).split(";"):
            name, _, value = declaration.partition(":")
            name, value = name.strip(), value.strip()
            if name and value and name not in present:
                pairs.append(f'{name}="{value}"')
        return _STYLE_ATTRIBUTE.sub(" " + " ".join(pairs), text, count=1)

    return _STYLED_TAG.sub(attributes, svg)


def _labelled(svg: str, chart_id: str, title: str, description: str) -> str:
    """Only the `<svg>` element (no XML prolog or DOCTYPE, which cannot sit inside a page), with
    a role, its title and description first, and no fixed size, so it fits its column."""
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head = head.replace(
        "<svg",
        f'<svg id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'class="app-chart" focusable="false"',
        1,
    )
    labels = (
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return head + labels + svg[head_end:]
