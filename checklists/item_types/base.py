"""What every item type has to say for itself, and what most of them say alike.

An item type is one object (an ``ItemKind``) that the rest of the product asks instead of
switching on the type's name: the checklist schema asks which fields it takes and what else
it requires, the conversation how it is answered (buttons, typed text, a stopwatch, photos)
and how a typed value or a button is read, scoring how an answer scores, storage which
column keeps the value, and the chat and the workbooks how an answer reads. Everything a
person reads comes from the message catalogues through ``Words``, so this package needs no
Telegram and no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from checklists.schema import Band, Item

AnswerValue = str | int | float
Button = tuple[str, int]
"""An answer button: its label, and the whole number its callback data carries."""
YES, NO = "yes", "no"
MAX_PHOTOS = 10
"""Telegram sends at most ten photos in one album."""


@dataclass(frozen=True)
class Asking:
    """Where a question is asked: the person's catalogue, their local date, the channel."""

    words: Words
    today: date
    channel: str
    """``store``, ``phone`` or ``online``: a stopwatch measures something else in each."""


class Words(Protocol):
    """A message catalogue in one language (the bot's ``Translator`` is one)."""

    @property
    def language(self) -> str: ...

    def __call__(self, key: str, **params: object) -> str: ...


@dataclass
class AnswerRejected(ValueError):
    """Why a value is no answer to an item: a reason code and its parameters, not a
    sentence; the bot words it from its catalogue (``reject.<reason>``)."""

    reason: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.reason} {self.params}" if self.params else self.reason


class ItemKind:
    """One item type. Subclasses set the flags and override what differs from the default,
    which is an unscored item answered by typing that has no buttons."""

    name: ClassVar[str]
    scored: ClassVar[bool] = False
    """Whether answers score 0..1 (the item may then have a weight and be critical)."""
    numeric: ClassVar[bool] = False
    """Whether values are numbers, kept in ``answer.value_number`` for SQL to aggregate."""
    banded: ClassVar[bool] = False
    """Whether the item scores through ``bands`` (and must have them)."""
    ranged: ClassVar[bool] = False
    """Whether the item takes ``min`` and ``max``."""
    takes_options: ClassVar[bool] = False
    typed: ClassVar[bool] = False
    """Whether typed text answers the item (besides its buttons)."""
    stopwatch: ClassVar[bool] = False
    """Whether the bot measures the answer with start and stop buttons."""
    photos: ClassVar[bool] = False
    """Whether the answer is photos sent to the item, not a value."""
    recordings: ClassVar[bool] = False
    """Whether the answer is voice notes, audio files or video notes sent to the item."""
    toggles: ClassVar[bool] = False
    """Whether its buttons choose several options, each pressed on and off, then "Done"."""
    required_by_default: ClassVar[bool] = True
    feeds_nps: ClassVar[bool] = False
    """Whether the answer is the visit's "would you recommend" rating (0..10)."""

    # The checklist file

    def value_range(self, item: Item) -> tuple[int, int] | None:
        """The whole numbers an answer may take, for the numeric types."""
        return None

    def problems(self, item: Item) -> list[str]:
        """Rules of the type beyond the flags above, each a plain sentence."""
        if item.options:
            return [f"a '{self.name}' item takes no 'options'"]
        return []

    def photo_limit(self, item: Item) -> int:
        """How many photos the item takes, for the types answered by photos."""
        return item.max_photos or MAX_PHOTOS

    def condition(self, item: Item) -> Callable[[object], bool] | None:
        """Which values a ``show_if`` on this item may name, or None if it cannot be one."""
        return None

    def matches(self, item: Item, value: AnswerValue, expected: Sequence[AnswerValue]) -> bool:
        """Whether an answer is one of the values a ``show_if`` names."""
        if isinstance(value, str):
            return value in [str(v) for v in expected]
        return any(not isinstance(v, str) and Fraction(value) == Fraction(v) for v in expected)

    def is_chosen(self, item: Item, value: AnswerValue, code: int) -> bool:
        """Whether the button with ``code`` stands for the answer ``value`` (it is marked)."""
        return self.button_value(item, code) == value

    def toggled(self, item: Item, value: AnswerValue | None, code: int) -> str:
        """The value after the option at ``code`` is pressed, for the types that toggle."""
        raise NotImplementedError

    # Answering

    def parse(self, item: Item, raw: AnswerValue, today: date) -> AnswerValue:
        """The stored form of ``raw`` (typed text or a button's value), or AnswerRejected.
        ``today`` is the shopper's local date, for types that depend on it."""
        raise NotImplementedError

    def button_value(self, item: Item, code: int) -> AnswerValue:
        """The raw value an answer button's code stands for (``parse`` checks it)."""
        return code

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        """Rows of answer buttons."""
        return []

    def labels(self, item: Item, asking: Asking) -> tuple[str, str]:
        """A stopwatch's start and stop buttons, for the types that have one."""
        raise NotImplementedError

    def instruction(self, item: Item, asking: Asking) -> str:
        """What to do to answer, shown under the question ("" when the buttons say it)."""
        return ""

    # Scoring

    def score(self, item: Item, value: AnswerValue) -> float | None:
        """0..1 for a value of a scored type."""
        return None

    # Showing

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        """The answer as a person reads it in the chat."""
        return str(value)

    def cell(self, item: Item, value: AnswerValue, words: Words) -> str | float:
        """The answer in a workbook cell: numbers stay numbers."""
        return float(value) if self.numeric else self.shown(item, value, words)


_NUMBER = re.compile(r"^\s*([+-]?\d{1,9})(?:\s*(?:s|sec|с|сек|секунд[аы]?)\.?)?\s*$", re.I)


class WholeNumber(ItemKind):
    """A whole number within the item's range, typed or pressed on a keypad."""

    numeric = True
    typed = True
    KEYPAD_LIMIT: ClassVar[int] = 11
    """At most this many number buttons; a wider range is typed."""
    KEYPAD_ROW: ClassVar[int] = 6

    def parse(self, item: Item, raw: AnswerValue, today: date) -> int:
        low, high = self.value_range(item) or (0, 0)
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

    def photo_limit(self, item: Item) -> int:
        """How many photos the item takes, for the types answered by photos."""
        return item.max_photos or MAX_PHOTOS

    def condition(self, item: Item) -> Callable[[object], bool] | None:
        low, high = self.value_range(item) or (0, 0)
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high

    def keypad(self, item: Item) -> list[list[Button]]:
        """Up to eleven numbers from the lowest, six to a row."""
        low, high = self.value_range(item) or (0, 0)
        keys = [(str(k), k) for k in range(low, min(high, low + self.KEYPAD_LIMIT - 1) + 1)]
        return [keys[: self.KEYPAD_ROW], keys[self.KEYPAD_ROW :]]


def band_score(bands: list[Band], value: float) -> float:
    """The score of the first band ``value`` falls in (the schema makes one catch it)."""
    for band in bands:
        if band.max is not None and value <= band.max:
            return band.score
        if band.min is not None and value >= band.min:
            return band.score
        if band.max is None and band.min is None:
            return band.score
    return 0.0
