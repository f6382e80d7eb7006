"""Checking one answer against its item, wherever it comes from (a button, typed text, a file).

Rejections carry a reason code and its parameters, not a sentence: the bot words them in
the person's language from its message catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from checklists.schema import NO, YES, Item, ItemType
from checklists.scoring import AnswerValue

MAX_TEXT_LENGTH = 2000


@dataclass
class AnswerRejected(ValueError):
    reason: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.reason} {self.params}" if self.params else self.reason


def check_value(item: Item, raw: AnswerValue) -> AnswerValue:
    """The stored form of ``raw`` for ``item``, or AnswerRejected saying why not."""
    match item.type:
        case ItemType.YES_NO:
            if raw in (YES, NO):
                return raw
            raise AnswerRejected("not_yes_no")
        case ItemType.CHOICE:
            if item.option(str(raw)) is not None:
                return str(raw)
            raise AnswerRejected("not_an_option")
        case ItemType.TEXT:
            text = str(raw).strip()
            if not text:
                raise AnswerRejected("empty_text")
            if len(text) > MAX_TEXT_LENGTH:
                raise AnswerRejected("text_too_long", {"max": MAX_TEXT_LENGTH})
            return text
        case ItemType.PHOTO:
            raise AnswerRejected("photo_expected")
    return _whole_number(item, raw)


_NUMBER = re.compile(r"^\s*([+-]?\d{1,9})(?:\s*(?:s|sec|с|сек|секунд[аы]?)\.?)?\s*$", re.I)


def _whole_number(item: Item, raw: AnswerValue) -> int:
    low, high = item.value_range or (0, 0)
    if isinstance(raw, bool):
        raise AnswerRejected("not_a_number", {"min": low, "max": high})
    if isinstance(raw, int | float):
        if raw != int(raw):
            raise AnswerRejected("not_a_number", {"min": low, "max": high})
        number = int(raw)
    else:
        match = _NUMBER.match(raw)
        if match is None:
            raise AnswerRejected("not_a_number", {"min": low, "max": high})
        number = int(match.group(1))
    if not low <= number <= high:
        raise AnswerRejected("out_of_range", {"min": low, "max": high, "value": number})
    return number
