"""A committee's report as a spreadsheet: one row per action listed, by section."""

from __future__ import annotations

from service import spreadsheet
from service.scrutiny.schemas import ActionLine, ScrutinyReport

COLUMNS = (
    "section",
    "action_id",
    "plan",
    "action",
    "agency",
    "owner",
    "due_on",
    "done_on",
    "rag",
    "rag_reason",
)


def _row(section: str, item: ActionLine) -> tuple[object, ...]:
    return (
        section,
        item.id,
        item.plan,
        item.title,
        item.agency,
        item.owner,
        item.due_on.isoformat() if item.due_on else "",
        item.done_on.isoformat() if item.done_on else "",
        item.rag.value,
        item.rag_reason,
    )


def report_csv(report: ScrutinyReport) -> bytes:
    """UTF-8 with a byte-order mark, for Excel; cells starting `= + - @` neutralised."""
    rows = [
        _row(section, item)
        for section, items in (
            ("new", report.new),
            ("completed", report.completed),
            ("overdue", report.overdue),
        )
        for item in items
    ]
    return spreadsheet.write_csv(COLUMNS, rows, bom=True)


def filename(report: ScrutinyReport, extension: str) -> str:
    return f"action-plan-progress-{report.meeting.meets_on.isoformat()}.{extension}"
