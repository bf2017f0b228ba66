"""Settings: the only place that reads the environment (and an optional `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BankHolidayRegion(StrEnum):
    england = "england"
    wales = "wales"
    scotland = "scotland"
    northern_ireland = "northern-ireland"

    @property
    def subdivision(self) -> str:
        """The `holidays` package's code for the UK nation."""
        return {
            "england": "ENG",
            "wales": "WLS",
            "scotland": "SCT",
            "northern-ireland": "NIR",
        }[self.value]


class Settings(BaseSettings):
    """Every setting, its environment variable (the field name in capitals) and its default."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="forbid",
    )

    database_url: str = Field(
        default="sqlite:///./var/inspection-week.db",
        description="SQLAlchemy URL; sqlite:///path or postgresql://user@host/db.",
    )
    timezone: str = Field(default="Europe/London", description="Zone used on screen and for day 0.")
    bank_holiday_region: BankHolidayRegion = Field(
        default=BankHolidayRegion.england,
        description="Which UK nation's bank holidays are non-working days.",
    )
    scheduler_enabled: bool = Field(default=True, description="Run the due-work tick in this process.")
    scheduler_tick_seconds: float = Field(
        default=5.0, gt=0, le=300, description="Seconds between scheduler ticks."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    frameworks_dir: Path | None = Field(
        default=None, description="Extra folder of council framework files (*.yaml)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted by the API."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A setting is missing, unknown or malformed; the message names it."""


def describe_settings_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
        if error["type"] == "extra_forbidden":
            lines.append(f"{name}: unknown setting")
        else:
            lines.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
    return "Invalid settings:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
