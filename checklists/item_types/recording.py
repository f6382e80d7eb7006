"""``recording``: a voice note, an audio file or a video note sent while the item is asked —
a phone call's recording, say; not scored."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerRejected, AnswerValue, Asking, ItemKind

if TYPE_CHECKING:
    from checklists.schema import Item


class Recording(ItemKind):
    name = "recording"
    recordings = True
    required_by_default = False

    def parse(self, item: Item, raw: AnswerValue, today: date) -> AnswerValue:
        raise AnswerRejected("recording_expected")

    def instruction(self, item: Item, asking: Asking) -> str:
        return asking.words("visit.send_recording")
