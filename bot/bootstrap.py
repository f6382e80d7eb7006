"""The composition root: the settings and the database made into a running bot.

``msbot run`` and the tests build the bot here, so that they run the same assembly: the
application (``bot.service.Service``) on one clock, the report delivery, and the
python-telegram-bot ``Application`` around both.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.app import build_application
from bot.reports import ReportService
from bot.service import Service
from bot.service.base import Setting
from bot.settings import Settings
from storage.db import Database
from visits.clock import Clock
from visits.integrity import IntegrityRules

log = logging.getLogger(__name__)
UPDATES = ["message", "callback_query"]
"""The kinds of update the bot asks Telegram for."""


class StartupError(Exception):
    """Why the bot cannot start, in one line for the person starting it."""


@dataclass(frozen=True)
class Deployment:
    """Everything the bot is built from (``from_settings`` reads it from the environment)."""

    database: Database
    token: str
    bot_api_url: str
    language: str
    clock: Clock
    checklist_versions: dict[str, int]
    export_dir: Path
    schedule: str
    admins: frozenset[int] = frozenset()
    rules: IntegrityRules = field(default_factory=IntegrityRules)
    webhook_secret: str = ""
    """The secret Telegram sends with each webhook update."""
    employee_names: bool = True
    """Whether shoppers name or describe the employee who served them."""
    timeout: float = 10.0
    """Seconds a Bot API call may take before it is retried."""

    @classmethod
    def from_settings(
        cls, settings: Settings, database: Database, checklist_versions: dict[str, int]
    ) -> Deployment:
        return cls(
            database=database,
            token=settings.bot_token,
            bot_api_url=settings.bot_api_url,
            language=settings.language,
            clock=Clock(settings.zone),
            checklist_versions=checklist_versions,
            export_dir=settings.exports,
            schedule=settings.report_schedule,
            admins=frozenset(settings.admins),
            rules=settings.integrity_rules,
            webhook_secret=settings.webhook_secret_token,
            employee_names=settings.employee_names,
        )


def report_service(deployment: Deployment) -> ReportService:
    return ReportService(
        database=deployment.database,
        zone=deployment.clock.zone,
        language=deployment.language,
        export_dir=deployment.export_dir,
        schedule=deployment.schedule,
    )


def service(deployment: Deployment) -> Service:
    return Service(
        Setting(
            database=deployment.database,
            default_language=deployment.language,
            clock=deployment.clock,
            admins=deployment.admins,
            checklist_versions=deployment.checklist_versions,
            rules=deployment.rules,
            employee_names=deployment.employee_names,
        )
    )


def application(deployment: Deployment) -> Application:  # type: ignore[type-arg]
    """The bot with its handlers and its report and reminder jobs, not yet started."""
    return build_application(
        deployment.token,
        deployment.bot_api_url,
        service(deployment),
        report_service(deployment),
        timeout=deployment.timeout,
    )


def freeze_start_up_objects() -> None:
    """Move what start-up made out of the garbage collector's way (``gc.freeze``, after one
    collection): the modules, checklists, the ORM's mappers and the application live as long
    as the process, and a full collection that walked them all stopped the running bot for
    126–150 ms (1.5–12.5 ms once they were frozen; README, conversation benchmark)."""
    gc.collect()
    gc.freeze()


def run(deployment: Deployment, webhook_url: str | None, listen: str) -> None:
    """Run the bot until it is stopped: long polling, or a webhook server on ``listen``."""
    bot = application(deployment)
    log.info(
        "bot starting: %d checklists, database %s",
        len(deployment.checklist_versions),
        deployment.database.url.render_as_string(),
    )
    url = deployment.bot_api_url
    # Initialised here, on the loop run_polling/run_webhook then use, so that a refused token
    # or an odd getMe answer reaches the lines below instead of the library's own traceback.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(bot.initialize())
        freeze_start_up_objects()
        if not webhook_url:
            bot.run_polling(allowed_updates=UPDATES)
            return
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise StartupError(f"--listen wants HOST:PORT, not {listen!r}")
        bot.run_webhook(
            listen=host,
            port=int(port),
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=deployment.webhook_secret,
            allowed_updates=UPDATES,
        )
    except InvalidToken as exc:
        raise StartupError(
            f"the Bot API at {url} refused the token ({exc}); check MSBOT_BOT_TOKEN"
        ) from exc
    except NetworkError as exc:
        # Only at start-up: once running, the bot retries failed calls itself.
        raise StartupError(
            f"cannot reach the Bot API at {url} ({exc}); check MSBOT_BOT_API_URL and the network"
        ) from exc
    except TelegramError as exc:
        raise StartupError(
            f"the Bot API at {url} answered unexpectedly ({exc}); "
            "check that MSBOT_BOT_API_URL points to a Telegram Bot API server"
        ) from exc
