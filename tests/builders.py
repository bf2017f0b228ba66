"""Builders for test data: small functions instead of large fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from service.inspections import service
from service.inspections.models import AnnounceRequest, Inspection
from service.inspections.service import Rules

ACTOR = "api-key:tests"


def london(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment given in Europe/London wall-clock time, as aware UTC."""
    from zoneinfo import ZoneInfo

    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def make_inspection(
    session: Session,
    rules: Rules,
    *,
    notified_at: datetime,
    now: datetime | None = None,
    framework: str = "sif-2013",
    drill: bool = False,
    lead_inspector: str | None = "Harriet Oyelaran",
    commit: bool = True,
) -> Inspection:
    inspection = service.announce(
        session,
        rules=rules,
        request=AnnounceRequest(
            framework=framework,
            notified_at=notified_at,
            lead_inspector=lead_inspector,
            drill=drill,
        ),
        actor=ACTOR,
        now=now or notified_at,
    )
    if commit:
        session.commit()
    return inspection
