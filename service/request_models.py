"""The base of every JSON request body: unknown keys refused, and no NUL characters, which
PostgreSQL cannot store in text (refused here, naming the field, rather than failing later);
and the field types several bodies share, so a line or a link is bounded the same everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
)

MAX_URL = 2000

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A one-line name or title."""


def _short(url: HttpUrl) -> HttpUrl:
    if len(str(url)) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    return url


Link = Annotated[
    HttpUrl,
    AfterValidator(_short),
    Field(description="An http(s) address, at most 2,000 characters"),
]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
