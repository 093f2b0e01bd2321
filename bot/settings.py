"""Deployment settings from the environment (prefix ``SHAOZI_``) and an optional ``.env``."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import hide_password

SAMPLE_CITY = Path(__file__).parent / "cities" / "sample.toml"
ENV_PREFIX = "SHAOZI_"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class Settings(BaseSettings):
    """Everything a deployment can set; the city itself lives in the TOML file ``city``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    token: SecretStr | None = Field(default=None, description="Bot token from @BotFather")
    database: Path | str = Field(
        default=Path("data/shaozi.db"),
        description="SQLite database file, or a postgresql://user:pass@host/db URL",
    )
    data_dir: Path = Field(default=Path("data"), description="Directory for photos and exports")
    city: Path = Field(default=SAMPLE_CITY, description="City configuration (TOML)")
    timezone: str = Field(default="Asia/Shanghai", description="The city's IANA time zone")
    api_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base URL (PTB form)"
    )
    file_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file URL (PTB form)"
    )
    mode: Mode = Field(default=Mode.POLLING, description="polling or webhook")
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL for webhook mode")
    webhook_listen: str = Field(default="127.0.0.1", description="Webhook listen address")
    webhook_port: int = Field(default=8443, ge=1, le=65535, description="Webhook listen port")
    webhook_secret: SecretStr | None = Field(default=None, description="Webhook secret token")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    rate_limit: bool = Field(
        default=True, description="Keep within Telegram's limits (replies and notifications)"
    )
    send_rate: float = Field(
        default=30.0, gt=0, le=10_000, description="Notifications per second, overall"
    )
    api_port: int | None = Field(
        default=None, ge=1, le=65535, description="Open311 API port; unset: no API"
    )
    api_listen: str = Field(default="127.0.0.1", description="Open311 API listen address")
    partner_secret: SecretStr | None = Field(
        default=None,
        description="The secret partner keys are derived from (default: a file in the data folder)",
    )
    hooks_allow_private: bool = Field(
        default=False,
        description="Let webhooks and media_url fetches reach private addresses (tests only)",
    )
    concurrent_updates: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Updates handled at once, each conversation's in order (1: one at a time)",
    )
    api_connections: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Connections to the Bot API at most (updates beyond them wait for one)",
    )
    offload_processes: int = Field(
        default=1,
        ge=0,
        le=32,
        description="Processes for exports and charts, and as many for photos (0: threads)",
    )

    @field_validator("database", mode="before")
    @classmethod
    def _file_or_url(cls, value: Any) -> Path | str:
        """A ``postgresql://`` URL names a PostgreSQL database; anything else is a file."""
        if isinstance(value, str) and value.startswith(POSTGRES_SCHEMES):
            return value
        return Path(value)

    @property
    def database_label(self) -> str:
        """The database for a message: the file, or the URL without its password."""
        if isinstance(self.database, Path):
            return str(self.database)
        return hide_password(self.database)

    worker: str | None = Field(
        default=None,
        description="This worker's name when several run against one database (e.g. the"
        " systemd instance, 1, 2, 3); unset: the only process",
    )

    @field_validator("worker")
    @classmethod
    def _worker_name(cls, value: str | None) -> str | None:
        if value is not None and not (
            1 <= len(value) <= 64 and all(c.isalnum() or c in "_-." for c in value)
        ):
            raise ValueError("must be 1-64 characters of letters, digits, _, - and .")
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("api_url", "file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None:
            raw = value.get_secret_value()
            if not 1 <= len(raw) <= 256 or not all(c.isalnum() or c in "_-" for c in raw):
                raise ValueError("must be 1-256 characters of letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> Settings:
        if self.mode is Mode.WEBHOOK and not self.webhook_url:
            raise ValueError("SHAOZI_WEBHOOK_URL is required when SHAOZI_MODE=webhook")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level))


class SettingsError(Exception):
    """Settings could not be loaded; ``lines`` name each setting and its problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def describe_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic's errors into one line per setting, named as in the environment."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc:
            name = ENV_PREFIX + loc[0].upper()
            given = error.get("input")
            shown = ""
            if isinstance(given, str | int) and loc[0] != "token" and repr(given) not in message:
                shown = f" (got {given!r})"
            lines.append(f"{name}: {message}{shown}")
        else:
            lines.append(message)
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Read settings, raising SettingsError with one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
