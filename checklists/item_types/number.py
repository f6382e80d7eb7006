"""``number`` and ``count``: a whole number in a range (e.g. the "yes" answers drawn before
the offer), scored by bands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerValue, Asking, Button, WholeNumber, band_score

if TYPE_CHECKING:
    from checklists.schema import Item


class Number(WholeNumber):
    name = "number"
    scored = True
    banded = True
    ranged = True
    SHORT_KEYPAD = 6
    """A range too wide for the keypad gets its first few numbers, and the rest are typed."""

    def value_range(self, item: Item) -> tuple[int, int]:
        return (0 if item.min is None else item.min), (0 if item.max is None else item.max)

    def problems(self, item: Item) -> list[str]:
        problems = super().problems(item)
        if item.max is None:
            problems.append(f"a '{self.name}' item needs 'max', the largest answer allowed")
        return problems

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        low, high = self.value_range(item)
        if high - low < self.KEYPAD_LIMIT:
            return self.keypad(item)
        return [self.keypad(item)[0][: self.SHORT_KEYPAD]]

    def instruction(self, item: Item, asking: Asking) -> str:
        low, high = self.value_range(item)
        return asking.words("visit.type_number", min=low, max=high)

    def score(self, item: Item, value: AnswerValue) -> float:
        return band_score(item.bands or [], float(value))


class Count(Number):
    name = "count"
