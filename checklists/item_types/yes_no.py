"""``yes_no``: a standard met or not; yes scores 1, no scores 0."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import (
    NO,
    YES,
    AnswerRejected,
    AnswerValue,
    Asking,
    Button,
    ItemKind,
    Words,
)

if TYPE_CHECKING:
    from checklists.schema import Item

CODES = {1: YES, 0: NO}


class YesNo(ItemKind):
    name = "yes_no"
    scored = True

    def parse(self, item: Item, raw: AnswerValue, today: date) -> str:
        if raw in (YES, NO):
            return str(raw)
        raise AnswerRejected("not_yes_no")

    def button_value(self, item: Item, code: int) -> str:
        return CODES.get(code, "?")

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        words = asking.words
        return [[(words("answer.yes"), 1), (words("answer.no"), 0)]]

    def condition(self, item: Item) -> Callable[[object], bool] | None:
        return lambda v: v in (YES, NO)

    def score(self, item: Item, value: AnswerValue) -> float:
        return 1.0 if value == YES else 0.0

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        if value in (YES, NO):
            return words("answer.yes" if value == YES else "answer.no")
        return str(value)
