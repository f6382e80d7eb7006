"""``nps``: "would you recommend", 0..10; not in the visit score, it feeds the NPS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checklists.item_types.base import Asking, Button, WholeNumber

if TYPE_CHECKING:
    from checklists.schema import Item


class Nps(WholeNumber):
    name = "nps"
    feeds_nps = True

    def value_range(self, item: Item) -> tuple[int, int]:
        return 0, 10

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        return self.keypad(item)
