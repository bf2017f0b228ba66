"""The cascade over time as a chart: reached and acknowledged against minutes since the cascade
started, everyone and the steering group apart (its lines end at its size, a handful, so they
sit low on a big tree: they are what the lead looks for first), with the steering group's window
close, the first escalation and the moment the whole steering group had acknowledged marked. The
same fragment sits on the dashboard (redrawn by its live updates), on the rehearsal report and in
both PDFs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from service.api.pages import charts
from service.cascade import over_time
from service.inspections.models import Inspection


def values(session: Session, inspection: Inspection, *, now: datetime | None) -> dict[str, Any]:
    """What `cascade_chart.html` needs: the figures, the sentence above and the SVG."""
    figures = over_time.over_time(session, inspection.id, start=inspection.created_at, now=now)
    summary = figures.summary()
    chart = None
    if not figures.empty:
        chart = charts.minutes_chart(
            chart_id=f"cascade-over-time-{inspection.id.hex[:8]}",
            title="People reached and acknowledged, by minutes since the cascade started",
            description=summary,
            series=[
                charts.XSeries(
                    "reached", "Reached", figures.minutes, figures.reached, charts.GOVUK_BLUE
                ),
                charts.XSeries(
                    "acknowledged",
                    "Acknowledged",
                    figures.minutes,
                    figures.acknowledged,
                    charts.GOVUK_GREEN,
                    dashed=True,
                ),
                *(
                    [
                        charts.XSeries(
                            "steering-reached",
                            "Steering group reached",
                            figures.minutes,
                            figures.steering_reached,
                            charts.GOVUK_PURPLE,
                        ),
                        charts.XSeries(
                            "steering-acknowledged",
                            "Steering group acknowledged",
                            figures.minutes,
                            figures.steering_acknowledged,
                            charts.GOVUK_PINK,
                            dashed=True,
                        ),
                    ]
                    if figures.steering_total
                    else []
                ),
            ],
            y_label="People",
            x_label="Minutes since the cascade started",
            markers=[charts.Marker(m.key, m.label, m.minute) for m in figures.markers],
        )
    return {"over_time": figures, "over_time_summary": summary, "over_time_chart": chart}
