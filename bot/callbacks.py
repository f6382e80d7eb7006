"""Reading the callback data of inline buttons: ``op:field:field...``, strictly.

The Telegram client sends the data of a pressed button back to the bot, and a modified
client can send any data at all: it is input from the user, like typed text, never to be
trusted. Every handler reads it here, and only in the shapes the bot's own buttons have:
an op (``ans``, ``t0``, ``rv``...), then numbers (``12``, ``-1``) or short words (the
``a`` of ``rv:a:12``). Python's ``int()`` and ``str.isdigit()`` accept far more than the bot
ever sends — other scripts' digits (``١٢``), superscripts (``²``, which ``int()`` then
refuses), signs, spaces and underscores — so numbers are matched by ``[0-9]``, which matches
the ten ASCII digits only, before ``int()`` sees them. Anything else is ``None``: the caller
answers it as a forged button and changes nothing.
"""

from __future__ import annotations

import re

MAX_BYTES = 64
"""Telegram's limit on callback data: no button of the bot's carries more."""
MAX_NUMBER = 2**31 - 1
"""The largest id or index callback data may carry (PostgreSQL's ``integer``)."""

Field = int | str
"""A number, or a word of ASCII lowercase letters and digits starting with a letter."""

_WORD = re.compile(r"[a-z][a-z0-9]*")
_NUMBER = re.compile(r"-?[0-9]+")


def parse(data: str) -> tuple[str, list[Field]] | None:
    """The op and the fields of ``data``, or ``None`` if no button of the bot's sends it."""
    # Counting characters is enough: data of ASCII only, as accepted, has a byte each.
    if len(data) > MAX_BYTES:
        return None
    op, *parts = data.split(":")
    fields = [field for part in parts if (field := _field(part)) is not None]
    if not _WORD.fullmatch(op) or len(fields) != len(parts):
        return None
    return op, fields


def numbers(data: str) -> tuple[str, list[int]] | None:
    """The op and the numbers of ``op:n:n...``, the shape of the visit and picker buttons."""
    parsed = parse(data)
    if parsed is None:
        return None
    op, fields = parsed
    found = [field for field in fields if isinstance(field, int)]
    return (op, found) if len(found) == len(fields) else None


def _field(text: str) -> Field | None:
    if _WORD.fullmatch(text):
        return text
    if not _NUMBER.fullmatch(text):
        return None
    number = int(text)  # safe now: ASCII digits only
    return number if abs(number) <= MAX_NUMBER else None  # the database would refuse it
