"""Settings: the only place that reads the environment (and an optional `.env` file)."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STEERING_GROUP = "steering"
BACKGROUND_CONNECTIONS = 6
"""Connections the scheduler, the dispatcher, webhooks and the two leader locks may hold."""


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


class EmailChannelKind(StrEnum):
    outbox = "outbox"
    smtp = "smtp"
    govuk_notify = "govuk_notify"


class SmsChannelKind(StrEnum):
    outbox = "outbox"
    govuk_notify = "govuk_notify"


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


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
    scheduler_enabled: bool = Field(
        default=True, description="Run the due-work tick in this process."
    )
    scheduler_tick_seconds: float = Field(
        default=5.0, gt=0, le=300, description="Seconds between scheduler ticks."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: "
        "comma-separated addresses or networks (10.0.0.0/8), or * for any. Behind a proxy, set "
        "it to the proxy's address, or every sign-in seems to come from the proxy.",
    )
    frameworks_dir: Path | None = Field(
        default=None, description="Extra folder of council framework files (*.yaml)."
    )
    plans_dir: Path | None = Field(
        default=None,
        description="Extra folder of council plan definitions (<framework>.yaml).",
    )
    max_body_bytes: int = Field(
        default=8_388_608,
        ge=1024,
        description="Largest request body accepted (a contacts file of 10,000 people fits).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    api_rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests one API key may make in any 60 seconds (429 beyond it); 0 for no "
        "limit. Counted in each process: with several replicas, each allows this many.",
    )

    request_concurrency: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Requests that may use the database handled at once in this process; the rest "
        "wait their turn. Each may hold two connections (a read and a write session), so keep "
        "it at most (DB_POOL_SIZE + DB_MAX_OVERFLOW - 6) / 2: the rest of the pool is for the "
        "scheduler, the dispatcher, webhooks and the leader locks.",
    )
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Database connections kept open in this process."
    )
    db_max_overflow: int = Field(
        default=15,
        ge=0,
        le=200,
        description="Database connections opened beyond DB_POOL_SIZE when busy (closed after).",
    )

    email_channel: EmailChannelKind = Field(
        default=EmailChannelKind.outbox,
        description="How e-mail leaves: outbox, smtp, govuk_notify.",
    )
    sms_channel: SmsChannelKind = Field(
        default=SmsChannelKind.outbox, description="How SMS leaves: outbox, govuk_notify."
    )
    smtp_host: str = Field(default="localhost", description="The council's SMTP relay.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(default=SmtpSecurity.starttls)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    mail_from: str = Field(
        default="inspection-week@example.org", description="From address of every e-mail."
    )
    mail_reply_to: str | None = Field(default=None, description="Reply-To of every e-mail.")
    notify_api_key: SecretStr | None = Field(
        default=None, description="GOV.UK Notify API key ({name}-{service id}-{secret})."
    )
    notify_base_url: str = Field(default="https://api.notifications.service.gov.uk")
    notify_email_template_id: str | None = None
    notify_sms_template_id: str | None = None
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    notify_sms_prefix: str | None = Field(
        default=None,
        max_length=255,
        description="The service name Notify puts before every text message, when its setting "
        "'Start all text messages with your service name' is on (counts towards fragments).",
    )
    notify_email_reply_to_id: str | None = Field(
        default=None,
        description="The id of MAIL_REPLY_TO among Notify's reply-to addresses (a UUID).",
    )
    notify_status_poll_minutes: float = Field(
        default=10.0,
        gt=0,
        le=24 * 60,
        description="Ask Notify for the status of a message still without a receipt after this.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Base of links in messages (acknowledgement)."
    )
    notify_callback_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Notify sends on delivery-receipt and inbound-SMS callbacks.",
    )
    notify_rate_limit_per_minute: int = Field(
        default=3000,
        ge=1,
        description="Messages a minute sent to GOV.UK Notify (its default limit).",
    )
    smtp_rate_limit_per_minute: int = Field(
        default=6000, ge=1, description="Messages a minute sent to the SMTP relay."
    )
    dispatcher_enabled: bool = Field(
        default=True, description="Send queued messages from this process."
    )
    dispatch_concurrency: int = Field(
        default=150,
        ge=1,
        le=1000,
        description=(
            "Messages in flight at once; a quarter of it is claimed or written at a time"
            " (under a provider's rate limit, no more than a quarter of a second's sends)."
        ),
    )
    dispatch_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long a claimed message is held before another sender may retry it.",
    )
    shutdown_drain_seconds: float = Field(
        default=20.0,
        ge=0,
        le=600,
        description="On SIGTERM, how long sends and webhook posts in flight may take to finish; "
        "unfinished message sends are then handed back to the queue.",
    )
    message_max_attempts: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Tries before a message counts as failed and escalates.",
    )
    webhooks_enabled: bool = Field(default=True, description="Deliver webhooks from this process.")
    webhook_concurrency: int = Field(
        default=20, ge=1, le=500, description="Webhook requests in flight at once."
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long claimed webhook deliveries are held before another worker may "
        "send them again (a worker that died mid-send leaves them this long).",
    )
    webhook_allow_http: bool = Field(
        default=False, description="Let webhooks go to http:// URLs (tests only; https otherwise)."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks go to loopback, private and link-local addresses.",
    )
    council_name: str = Field(default="the council", description="How messages name the council.")
    steering_group: str = Field(
        default=DEFAULT_STEERING_GROUP,
        min_length=1,
        max_length=100,
        description="The contacts group messaged first with everyone who reports to nobody.",
    )
    ack_link_max_age_hours: int = Field(
        default=168, ge=1, le=24 * 90, description="How long an acknowledgement link stays valid."
    )
    session_idle_minutes: int = Field(
        default=120, ge=5, le=24 * 60, description="A signed-in page session ends after this idle."
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=24 * 7, description="A session ends this long after sign-in at most."
    )
    govuk_frontend_dir: Path | None = Field(
        default=None,
        description="GOV.UK Frontend's dist/govuk folder; default node_modules/ beside the code.",
    )
    swagger_ui_dir: Path | None = Field(
        default=None,
        description="swagger-ui-dist's folder, for /docs; default node_modules/ beside the code.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Europe" is a folder
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if not entries:
            raise ValueError("give at least one address, network or *")
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry)  # strict, as uvicorn reads it
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network") from exc
        return ",".join(entries)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(
            ("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")
        ):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @model_validator(mode="after")
    def _pool_holds_the_requests(self) -> Settings:
        """A pool smaller than the requests let in at once (two sessions each) plus the
        background work would let requests wait on each other's connections until the pool's
        timeout: refused at start rather than found on the morning of a call."""
        room = self.db_pool_size + self.db_max_overflow - BACKGROUND_CONNECTIONS
        if 2 * self.request_concurrency > room:
            raise ValueError(
                f"REQUEST_CONCURRENCY {self.request_concurrency} needs "
                f"{2 * self.request_concurrency + BACKGROUND_CONNECTIONS} database connections "
                f"but DB_POOL_SIZE + DB_MAX_OVERFLOW is {self.db_pool_size + self.db_max_overflow};"
                " lower REQUEST_CONCURRENCY or raise the pool"
            )
        return self

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


def _shown(field: str, value: object) -> str:
    """The rejected value as it may appear on a terminal or in a log: never a secret setting,
    never the password inside a URL."""
    info = Settings.model_fields.get(field)
    if info is not None and SecretStr in (info.annotation, *get_args(info.annotation)):
        return "(hidden)"
    if isinstance(value, str):
        value = re.sub(r"(://[^/:@\s]*:)[^@\s]*@", r"\1***@", value)
    return repr(value)


def describe_settings_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
        if error["type"] == "extra_forbidden":
            lines.append(f"{name}: unknown setting")
        elif not error["loc"]:  # a rule across settings: its message names them; no values shown
            lines.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        else:
            field = str(error["loc"][0]) if error["loc"] else ""
            lines.append(f"{name}: {error['msg']} (got {_shown(field, error.get('input'))})")
    return "Invalid settings:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_settings_error(exc)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
