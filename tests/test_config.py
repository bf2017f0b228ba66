"""Settings: the defaults the README promises, and a refusal naming the setting for anything
malformed, both from `load_settings` and from the commands an operator runs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.config import BankHolidayRegion, Settings, SettingsError, load_settings
from tests.commands import run_command

SETTING_NAMES = [name.upper() for name in Settings.model_fields]

MALFORMED = [
    ("PORT", "abc"),
    ("TIMEZONE", "Mars/Olympus"),
    ("TIMEZONE", "Europe"),  # a folder of the zone database, not a zone
    ("DATABASE_URL", "mysql://root@localhost/inspection_week"),
    ("BANK_HOLIDAY_REGION", "x"),
    ("SCHEDULER_TICK_SECONDS", "0"),
    ("FORWARDED_ALLOW_IPS", "proxy.example.org"),
    ("FORWARDED_ALLOW_IPS", "10.0.0.1/8"),  # host bits set: uvicorn would not read it as a network
    ("FORWARDED_ALLOW_IPS", " , "),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the developer's shell, and a working directory without a .env file."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_command(*args, env=env, cwd=cwd)


def test_defaults_are_the_embedded_single_machine_setup() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./var/inspection-week.db"
    assert settings.timezone == "Europe/London"
    assert settings.zone == ZoneInfo("Europe/London")
    assert settings.bank_holiday_region is BankHolidayRegion.england
    assert settings.bank_holiday_region.subdivision == "ENG"
    assert settings.scheduler_enabled is True
    assert settings.scheduler_tick_seconds == 5.0
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.frameworks_dir is None
    assert settings.forwarded_allow_ips == "127.0.0.1"


def test_environment_variables_override_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://iw@db.example.org/iw")
    monkeypatch.setenv("BANK_HOLIDAY_REGION", "northern-ireland")
    monkeypatch.setenv("SCHEDULER_ENABLED", "false")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("log_level", "debug")  # names are case-insensitive; the level is normalised
    settings = load_settings()
    assert settings.database_url == "postgresql://iw@db.example.org/iw"
    assert settings.bank_holiday_region.subdivision == "NIR"
    assert settings.scheduler_enabled is False
    assert settings.port == 8123
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_a_malformed_value_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert f"{name}:" in message and repr(value) in message
    # Only the bad setting is blamed.
    assert not [other for other in SETTING_NAMES if other != name and f"{other}:" in message]


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_the_command_line_exits_2_naming_a_malformed_setting(
    tmp_path: Path, name: str, value: str
) -> None:
    database = tmp_path / "iw.db"
    env = {"DATABASE_URL": f"sqlite:///{database}", name: value}
    result = run_cli("migrate", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert f"{name}:" in result.stderr and "Traceback" not in result.stderr
    assert not database.exists()  # refused before touching anything


def test_a_refused_database_url_does_not_show_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://iw:hunter2-secret@db.example.org/iw")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "DATABASE_URL:" in str(refused.value) and "db.example.org" in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=8123\nTIMEZONE=Europe/Belfast\n", encoding="utf-8")
    settings = load_settings()
    assert (settings.port, settings.timezone) == (8123, "Europe/Belfast")


def test_the_environment_wins_over_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("PORT=8123\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "9000")
    assert load_settings().port == 9000


def test_an_unknown_name_in_the_dotenv_file_is_refused_naming_it(tmp_path: Path) -> None:
    # A typo must not silently leave the default in force.
    (tmp_path / ".env").write_text("PORT=8123\nSCHEDULER_TIKC_SECONDS=2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="SCHEDULER_TIKC_SECONDS: unknown setting"):
        load_settings()


def test_the_command_line_exits_2_naming_an_unknown_dotenv_name(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABSE_URL=sqlite:///typo.db\n", encoding="utf-8")
    result = run_cli("frameworks", "list", cwd=tmp_path, env={})
    assert result.returncode == 2, result.stderr
    assert "DATABSE_URL: unknown setting" in result.stderr and "Traceback" not in result.stderr


def test_a_pool_too_small_for_the_requests_let_in_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFY_API_KEY", "key-that-must-not-show-" + "0" * 40)
    with pytest.raises(SettingsError) as refused:
        load_settings(request_concurrency=12, db_pool_size=5, db_max_overflow=5)
    message = str(refused.value)
    assert "REQUEST_CONCURRENCY 12 needs 30 database connections" in message
    assert "DB_POOL_SIZE + DB_MAX_OVERFLOW is 10" in message
    assert "key-that-must-not-show" not in message  # a rule across settings shows no values
    fits = load_settings(request_concurrency=2, db_pool_size=5, db_max_overflow=5)
    assert fits.request_concurrency == 2
