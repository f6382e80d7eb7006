"""The managers' visit cards through Telegram, each sent once per (visit, manager).

The cards' ledger (``storage.cards``) gets its rows in the transaction that makes a visit
count; this worker sends them one at a time in the ledger's discipline (``storage.ledger``),
started at once when a handler says cards may be due and on a tick that catches up after a
restart, a failure's backoff or a dead process's lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot, Message
from telegram.ext import Application, ContextTypes

from bot.ledger_send import HeldRow
from bot.markup import fit, inline
from bot.service import Service
from storage import cards
from storage.db import Database
from storage.models import VisitCard
from visits.clock import Clock

log = logging.getLogger(__name__)
TICK_SECONDS = 10


@dataclass
class CardService:
    service: Service
    worker: str = f"{socket.gethostname()}:{os.getpid()}"
    _running: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @property
    def database(self) -> Database:
        return self.service.setting.database

    @property
    def zone(self) -> ZoneInfo:
        return self.service.setting.clock.zone

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        queue = application.job_queue
        assert queue is not None, "python-telegram-bot[job-queue] is required"
        queue.run_repeating(self._job, interval=TICK_SECONDS, first=2, name="visit cards")

    async def _job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.kick(context.application)

    def kick(self, application: Application) -> None:  # type: ignore[type-arg]
        """Send the due cards in the background, unless a run is going (it takes them)."""
        if not self._running.locked():
            application.create_task(self.run_once(application.bot), name="visit cards")

    async def run_once(self, bot: Bot, now: datetime | None = None) -> int:
        """Send every due card this process can claim, one by one; the number sent."""
        if self._running.locked():
            return 0
        async with self._running:
            clock = Clock.fixed(now, self.zone) if now is not None else Clock(self.zone)
            sent = 0
            while (item := await asyncio.to_thread(self.claim_next, clock.now())) is not None:
                sent += await self.deliver(bot, item, clock)
            return sent

    def claim_next(self, now: datetime) -> cards.Claimed | None:
        with self.database.read() as session:
            found = cards.candidates(session, now)
        for card_id in found:
            with self.database.write() as session:
                item = cards.claim(session, card_id, self.worker, now)
            if item is not None:
                return item
        return None

    async def deliver(self, bot: Bot, item: cards.Claimed, clock: Clock) -> int:
        what = f"card of visit {item.visit_id} for person {item.manager_id}"
        held = HeldRow(self.database, VisitCard, item.card_id, item.token, what)
        async with held.renewed(clock):
            try:
                reply = await asyncio.to_thread(self.service.card, item.card_id)
            except Exception:
                log.exception("rendering the %s failed", what)
                await held.failed("rendering the card failed; see the log", clock.now())
                return 0

            async def message() -> Message:
                text, mode = fit(reply.text)
                return await bot.send_message(
                    item.chat_id, text, parse_mode=mode, reply_markup=inline(reply)
                )

            sent = await held.send(message, clock)
            if sent is None:
                return 0
            message_id = sent[0].message_id

            def record(row: VisitCard) -> None:
                row.message_id = message_id

            if not await held.sent(record, clock.now()):
                return 0
        log.info("%s sent", what)
        return 1
