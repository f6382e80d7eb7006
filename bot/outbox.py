"""The messages the bot sends on its own, each once: the managers' visit cards and the notices
(reminders, decisions told), from their ledgers (``storage.cards``, ``storage.notices``).

Their rows are added in the transaction that decides them; this worker sends them one at a
time in the ledger's discipline (``storage.ledger``), started at once when a handler says
something is due and on a tick that catches up after a restart, a failure's backoff or a dead
process's lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import Bot, Message
from telegram.ext import Application, ContextTypes

from bot.ledger_send import HeldRow
from bot.markup import fit, inline
from bot.service import Service
from bot.service.outcome import Reply
from storage import cards, notices
from storage.db import Database
from storage.models import LedgerRow, Notice, VisitCard
from visits.clock import Clock

log = logging.getLogger(__name__)
TICK_SECONDS = 10


class Claimed(Protocol):
    @property
    def row_id(self) -> int: ...
    @property
    def token(self) -> str: ...
    @property
    def chat_id(self) -> int: ...


@dataclass(frozen=True)
class _Ledger:
    """One ledger of messages: its rows, how a row is claimed, what it says, what is kept."""

    name: str
    model: type[LedgerRow]
    candidates: Callable[[Session, datetime], list[int]]
    claim: Callable[[Session, int, str, datetime], Any]
    reply: Callable[[Any], Reply]
    record: Callable[[Any, Message], None]


@dataclass
class MessageLedgers:
    service: Service
    worker: str = f"{socket.gethostname()}:{os.getpid()}"
    _running: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @property
    def database(self) -> Database:
        return self.service.setting.database

    @property
    def zone(self) -> ZoneInfo:
        return self.service.setting.clock.zone

    @property
    def ledgers(self) -> tuple[_Ledger, ...]:
        return (
            _Ledger(
                "card",
                VisitCard,
                cards.candidates,
                cards.claim,
                lambda item: self.service.card(item.row_id),
                lambda row, message: setattr(row, "message_id", message.message_id),
            ),
            _Ledger(
                "notice",
                Notice,
                notices.candidates,
                notices.claim,
                lambda item: Reply(item.text),
                lambda row, message: None,
            ),
        )

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        queue = application.job_queue
        assert queue is not None, "python-telegram-bot[job-queue] is required"
        queue.run_repeating(self._job, interval=TICK_SECONDS, first=2, name="messages")

    async def _job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.kick(context.application)

    def kick(self, application: Application) -> None:  # type: ignore[type-arg]
        """Send what is due in the background, unless a run is going (it takes it)."""
        if not self._running.locked():
            application.create_task(self.run_once(application.bot), name="messages")

    async def run_once(self, bot: Bot, now: datetime | None = None) -> int:
        """Send every due card and notice this process can claim, one by one; the number."""
        if self._running.locked():
            return 0
        async with self._running:
            clock = Clock.fixed(now, self.zone) if now is not None else Clock(self.zone)
            sent = 0
            for ledger in self.ledgers:
                while item := await asyncio.to_thread(self._claim, ledger, clock.now()):
                    sent += await self._deliver(bot, ledger, item, clock)
            return sent

    def _claim(self, ledger: _Ledger, now: datetime) -> Claimed | None:
        with self.database.read() as session:
            found = ledger.candidates(session, now)
        for row_id in found:
            with self.database.write() as session:
                item: Claimed | None = ledger.claim(session, row_id, self.worker, now)
            if item is not None:
                return item
        return None

    async def _deliver(self, bot: Bot, ledger: _Ledger, item: Claimed, clock: Clock) -> int:
        what = f"{ledger.name} {item.row_id} for chat {item.chat_id}"
        held = HeldRow(self.database, ledger.model, item.row_id, item.token, what)
        async with held.renewed(clock):
            try:
                reply = await asyncio.to_thread(ledger.reply, item)
            except Exception:
                log.exception("rendering the %s failed", what)
                await held.failed(f"rendering the {ledger.name} failed; see the log", clock.now())
                return 0

            async def message() -> Message:
                text, mode = fit(reply.text)
                return await bot.send_message(
                    item.chat_id, text, parse_mode=mode, reply_markup=inline(reply)
                )

            sent = await held.send(message, clock)
            if sent is None:
                return 0
            if not await held.sent(lambda row: ledger.record(row, sent[0]), clock.now()):
                return 0
        log.info("%s sent", what)
        return 1
