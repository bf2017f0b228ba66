"""The plan at a glance on the dashboard: tasks done against tasks due, day by day over the
inspection (a burndown), and the overdue tasks by owner. A plan has tens of tasks, which the
dashboard has already loaded for its tables, so these are counted from those."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from service.api.pages import charts
from service.plan.schemas import TaskPublic
from service.rules import Rules

MOST_DAYS = 400
"""A plan whose dates spread further than this is drawn over its last `MOST_DAYS` days."""
MOST_OWNERS = 15


@dataclass(frozen=True)
class Burndown:
    days: list[date]
    due: list[int]
    done: list[int]
    total: int
    today: date

    def at_today(self) -> tuple[int, int]:
        """Tasks due and tasks done by the end of today."""
        past = [index for index, day in enumerate(self.days) if day <= self.today]
        if not past:
            return 0, 0
        return self.due[past[-1]], self.done[past[-1]]


def burndown(tasks: list[TaskPublic], *, rules: Rules, today: date) -> Burndown | None:
    """Cumulative tasks due and done by the end of each local day on which either changed,
    from the first such day to the last."""
    due_days = Counter(rules.local_date(t.due_at) for t in tasks if t.due_at is not None)
    done_days = Counter(rules.local_date(t.done_at) for t in tasks if t.done_at is not None)
    every = [*due_days, *done_days]
    if not every:
        return None
    first, last = min(every), max(every)
    first = max(first, last - timedelta(days=MOST_DAYS))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    kept: list[date] = []
    due: list[int] = []
    done: list[int] = []
    for index, day in enumerate(days):
        figures = (
            sum(n for d, n in due_days.items() if d <= day),
            sum(n for d, n in done_days.items() if d <= day),
        )
        # Only the days on which something changed (and the first and last): a stepped line
        # draws the days between, and the table stays short.
        if index in (0, len(days) - 1) or figures != (due[-1], done[-1]):
            kept.append(day)
            due.append(figures[0])
            done.append(figures[1])
    return Burndown(days=kept, due=due, done=done, total=len(tasks), today=today)


def values(
    tasks: list[TaskPublic], owners: list[Any], *, rules: Rules, today: date, chart_key: str
) -> dict[str, Any]:
    """What the dashboard's "plan at a glance" needs: two sentences, two charts, the figures."""
    found = burndown(tasks, rules=rules, today=today)
    burndown_summary = None
    burndown_chart = None
    if found is not None:
        due_by_today, done_by_today = found.at_today()
        burndown_summary = (
            f"{sum(1 for t in tasks if t.done_at is not None)} of {found.total} tasks done; "
            f"{due_by_today} were due by today and {done_by_today} done by today."
        )
        burndown_chart = charts.line_chart(
            chart_id=f"plan-burndown-{chart_key}",
            title="Tasks due and tasks done, by day",
            description=burndown_summary,
            days=found.days,
            series=[
                charts.Series("due", "Due", found.due, charts.GOVUK_BLUE),
                charts.Series("done", "Done", found.done, charts.GOVUK_GREEN),
            ],
            y_label="Tasks",
        )
    late = [row for row in owners if row.overdue][:MOST_OWNERS]
    overdue_summary = None
    overdue_chart = None
    if late:
        overdue = sum(row.overdue for row in owners)
        overdue_summary = (
            f"{overdue} {'task' if overdue == 1 else 'tasks'} overdue; "
            f"most with {late[0].name} ({late[0].overdue})."
        )
        overdue_chart = charts.bar_chart(
            chart_id=f"plan-overdue-{chart_key}",
            title="Overdue tasks by owner",
            description=overdue_summary,
            labels=[row.name for row in late],
            values=[row.overdue for row in late],
            x_label="Overdue tasks",
            colour="#d4351c",
        )
    return {
        "burndown": found,
        "burndown_summary": burndown_summary,
        "burndown_chart": burndown_chart,
        "overdue_owners": late,
        "overdue_summary": overdue_summary,
        "overdue_chart": overdue_chart,
    }
