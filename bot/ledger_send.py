"""One claimed ledger row sent through Telegram, for every ledger (the weekly workbooks, the
managers' visit cards): the claim renewed while the row is worked on, ``SENDING`` written
before the message leaves, and what Telegram answered recorded as ``storage.ledger`` says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram.error import RetryAfter, TelegramError

from bot.botapi import outcome_unknown, sent_once
from storage import ledger
from storage.db import Database
from storage.models import LedgerRow
from visits.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class HeldRow:
    """A ledger row this process claimed; ``what`` names it in the log (never a token)."""

    database: Database
    model: type[LedgerRow]
    row_id: int
    token: str
    what: str

    def write(self, step: Callable[..., T], *args: object) -> T:
        """One ledger step (``ledger.renew``, ``ledger.mark_sending`` …) in its own
        transaction, on this row with this claim."""
        with self.database.write() as session:
            return step(session, self.model, self.row_id, self.token, *args)

    @asynccontextmanager
    async def renewed(self, clock: Clock) -> AsyncIterator[None]:
        """The claim kept alive while the body works (a dead process stops renewing)."""
        renewer = asyncio.create_task(self._renew(clock))
        try:
            yield
        finally:
            renewer.cancel()

    async def _renew(self, clock: Clock) -> None:
        while True:
            await asyncio.sleep(ledger.RENEW_EVERY.total_seconds())
            if not await asyncio.to_thread(self.write, ledger.renew, clock.now()):
                log.error("%s: the claim was lost", self.what)
                return

    async def failed(self, error: str, now: datetime, wait: timedelta | None = None) -> None:
        """Nothing was sent: the row is retried after ``wait`` or the backoff."""
        backoff = await asyncio.to_thread(self.write, ledger.mark_failed, error, now, wait)
        if backoff is not None:
            log.info("%s will be retried in %s", self.what, backoff)

    async def send(self, call: Callable[[], Awaitable[T]], clock: Clock) -> tuple[T] | None:
        """``SENDING`` recorded, then ``call`` made: its result, or None when nothing is to
        be recorded as sent (the claim was lost, Telegram refused, or nobody knows)."""
        if not await asyncio.to_thread(self.write, ledger.mark_sending, clock.now()):
            log.warning("%s: the claim was lost before sending", self.what)
            return None
        try:
            with sent_once():
                return (await call(),)
        except RetryAfter as exc:
            wait = (
                exc.retry_after
                if isinstance(exc.retry_after, timedelta)
                else timedelta(seconds=float(exc.retry_after))
            )
            await self.failed(f"Telegram asked to wait {wait}", clock.now(), wait)
        except (TelegramError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if outcome_unknown(exc):
                log.warning("%s: outcome unknown (%s)", self.what, error)
                await asyncio.to_thread(self.write, ledger.mark_unknown, error, clock.now())
            else:
                log.warning("%s not sent: %s", self.what, error)
                await self.failed(error, clock.now())
        return None

    async def sent(self, record: Callable[[Any], object], now: datetime) -> bool:
        """Record the send, with ``record`` adding what was sent to the row; False (and
        logged) when the claim had passed to another process meanwhile."""

        def step(session: Any, model: Any, row_id: int, token: str) -> bool:
            row = ledger.mark_sent(session, model, row_id, token, now)
            if row is not None:
                record(row)
            return row is not None

        if await asyncio.to_thread(self.write, step):
            return True
        log.error(
            "%s was sent after its claim passed to another process; a second copy may follow",
            self.what,
        )
        return False
