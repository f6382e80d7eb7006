"""Configuration from the environment and an optional ``.env``, validated by pydantic-settings.

Every number has bounds no sane deployment goes beyond: a value past them is a typo or an
attack, and would fail later and far away (``timedelta(hours=10**20)`` overflows when the
first visit is rejected), so it stops the program at start, with the setting named.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from checklists.loader import SHIPPED_DIR
from visits.integrity import IntegrityRules

DEFAULT_BOT_API_URL = "https://api.telegram.org/bot"
DEFAULT_SCHEDULE = "mon 09:00"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TELEGRAM_ID = 2**63 - 1
"""Telegram user ids are positive and fit a signed 64-bit integer."""
TELEGRAM_ID = re.compile(r"[0-9]+")
"""ASCII digits only: ``str.isdigit()`` and ``int()`` also take ``١٢`` and ``²``."""
BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
}
"""Pydantic's range errors, as words for the message that names the setting."""
NOT_A_NUMBER = {
    "finite_number": "a finite number",
    "float_parsing": "a number",
    "int_parsing": "a whole number",
    "int_parsing_size": "a whole number",
    "int_from_float": "a whole number",
}
"""Pydantic's errors for a value that is no number of the setting's kind, in plain words."""


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
    # Each description is the unit, quoted when a value is out of bounds.
    admins: Annotated[list[Annotated[int, Field(ge=1, le=MAX_TELEGRAM_ID)]], NoDecode] = Field(
        default_factory=list, description="Telegram user ids"
    )
    webhook_secret: str = ""
    checkin_distance_m: Annotated[
        float, Field(gt=0, le=100_000, allow_inf_nan=False, description="metres")
    ] = 300
    min_seconds_per_item: Annotated[
        float, Field(ge=0, le=600, allow_inf_nan=False, description="seconds")
    ] = 8
    repeat_visit_days: Annotated[int, Field(ge=0, le=365, description="days")] = 14
    resubmit_hours: Annotated[int, Field(ge=1, le=24 * 90, description="hours")] = 48
    action_days: Annotated[int, Field(ge=1, le=365, description="days")] = 7
    """How long a store has for a corrective action a visit opened."""
    employee_names: bool = True
    """``MSBOT_EMPLOYEE_NAMES=off``: shoppers name no employee and no employee data is kept
    (the ethics codes ask that staff know mystery shopping happens and what it is for)."""

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
        if not all(TELEGRAM_ID.fullmatch(part) for part in parts):
            raise ValueError(
                f"{value!r} is not a comma-separated list of Telegram user ids (digits 0-9)"
            )
        return parts  # pydantic makes them numbers, and checks the bounds

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
            action_days=self.action_days,
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
    counts 0 = Sunday, and APScheduler's ``CronTrigger.from_crontab("0 9 * * 1")`` fires on
    Tuesday.
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
        raise SettingsError(f"setting {name} is wrong: {_message(error)}") from None


def _message(error: ErrorDetails) -> str:
    """A plain sentence: pydantic's own says "Input should be less than or equal to 2160"."""
    context = error.get("ctx", {})
    if error["type"] in BOUNDS:
        key, words = BOUNDS[error["type"]]
        field = Settings.model_fields.get(str(error["loc"][0]))
        unit = f" ({field.description})" if field and field.description else ""
        return f"must be {words} {_plain(context[key])}{unit}, not {_shown(error['input'])}"
    if error["type"] in NOT_A_NUMBER:
        return f"must be {NOT_A_NUMBER[error['type']]}, not {_shown(error['input'])}"
    return str(context.get("error", error["msg"]))


def _plain(number: object) -> str:
    """``600`` rather than ``600.0``, the bound of a float setting as pydantic gives it."""
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def _shown(value: object) -> str:
    """The value as given, on one line (``repr`` escapes a newline) and not too long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"
