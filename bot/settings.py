"""Configuration from the environment and an optional ``.env``, validated by pydantic-settings."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from checklists.loader import SHIPPED_DIR
from storage.integrity import IntegrityRules

DEFAULT_BOT_API_URL = "https://api.telegram.org/bot"
DEFAULT_SCHEDULE = "mon 09:00"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsError(Exception):
    """A setting is wrong; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: str = ""
    bot_username: str = ""
    data_dir: Path = Path("data")
    database_url: str = ""
    bot_api_url: str = DEFAULT_BOT_API_URL
    timezone: str = "Europe/Moscow"
    language: Literal["ru", "en"] = "ru"
    checklists_dir: Path = SHIPPED_DIR
    export_dir: Path | None = None
    report_schedule: str = DEFAULT_SCHEDULE
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_secret: str = ""
    checkin_distance_m: Annotated[float, Field(gt=0)] = 300
    min_seconds_per_item: Annotated[float, Field(ge=0)] = 8
    repeat_visit_days: Annotated[int, Field(ge=0)] = 14
    resubmit_hours: Annotated[int, Field(ge=1)] = 48

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("use 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def webhook_secret_token(self) -> str:
        """The configured secret, or one derived from the bot token, the same in every process."""
        if self.webhook_secret:
            return self.webhook_secret
        return hashlib.sha256(f"msbot-webhook:{self.bot_token}".encode()).hexdigest()[:48]

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if value and (":" not in value or not value.split(":", 1)[0].isdigit()):
            raise ValueError("a bot token looks like 123456:ABC-DEF..., as BotFather gives it")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like Europe/Moscow"
            ) from None
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:8081/bot")
        return value

    @field_validator("report_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        report_trigger(value, "UTC")
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, int):
            return [value]
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ValueError(f"{value!r} is not a comma-separated list of Telegram user ids")
        return [int(part) for part in parts]

    @model_validator(mode="after")
    def _derived_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'msbot.sqlite3').resolve()}"
        if self.export_dir is None:
            self.export_dir = self.data_dir / "exports"
        return self

    @property
    def integrity_rules(self) -> IntegrityRules:
        return IntegrityRules(
            checkin_distance_m=self.checkin_distance_m,
            min_seconds_per_item=self.min_seconds_per_item,
            repeat_days=self.repeat_visit_days,
            resubmit_hours=self.resubmit_hours,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def exports(self) -> Path:
        return self.export_dir or self.data_dir / "exports"


def report_trigger(schedule: str, timezone: str) -> CronTrigger:
    """``mon 09:00`` / ``mon,thu 08:30`` / ``daily 07:00``, or a 5-field cron line.

    Day *names* are used, never numbers: APScheduler counts 0 = Monday while crontab
    counts 0 = Sunday, and ``from_crontab("0 9 * * 1")`` fires on Tuesday (FIELD-NOTES).
    """
    parts = schedule.split()
    try:
        if len(parts) == 2:
            days, clock = parts
            hour, minute = (int(x) for x in clock.split(":"))
            day_of_week = "*" if days == "daily" else days.lower()
            if day_of_week != "*" and not all(
                d in DAY_NAMES for d in day_of_week.replace("-", ",").split(",")
            ):
                raise ValueError(days)
            return CronTrigger(day_of_week=day_of_week, hour=hour, minute=minute, timezone=timezone)
        if len(parts) == 5:
            minute_f, hour_f, day_f, month_f, dow_f = parts
            if any(ch.isdigit() for ch in dow_f):
                raise ValueError("use day names (mon..sun) in the day-of-week field")
            return CronTrigger(
                minute=minute_f,
                hour=hour_f,
                day=day_f,
                month=month_f,
                day_of_week=dow_f,
                timezone=timezone,
            )
    except ValueError as exc:
        raise ValueError(
            f"not a schedule: {schedule!r} ({exc}); use e.g. 'mon 09:00' or '0 9 * * mon'"
        ) from None
    raise ValueError(f"not a schedule: {schedule!r}; use e.g. 'mon 09:00' or '0 9 * * mon'")


def load_settings(**overrides: object) -> Settings:
    """Settings, or SettingsError with one line naming the setting at fault."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "MSBOT_" + str(error["loc"][0]).upper() if error["loc"] else "MSBOT_*"
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        raise SettingsError(f"setting {name} is wrong: {message}") from None
