"""``photo``: one or more photos sent while the item is asked; not scored."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerRejected, AnswerValue, Asking, ItemKind

if TYPE_CHECKING:
    from checklists.schema import Item


class Photo(ItemKind):
    name = "photo"
    photos = True
    required_by_default = False

    def instruction(self, item: Item, asking: Asking) -> str:
        return asking.words("visit.send_photos", max=self.photo_limit(item))

    def parse(self, item: Item, raw: AnswerValue, today: date) -> AnswerValue:
        raise AnswerRejected("photo_expected")
