"""``timer``: seconds until something happened (the greeting, the answer to a call or a
chat), measured by the bot between two button presses or typed; scored by bands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerValue, Asking, WholeNumber, Words, band_score

if TYPE_CHECKING:
    from checklists.schema import Item

DEFAULT_MAX = 900
"""Fifteen minutes: a longer wait is no longer a wait for a greeting."""


class Timer(WholeNumber):
    name = "timer"
    scored = True
    banded = True
    ranged = True
    stopwatch = True

    def value_range(self, item: Item) -> tuple[int, int]:
        low = 0 if item.min is None else item.min
        return low, DEFAULT_MAX if item.max is None else item.max

    def labels(self, item: Item, asking: Asking) -> tuple[str, str]:
        """The start and stop buttons: the item's own, or what the channel measures."""
        words, channel = asking.words, asking.channel
        start = item.start.get(words.language) if item.start else words(f"timer.{channel}.start")
        stop = item.stop.get(words.language) if item.stop else words(f"timer.{channel}.stop")
        return start, stop

    def instruction(self, item: Item, asking: Asking) -> str:
        start, stop = self.labels(item, asking)
        return asking.words(
            "visit.timer_help", start=start, stop=stop, max=self.value_range(item)[1]
        )

    def score(self, item: Item, value: AnswerValue) -> float:
        return band_score(item.bands or [], float(value))

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        return words("answer.seconds", seconds=value)
