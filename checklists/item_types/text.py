"""``text``: free text the shopper types; not scored."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerRejected, AnswerValue, Asking, ItemKind

if TYPE_CHECKING:
    from checklists.schema import Item

MAX_LENGTH = 2000


class Text(ItemKind):
    name = "text"
    typed = True
    required_by_default = False

    def parse(self, item: Item, raw: AnswerValue, today: date) -> str:
        text = str(raw).strip()
        if not text:
            raise AnswerRejected("empty_text")
        if len(text) > MAX_LENGTH:
            raise AnswerRejected("text_too_long", {"max": MAX_LENGTH})
        return text

    def instruction(self, item: Item, asking: Asking) -> str:
        return asking.words("visit.type_text", max=MAX_LENGTH)
