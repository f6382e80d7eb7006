"""Updates of different people handled at once, each person's in the order they came.

python-telegram-bot handles one update at a time by default, so one shopper's wait (the
database's fsync, a Bot API round trip) holds up everyone behind them. Handling updates
concurrently removes that wait, but a person's own updates must not overtake each other: a
shopper who taps "Yes" and then "Next" quickly would otherwise have the second tap read the
draft before the first is saved. ``PerPersonOrder`` chains each person's updates: an
update waits for the one before it from the same person, and nobody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

CONCURRENT_UPDATES = 8
"""Updates handled at once: enough to keep the worker threads and the Bot API calls busy."""
IN_HAND = 1024
"""Updates the library takes from its queue at once (its own semaphore). A person's update
that waits for their previous one waits before taking one of the ``CONCURRENT_UPDATES``
places, so a shopper's queued taps hold up nobody else; this only bounds the memory."""


class PerPersonOrder(BaseUpdateProcessor):
    """Concurrent across people, in order for each person (by the sender's user id, else
    the chat's; an update with neither, such as a poll's new state, is not ordered).

    The library hands updates to ``do_process_update`` in the order they arrived (its tasks
    are started in that order and its semaphore, sized ``IN_HAND``, wakes waiters first
    come, first served), so chaining them here keeps each person's order; the places are
    this processor's own semaphore, taken once a person's turn has come.
    """

    def __init__(
        self, concurrent_updates: int = CONCURRENT_UPDATES, in_hand: int = IN_HAND
    ) -> None:
        super().__init__(in_hand)
        self._places = asyncio.Semaphore(concurrent_updates)
        self._last: dict[int, asyncio.Future[None]] = {}
        """Each person's latest update in hand: done once it has been handled."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _sender(update)
        if key is None:
            async with self._places:
                await coroutine
            return
        before = self._last.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[key] = mine
        try:
            if before is not None:
                try:
                    # Shielded: cancelling this update must not cancel the chain's link.
                    await asyncio.shield(before)
                except asyncio.CancelledError:
                    _close(coroutine)
                    raise
            async with self._places:
                await coroutine
        finally:
            mine.set_result(None)
            if self._last.get(key) is mine:
                del self._last[key]

    async def initialize(self) -> None:
        """Nothing to set up: the chains live in memory and start empty."""

    async def shutdown(self) -> None:
        """Nothing to release: a chain ends with its last update."""

    @property
    def people_in_hand(self) -> int:
        """People with an update being handled or waiting (for tests and diagnostics)."""
        return len(self._last)


def _sender(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None


def _close(coroutine: Awaitable[Any]) -> None:
    """An update abandoned before it started: its coroutine is closed, not left to warn."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        with contextlib.suppress(RuntimeError):
            close()
