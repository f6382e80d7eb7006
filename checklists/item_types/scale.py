"""``scale``: a rating from ``min`` to ``max`` (1..5 unless given), scored linearly 0..1."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerValue, Asking, Button, WholeNumber

if TYPE_CHECKING:
    from checklists.schema import Item


class Scale(WholeNumber):
    name = "scale"
    scored = True
    ranged = True

    def value_range(self, item: Item) -> tuple[int, int]:
        return (1 if item.min is None else item.min), (5 if item.max is None else item.max)

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        return self.keypad(item)

    def score(self, item: Item, value: AnswerValue) -> float:
        low, high = self.value_range(item)
        return float(Fraction(Fraction(value) - low, high - low))
