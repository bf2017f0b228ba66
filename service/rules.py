"""What the rules need from configuration, built once in main.py and handed down: frameworks,
plan definitions, the working-day calendar's region, the clock's zone and what messages say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import Session

from service.calendar.working_days import WorkingCalendar, load_calendar
from service.config import DEFAULT_STEERING_GROUP, BankHolidayRegion
from service.errors import InvalidInput
from service.frameworks import Framework, Registry

if TYPE_CHECKING:  # carried, never used here: plan definitions belong to the plan
    from service.plan.definitions import PlanRegistry


@dataclass(frozen=True)
class Messaging:
    """What messages need from configuration."""

    public_base_url: str = "http://127.0.0.1:8000"
    council_name: str = "the council"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    ack_max_age_seconds: int = 168 * 3600


@dataclass(frozen=True)
class Rules:
    frameworks: Registry
    region: BankHolidayRegion
    zone: ZoneInfo
    plans: PlanRegistry
    messaging: Messaging = field(default_factory=Messaging)
    steering_group: str = DEFAULT_STEERING_GROUP
    """The contacts group messaged at once with the top of the tree (setting STEERING_GROUP)."""

    def calendar(self, session: Session) -> WorkingCalendar:
        return load_calendar(session, self.region)

    def framework(self, key: str) -> Framework:
        framework = self.frameworks.get(key)
        if framework is None:
            raise InvalidInput(
                "framework",
                f"unknown framework {key!r}; known frameworks: {', '.join(self.frameworks.keys())}",
            )
        return framework

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()
