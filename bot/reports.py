"""Weekly workbooks through Telegram: the scheduled, exactly-once delivery and ``/report``.

The JobQueue (APScheduler) fires at the report schedule and also ticks every minute; each
run asks the ledger what is due, so a bot that was down at 09:00 delivers on start and a
failed send is retried after its backoff. Workbooks are built in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.constants import FileSizeLimit
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.i18n import Translator, pick_language
from bot.settings import report_trigger
from exports import delivery
from exports.build import build_workbook
from exports.report_data import Scope
from exports.weeks import Week
from storage import maintenance
from storage.db import Database

log = logging.getLogger(__name__)
TICK_SECONDS = 60


@dataclass
class ReportService:
    database: Database
    zone: ZoneInfo
    language: str
    export_dir: Path
    schedule: str
    worker: str = f"{socket.gethostname()}:{os.getpid()}"
    document_limit: int = FileSizeLimit.FILESIZE_UPLOAD

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        """The schedule's own fire times, plus a tick for catch-up and retries."""
        queue = application.job_queue
        assert queue is not None, "python-telegram-bot[job-queue] is required"
        queue.run_custom(
            self._job,
            job_kwargs={"trigger": report_trigger(self.schedule, str(self.zone))},
            name="weekly reports",
        )
        queue.run_repeating(self._job, interval=TICK_SECONDS, first=1, name="report ledger")

    async def _job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.run_once(context.bot)

    async def run_once(self, bot: Bot, now: datetime | None = None) -> int:
        """Deliver everything due and claimable now; the number sent."""
        moment = now or datetime.now(UTC)
        claimed = await asyncio.to_thread(self.claim_due, moment)
        if claimed:
            await asyncio.to_thread(maintenance.refresh_statistics, self.database)
        sent = 0
        for item in claimed:
            sent += await self.deliver(bot, item, moment)
        return sent

    def claim_due(self, now: datetime) -> list[delivery.Claimed]:
        week = delivery.due_week(now, report_trigger(self.schedule, str(self.zone)), self.zone)
        with self.database.write() as session:
            delivery.ensure_ledger(session, week, delivery.recipients(session))
            candidates = delivery.claimable(session, now)
        claimed = []
        for delivery_id in candidates:
            with self.database.write() as session:
                item = delivery.claim(session, delivery_id, self.worker, now)
            if item is not None:
                claimed.append(item)
        return claimed

    def build(self, week: Week, scope: Scope, language: str, now: datetime | None = None) -> Path:
        return build_workbook(
            self.database,
            week,
            scope,
            zone=self.zone,
            language=language,
            export_dir=self.export_dir,
            t=Translator(language, "reports"),
            now=now,
        )

    async def deliver(self, bot: Bot, item: delivery.Claimed, now: datetime) -> int:
        recipient = item.recipient
        language = pick_language(recipient.language, self.language)
        try:
            path = await asyncio.to_thread(self.build, item.week, recipient.scope, language)
            digest = await asyncio.to_thread(delivery.file_digest, path)
            await self.send(bot, recipient.telegram_id, item.week, path, language, recipient.scope)
        except RetryAfter as exc:
            wait = (
                exc.retry_after
                if isinstance(exc.retry_after, timedelta)
                else timedelta(seconds=float(exc.retry_after))
            )
            await asyncio.to_thread(self._failed, item, f"RetryAfter {wait}", now, wait)
            return 0
        except (TelegramError, OSError) as exc:
            log.warning("report %s for person %s not sent: %s", item.week, recipient.person_id, exc)
            await asyncio.to_thread(self._failed, item, f"{type(exc).__name__}: {exc}", now, None)
            return 0
        except Exception:
            log.exception("building report %s for person %s failed", item.week, recipient.person_id)
            await asyncio.to_thread(self._failed, item, "build failed; see the log", now, None)
            return 0
        await asyncio.to_thread(self._sent, item, path, digest)
        log.info(
            "report %s sent to person %s (%s)",
            item.week,
            recipient.person_id,
            recipient.scope.label,
        )
        return 1

    def _sent(self, item: delivery.Claimed, path: Path, digest: str) -> None:
        with self.database.write() as session:
            delivery.mark_sent(session, item, path, digest, datetime.now(UTC))

    def _failed(
        self, item: delivery.Claimed, error: str, now: datetime, wait: timedelta | None
    ) -> None:
        with self.database.write() as session:
            backoff = delivery.mark_failed(session, item, error, now, wait)
        log.info(
            "report %s for person %s will be retried in %s",
            item.week,
            item.recipient.person_id,
            backoff,
        )

    async def send(
        self, bot: Bot, chat_id: int, week: Week, path: Path, language: str, scope: Scope
    ) -> None:
        """The workbook as a document. One over Telegram's limit is split into one workbook
        per store (with a message saying so); if even those are too large, the recipient is
        told where the file is kept instead."""
        t = Translator(language)
        size = path.stat().st_size
        if size <= self.document_limit:
            await self._document(bot, chat_id, week, path, t)
            return
        parts = await asyncio.to_thread(self._split, week, scope, language)
        if len(parts) > 1 and all(p.stat().st_size <= self.document_limit for p in parts):
            await bot.send_message(
                chat_id, t("report.split", week=week.label, size=_megabytes(size), count=len(parts))
            )
            for part in parts:
                await self._document(bot, chat_id, week, part, t)
            return
        await bot.send_message(
            chat_id, t("report.too_large", week=week.label, size=_megabytes(size), path=str(path))
        )

    def _split(self, week: Week, scope: Scope, language: str) -> list[Path]:
        with self.database.read() as session:
            codes = delivery.store_codes(session, scope)
        if len(codes) < 2:
            return []
        return [self.build(week, scope.only(code), language) for code in codes]

    async def _document(
        self, bot: Bot, chat_id: int, week: Week, path: Path, t: Translator
    ) -> None:
        caption = t(
            "report.caption",
            week=week.label,
            start=f"{week.monday:%d.%m.%Y}",
            end=f"{week.monday + timedelta(days=6):%d.%m.%Y}",
        )
        with path.open("rb") as handle:
            await bot.send_document(chat_id, document=handle, filename=path.name, caption=caption)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"
