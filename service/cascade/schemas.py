"""The API's shapes for the cascade: its progress for the lead's dashboard and the intranet, and
the rehearsal report (field names are a contract)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from service.cascade.models import NodeStatus
from service.notify.models import Medium, MessageStatus


class LevelProgress(BaseModel):
    """People at one depth of the tree (1 = steering group), by status."""

    level: int
    total: int
    reached: int
    """A message accepted by the provider, or acknowledged."""
    waiting: int
    notified: int
    acknowledged: int
    broken: int


class BrokenLink(BaseModel):
    """Someone who did not acknowledge in time or cannot be reached; their deputy was told."""

    contact_id: str
    name: str
    level: int
    reason: str
    deputy_id: str | None


class MediumPaused(BaseModel):
    """A medium nothing is sent on until `until`: the provider's daily limit is spent."""

    medium: Medium
    until: datetime
    reason: str
    message: str
    """'SMS paused until 00:00 UTC: Notify's daily limit'."""


class CascadeProgress(BaseModel):
    inspection_id: uuid.UUID
    drill: bool
    started_at: datetime
    total: int
    by_status: dict[NodeStatus, int]
    levels: list[LevelProgress]
    broken: list[BrokenLink]
    messages: dict[MessageStatus, int]
    """Messages by delivery status."""
    steering_group_reached_at: datetime | None
    everyone_reached_at: datetime | None
    paused: list[MediumPaused] = []
    """Media waiting for a provider's daily limit to start again; their messages wait, none is
    dropped, and people waiting on them are reached by their other medium."""


class RehearsalReport(BaseModel):
    """How fast the tree reached everyone and where it broke (DESIGN.md, drills)."""

    inspection_id: uuid.UUID
    drill: bool
    started_at: datetime
    people: int
    steering_group_size: int
    steering_group_acknowledged_at: datetime | None
    seconds_until_steering_group_acknowledged: float | None
    everyone_reached_at: datetime | None
    seconds_until_everyone_reached: float | None
    acknowledged_percent: dict[str, float]
    """Share of the tree acknowledged by `15_minutes`, `30_minutes` and `60_minutes`."""
    acknowledged: int
    broken: list[BrokenLink]
