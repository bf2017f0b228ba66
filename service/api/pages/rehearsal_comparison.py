"""Rehearsals compared, as one section drawn the same way wherever it stands: on its own page
(`/rehearsals` and its PDF) and at the foot of each rehearsal report, where the rehearsal being
read is marked in the table, so the steering group sees it against the ones before."""

from __future__ import annotations

import uuid
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from service.api.pages import charts
from service.cascade import compared


def values(session: Session, *, current: uuid.UUID | None = None) -> dict[str, Any]:
    """What `rehearsals_compared_section.html` needs."""
    listed = compared.rehearsals(session)
    summary = summary_sentence(listed)
    return {
        "compared": listed,
        "compared_summary": summary,
        "compared_chart": _chart(listed, summary) if listed else None,
        "compared_by_level": compared.broken_by_level(session, listed),
        "compared_current": current,
    }


def _chart(listed: list[compared.Rehearsal], summary: str) -> Markup:
    numbers = list(range(1, len(listed) + 1))
    return charts.minutes_chart(
        chart_id="rehearsals-compared",
        title="People acknowledged within 15, 30 and 60 minutes, rehearsal by rehearsal",
        description=summary,
        series=[
            charts.XSeries(
                f"within-{minutes}",
                f"Within {minutes} minutes",
                numbers,
                [round(r.percent_within(minutes)) for r in listed],
                colour,
            )
            for minutes, colour in zip(
                compared.MARKS,
                (charts.GOVUK_BLUE, charts.GOVUK_GREEN, charts.GOVUK_GREY),
                strict=True,
            )
        ],
        y_label="People acknowledged (%)",
        x_label="Rehearsal, oldest first",
        stepped=False,
        percent=True,
    )


def summary_sentence(listed: list[compared.Rehearsal]) -> str:
    if not listed:
        return "No rehearsal has been run yet."
    last = listed[-1]
    sentence = (
        f"{len(listed)} {'rehearsal' if len(listed) == 1 else 'rehearsals'}; in the latest, "
        f"{last.percent_within(15):g}% acknowledged within 15 minutes"
    )
    if len(listed) > 1:
        before = listed[-2].percent_within(15)
        change = last.percent_within(15) - before
        word = "up" if change > 0 else "down" if change < 0 else "no change"
        sentence += f" ({word} from {before:g}%)" if change else " (no change)"
    return sentence + "."
