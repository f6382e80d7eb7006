"""Comparing report figures: floats to 9 places, because SQL may add a column's values in
any order and the last digits of a sum depend on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from typing import Any


def rounded(value: Any) -> Any:
    """Floats rounded to 9 places, through dataclasses and containers, for exact asserts."""
    if isinstance(value, float):
        return round(value, 9)
    if is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{f.name: rounded(getattr(value, f.name)) for f in fields(value)})
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(rounded(v) for v in value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [rounded(v) for v in value]  # a view made when read: compared as a list
    return value


def same(actual: Any, expected: Any) -> bool:
    return bool(rounded(actual) == rounded(expected))
