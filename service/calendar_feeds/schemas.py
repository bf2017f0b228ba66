"""The API's shapes for calendar feeds (field names are a contract)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from service.paging import CursorList
from service.request_models import RequestBody


class FeedCreate(RequestBody):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"inspection_id": "6f1c2a3e-8d4b-4c1e-9a7f-2b5d0e9c4a11"},
                {
                    "inspection_id": "6f1c2a3e-8d4b-4c1e-9a7f-2b5d0e9c4a11",
                    "contact_id": "twojcik",
                },
            ]
        },
    )

    inspection_id: uuid.UUID
    contact_id: str | None = PydanticField(
        default=None,
        min_length=1,
        max_length=64,
        description="A person's feed (their tasks and the on-site days); leave out for the "
        "whole inspection",
    )


class FeedCreated(BaseModel):
    """The URL holds the feed's secret: it is shown here once and never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "url": "https://inspection-week.example.org/calendar/Zq3...Xw.ics",
                    "webcal_url": "webcal://inspection-week.example.org/calendar/Zq3...Xw.ics",
                }
            ]
        }
    )

    id: int
    url: str
    webcal_url: str


class FeedPublic(BaseModel):
    """A feed as listed: never its URL, which only its creator saw."""

    id: int
    inspection_id: uuid.UUID
    contact_id: str | None
    contact_name: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class FeedsPublic(CursorList[FeedPublic]):
    """Oldest first."""
