"""``date``: a day that has passed, such as the date on a receipt; not scored.

Pressed (today, yesterday, the day before) or typed as ``28.11``, ``28.11.2026`` or
``2026-11-28``; stored as the ISO date. A day in the future, or more than a year back, is no
answer: a shopper reports what they saw.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from babel.dates import format_date

from checklists.item_types.base import AnswerRejected, AnswerValue, Asking, Button, ItemKind, Words

if TYPE_CHECKING:
    from checklists.schema import Item

MAX_DAYS_BACK = 366
_DAY_MONTH = re.compile(r"\s*([0-9]{1,2})[./]([0-9]{1,2})(?:[./]([0-9]{4}|[0-9]{2}))?\s*")
_ISO = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})\s*")


class Date(ItemKind):
    name = "date"
    typed = True

    def parse(self, item: Item, raw: AnswerValue, today: date) -> str:
        day = _read(str(raw), today)
        example = f"{today:%d.%m}"
        if day is None:
            raise AnswerRejected("not_a_date", {"example": example})
        if day > today:
            raise AnswerRejected("date_in_future", {"example": example})
        if (today - day).days > MAX_DAYS_BACK:
            raise AnswerRejected("date_too_old", {"days": MAX_DAYS_BACK})
        return day.isoformat()

    def button_value(self, item: Item, code: int) -> str:
        """A button carries its day as an ordinal, so that it means the same day whenever
        it is pressed."""
        return date.fromordinal(code).isoformat() if 0 < code <= date.max.toordinal() else "?"

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        words, today = asking.words, asking.today
        before = today - timedelta(days=2)
        return [
            [
                (words("answer.today"), today.toordinal()),
                (words("answer.yesterday"), (today - timedelta(days=1)).toordinal()),
                (format_date(before, "d MMM", locale=words.language), before.toordinal()),
            ]
        ]

    def instruction(self, item: Item, asking: Asking) -> str:
        example = f"{asking.today - timedelta(days=3):%d.%m}"
        return asking.words("visit.type_date", example=example)

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return format_date(day, "d MMMM yyyy", locale=words.language)


def _read(text: str, today: date) -> date | None:
    """The day ``text`` names; a day and month without a year is the latest such day."""
    try:
        if match := _ISO.fullmatch(text):
            return date(*(int(part) for part in match.groups()))
        if match := _DAY_MONTH.fullmatch(text):
            day, month, year = match.groups()
            if year is None:
                found = date(today.year, int(month), int(day))
                return found if found <= today else found.replace(year=today.year - 1)
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, int(month), int(day))
    except ValueError:
        return None
    return None
