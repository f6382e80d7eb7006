"""Weekly workbooks through Telegram: the scheduled, exactly-once delivery and ``/report``.

The JobQueue (APScheduler) fires at the report schedule and also ticks every few seconds;
each run asks the ledger what is due, so a bot that was down at 09:00 delivers on start, a
failed send is retried after its backoff, and a row a dead process was holding is taken
over soon after its lease runs out. Rows are worked through one at a time (``exports.delivery``
says why); workbooks are built in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.constants import FileSizeLimit
from telegram.ext import Application, ContextTypes

from bot.i18n import Translator, pick_language
from bot.ledger_send import HeldRow
from bot.settings import report_trigger
from exports import delivery
from exports.build import BuiltWorkbook, WeekCache, build_workbook
from exports.report_data import Scope
from exports.weeks import Week
from storage.db import Database
from storage.models import ReportDelivery
from visits.clock import Clock

log = logging.getLogger(__name__)
R = TypeVar("R")
TICK_SECONDS = 10
"""How often the ledger is looked at: a row freed by a dead process waits at most this long
after its lease."""
UPLOAD_READ_SECONDS, UPLOAD_WRITE_SECONDS = 60.0, 20.0
UPLOAD_BYTES_PER_SECOND = 256 * 1024
"""The slowest upload we plan for: a 50 MB workbook gets about 3 more minutes to go out."""


@dataclass
class ReportService:
    database: Database
    zone: ZoneInfo
    language: str
    export_dir: Path
    schedule: str
    worker: str = f"{socket.gethostname()}:{os.getpid()}"
    document_limit: int = FileSizeLimit.FILESIZE_UPLOAD
    upload_read_seconds: float = UPLOAD_READ_SECONDS
    """How long an upload's answer may take, before the time its size needs."""
    _running: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

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
        """Start a delivery run unless one is going; the job itself returns at once, so a
        long run does not make the scheduler skip (and log) the ticks meanwhile."""
        if not self._running.locked():
            context.application.create_task(self.run_once(context.bot), name="report delivery")

    async def run_once(self, bot: Bot, now: datetime | None = None) -> int:
        """Deliver everything due and claimable, row by row; the number sent. A run already
        going in this process takes what this one would have (this returns 0)."""
        if self._running.locked():
            return 0
        async with self._running:
            # The run's "now": the real time, or a fixed moment a caller (a test) gives.
            clock = Clock.fixed(now, self.zone) if now is not None else Clock(self.zone)
            sent = 0
            # Every workbook of the run derives from one reading of its week.
            cache = WeekCache(self.database, self.zone)
            while (item := await asyncio.to_thread(self.claim_next, clock.now())) is not None:
                sent += await self.deliver(bot, item, clock, cache)
            return sent

    def claim_next(self, now: datetime) -> delivery.Claimed | None:
        """The due week's ledger completed, then one row claimed for this process."""
        week = delivery.due_week(now, report_trigger(self.schedule, str(self.zone)), self.zone)
        with self.database.read() as session:
            new = delivery.missing(session, week, delivery.recipients(session))
            candidates = delivery.candidates(session, now)
        if new:
            with self.database.write() as session:
                delivery.ensure_ledger(session, week, new)
                candidates = delivery.candidates(session, now)
        for delivery_id in candidates:
            with self.database.write() as session:
                item = delivery.claim(session, delivery_id, self.worker, now)
            if item is not None:
                return item
        return None

    def build(
        self,
        week: Week,
        scope: Scope,
        language: str,
        now: datetime | None = None,
        cache: WeekCache | None = None,
    ) -> BuiltWorkbook:
        """One workbook; from the week in ``cache`` when given (a run's or a batch's), else
        from the database as it is now."""
        return build_workbook(
            self.database,
            week,
            scope,
            zone=self.zone,
            language=language,
            export_dir=self.export_dir,
            t=Translator(language, "reports"),
            now=now,
            cache=cache,
        )

    async def deliver(
        self, bot: Bot, item: delivery.Claimed, clock: Clock, cache: WeekCache | None = None
    ) -> int:
        """Build, send and record one claimed row, renewing the claim all the while."""
        held = HeldRow(
            self.database,
            ReportDelivery,
            item.delivery_id,
            item.token,
            f"report {item.week} for person {item.recipient.person_id}",
        )
        async with held.renewed(clock):
            return await self._deliver(bot, item, held, clock, cache)

    async def _deliver(
        self,
        bot: Bot,
        item: delivery.Claimed,
        held: HeldRow,
        clock: Clock,
        cache: WeekCache | None,
    ) -> int:
        recipient = item.recipient
        language = pick_language(recipient.language, self.language)
        try:
            built = await asyncio.to_thread(
                self.build, item.week, recipient.scope, language, None, cache
            )
        except OSError as exc:
            log.warning("%s not sent: the workbook could not be written: %s", held.what, exc)
            await held.failed(f"{type(exc).__name__}: {exc}", clock.now())
            return 0
        except Exception:
            log.exception("building %s failed", held.what)
            await held.failed("building the workbook failed; see the log", clock.now())
            return 0

        async def upload() -> None:
            chat = recipient.telegram_id
            await self.send(bot, chat, item.week, built, language, recipient.scope, cache)

        if await held.send(upload, clock) is None:
            return 0

        def record(row: ReportDelivery) -> None:
            row.workbook_hash, row.file_path = built.digest, str(built.path)

        if not await held.sent(record, clock.now()):
            return 0
        log.info("%s sent (%s)", held.what, recipient.scope.label)
        return 1

    async def send(
        self,
        bot: Bot,
        chat_id: int,
        week: Week,
        built: BuiltWorkbook,
        language: str,
        scope: Scope,
        cache: WeekCache | None = None,
    ) -> None:
        """The workbook as a document. One over Telegram's limit is split into one workbook
        per store (with a message saying so); if even those are too large, the recipient is
        told where the file is kept instead."""
        t = Translator(language)
        if built.size <= self.document_limit:
            await self._document(bot, chat_id, week, built, t)
            return
        parts = await asyncio.to_thread(self._split, week, scope, language, cache)
        size = _megabytes(built.size)
        if len(parts) > 1 and all(p.size <= self.document_limit for p in parts):
            await bot.send_message(
                chat_id, t("report.split", week=week.label, size=size, count=len(parts))
            )
            for part in parts:
                await self._document(bot, chat_id, week, part, t)
            return
        await bot.send_message(
            chat_id, t("report.too_large", week=week.label, size=size, path=str(built.path))
        )

    def _split(
        self, week: Week, scope: Scope, language: str, cache: WeekCache | None
    ) -> list[BuiltWorkbook]:
        with self.database.read() as session:
            codes = delivery.store_codes(session, scope)
        if len(codes) < 2:
            return []
        cache = cache or WeekCache(self.database, self.zone)
        return [self.build(week, scope.only(code), language, cache=cache) for code in codes]

    async def _document(
        self, bot: Bot, chat_id: int, week: Week, built: BuiltWorkbook, t: Translator
    ) -> None:
        """Upload the checked bytes, with time for the file's size: an upload is never
        repeated after it went out, so a timeout that came too early would cost a copy."""
        caption = t(
            "report.caption",
            week=week.label,
            start=f"{week.monday:%d.%m.%Y}",
            end=f"{week.monday + timedelta(days=6):%d.%m.%Y}",
        )
        transfer = built.size / UPLOAD_BYTES_PER_SECOND
        await bot.send_document(
            chat_id,
            document=built.data,
            filename=built.path.name,
            caption=caption,
            read_timeout=self.upload_read_seconds + transfer,
            write_timeout=UPLOAD_WRITE_SECONDS + transfer,
        )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"
