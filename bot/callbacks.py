"""The callback data of inline buttons, in one place: what each button carries, how it is
written, how it is read back, and which part of the bot answers it.

A button's data is ``op:field:field...``: an operation (``Op``), then numbers (``12``,
``-1``) or short words (the ``a`` of ``rv:a:12``), in the shape ``OPS`` gives for the
operation. The Telegram client sends the data of a pressed button back to the bot, and a
modified client can send any data at all: it is input from the user, like typed text, never
to be trusted. ``decode`` reads only the shapes the bot's own buttons have. Python's
``int()`` and ``str.isdigit()`` accept far more than the bot ever sends — other scripts'
digits (``١٢``), superscripts (``²``, which ``int()`` then refuses), signs, spaces and
underscores — so numbers are matched by ``[0-9]``, which matches the ten ASCII digits only,
before ``int()`` sees them. Anything else is ``None``: the caller answers it as a forged
button and changes nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
"""Telegram's limit on callback data: no button of the bot's carries more."""
MAX_NUMBER = 2**31 - 1
"""The largest id or index callback data may carry (PostgreSQL's ``integer``)."""

Field = int | str
"""A number, or a word of ASCII lowercase letters and digits starting with a letter."""


class Route(StrEnum):
    """Which part of the application answers a button."""

    ACCOUNT = "account"
    """A person's role and language."""
    PICKER = "picker"
    """Choosing the store, the checklist and the employee of a new visit."""
    VISIT = "visit"
    """Inside a shopper's draft visit."""
    REVIEW = "review"
    """An admin's review of flagged visits."""
    FOLLOWUP = "followup"
    """A manager's corrective action for a failed standard."""
    CARD = "card"
    """A store manager's card of a visit: seen, disputed, its evidence."""
    ACTIONS = "actions"
    """A store manager closing a corrective action."""


class Op(StrEnum):
    # Choosing what to visit
    STORES = "st"
    STORE = "s"
    CHECKLIST = "cl"
    EMPLOYEES = "ep"
    EMPLOYEE = "em"
    # Inside a visit
    ANSWER = "ans"
    NOT_APPLICABLE = "na"
    SKIP = "skip"
    BACK = "back"
    TIMER_START = "t0"
    TIMER_STOP = "t1"
    COMMENT = "cmt"
    RESUME = "res"
    KEEP = "cxn"
    DONE = "done"
    TOGGLE = "tg"
    REVIEW = "rev"
    EDIT = "edit"
    SUBMIT = "sub"
    CANCEL = "cx"
    CANCEL_CONFIRMED = "cxy"
    KEEP_ANSWER = "kp"
    HINT = "hint"
    CHANGE_EMPLOYEE = "who"
    # A person's role and language
    SWITCH_ROLE = "role"
    LANGUAGE = "lang"
    # Field operations
    DECIDE = "rv"
    CORRECT = "rc"
    FOLLOW_UP = "fu"
    CARD = "mc"
    ACTION = "ac"


@dataclass(frozen=True)
class Spec:
    route: Route
    fields: tuple[type[int] | type[str], ...]
    """The type of each field, in order."""


_VISIT_ITEM = Spec(Route.VISIT, (int, int))
"""A visit's button: the visit's id and the place in the checklist of the item it was
shown for (``-1``: not shown for an item), so that stale and foreign ones are told apart."""

OPS: dict[Op, Spec] = {
    Op.STORES: Spec(Route.PICKER, (int,)),  # page
    Op.STORE: Spec(Route.PICKER, (int,)),  # store
    Op.CHECKLIST: Spec(Route.PICKER, (int, int)),  # store, checklist version
    Op.EMPLOYEES: Spec(Route.PICKER, (int, int, int)),  # store, version, page
    Op.EMPLOYEE: Spec(Route.PICKER, (int, int, int)),  # store, version, employee (0: none)
    Op.ANSWER: Spec(Route.VISIT, (int, int, int)),  # visit, item, the item type's code
    Op.TOGGLE: Spec(Route.VISIT, (int, int, int)),  # visit, item, the option's place
    **{
        op: _VISIT_ITEM
        for op in (
            Op.NOT_APPLICABLE,
            Op.SKIP,
            Op.BACK,
            Op.TIMER_START,
            Op.TIMER_STOP,
            Op.COMMENT,
            Op.RESUME,
            Op.KEEP,
            Op.DONE,
            Op.REVIEW,
            Op.EDIT,
            Op.SUBMIT,
            Op.CANCEL,
            Op.CANCEL_CONFIRMED,
            Op.KEEP_ANSWER,
            Op.HINT,
            Op.CHANGE_EMPLOYEE,
        )
    },
    Op.SWITCH_ROLE: Spec(Route.ACCOUNT, (int, int)),  # invitation, 1: switch, 0: keep
    Op.LANGUAGE: Spec(Route.ACCOUNT, (str,)),  # ru|en
    Op.DECIDE: Spec(Route.REVIEW, (str, int)),  # a|r|v|u|n|p|c|s|l (see review), visit
    Op.CORRECT: Spec(Route.REVIEW, (int, int, int)),  # visit, item, type's code (-1: ask)
    Op.FOLLOW_UP: Spec(Route.FOLLOWUP, (int, int)),  # visit, item
    Op.CARD: Spec(Route.CARD, (str, int)),  # s|d|l (see cards), card
    Op.ACTION: Spec(Route.ACTIONS, (str, int)),  # c|s|p (see actions), corrective action
}
"""Every button the bot makes: what it carries and who answers it."""


@dataclass(frozen=True)
class Pressed:
    """A button's data as read back: its operation and its fields, in the operation's shape."""

    op: Op
    fields: tuple[Field, ...]

    @property
    def route(self) -> Route:
        return OPS[self.op].route

    def numbers(self) -> tuple[int, ...]:
        return tuple(f for f in self.fields if isinstance(f, int))

    def word_and_id(self, op: Op, words: Iterable[str]) -> tuple[str, int] | None:
        """The word and the record id of a ``(str, int)`` button of ``op`` — review, card,
        action — or None when it is another button, another word, or a negative id."""
        if self.op != op or len(self.fields) != 2:
            return None
        word, number = self.fields
        if not isinstance(word, str) or not isinstance(number, int):
            return None
        return (word, number) if word in words and number >= 0 else None


@functools.lru_cache(maxsize=8192, typed=True)
def encode(op: Op, *fields: Field) -> str:
    """The data of a button for ``op``; a shape ``OPS`` does not give, or data over Telegram's
    64 bytes, is a programming error. Remembered (by the fields' types too, so ``True`` is
    not taken for ``1``): every screen encodes the same few buttons again."""
    parts = [str(field) for field in fields]
    data = ":".join([op.value, *parts])
    if (
        len(data) > MAX_BYTES
        or _shaped(op, fields) is None
        or any(_field(part) != field for part, field in zip(parts, fields, strict=True))
    ):
        raise ValueError(f"{op.name} takes {OPS[op].fields}, not {fields!r}")
    return data


def decode(data: str) -> Pressed | None:
    """The button ``data`` stands for, or ``None`` if no button of the bot's sends it."""
    # Counting characters is enough: data of ASCII only, as accepted, has a byte each.
    if len(data) > MAX_BYTES:
        return None
    name, *parts = data.split(":")
    op = _OP_BY_VALUE.get(name)
    if op is None:
        return None
    fields = [field for part in parts if (field := _field(part)) is not None]
    if len(fields) != len(parts):
        return None
    shaped = _shaped(op, fields)
    return Pressed(op, shaped) if shaped is not None else None


def route_of(data: str) -> Route:
    """Who answers ``data``, even forged: its operation's route, or the visit's (which
    refuses it) when the operation is none of the bot's."""
    op = _OP_BY_VALUE.get(data.partition(":")[0])
    return OPS[op].route if op is not None else Route.VISIT


_OP_BY_VALUE = {op.value: op for op in Op}
_WORD = re.compile(r"[a-z][a-z0-9]*")
_NUMBER = re.compile(r"-?[0-9]+")


def _shaped(op: Op, fields: tuple[Field, ...] | list[Field]) -> tuple[Field, ...] | None:
    kinds = OPS[op].fields
    if len(fields) != len(kinds):
        return None
    if any(
        not isinstance(f, kind) or isinstance(f, bool)
        for f, kind in zip(fields, kinds, strict=True)
    ):
        return None
    return tuple(fields)


def _field(text: str) -> Field | None:
    if _WORD.fullmatch(text):
        return text
    if not _NUMBER.fullmatch(text):
        return None
    number = int(text)  # safe now: ASCII digits only
    return number if abs(number) <= MAX_NUMBER else None  # the database would refuse it
