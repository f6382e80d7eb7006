"""Checking one answer against its item, wherever it comes from (a button, typed text, a file).

Rejections carry a reason code and its parameters, not a sentence: the bot words them in
the person's language from its message catalogue. Each item type reads values its own way
(``checklists.item_types``).
"""

from __future__ import annotations

from datetime import date

from checklists.item_types import AnswerRejected, AnswerValue
from checklists.schema import Item

__all__ = ["AnswerRejected", "check_value"]


def check_value(item: Item, raw: AnswerValue, *, today: date) -> AnswerValue:
    """The stored form of ``raw`` for ``item``, or AnswerRejected saying why not.

    ``today`` is the shopper's local date: some types (a date) are checked against it."""
    return item.kind.parse(item, raw, today)
