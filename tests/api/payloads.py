"""Request bodies for the HTTP tests: small functions instead of large fixtures."""

from __future__ import annotations

from typing import Any

TUESDAY_CALL = "2025-06-10T10:00:00+01:00"
"""A usual sif-2013 call (Tuesday, British Summer Time), long enough ago that every milestone
can be recorded; its timetable is worked out by hand in test_inspections.py."""


def announce_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "framework": "sif-2013",
        "notified_at": TUESDAY_CALL,
        "lead_inspector": "Harriet Oyelaran",
        "drill": False,
        "notes": "Call taken by Tomasz Wójcik at reception.",
    }
    body.update(changes)
    return body
