"""``choice``: one of the listed options, each with its own score."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import AnswerRejected, AnswerValue, Asking, Button, ItemKind, Words

if TYPE_CHECKING:
    from checklists.schema import Item


class Choice(ItemKind):
    name = "choice"
    scored = True
    takes_options = True

    def problems(self, item: Item) -> list[str]:
        options = item.options or []
        if len(options) < 2:
            return ["a 'choice' item needs at least two 'options'"]
        problems = []
        ids = [o.id for o in options]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"option id '{dup}' is used twice")
        if item.scored and any(o.score is None for o in options):
            problems.append("every option of a scored 'choice' item needs a 'score'")
        return problems

    def condition(self, item: Item) -> Callable[[object], bool] | None:
        return lambda v: item.option(str(v)) is not None

    def parse(self, item: Item, raw: AnswerValue, today: date) -> str:
        if item.option(str(raw)) is not None:
            return str(raw)
        raise AnswerRejected("not_an_option")

    def button_value(self, item: Item, code: int) -> str:
        """A button carries the option's place in the list, so that long ids fit."""
        options = item.options or []
        return options[code].id if 0 <= code < len(options) else "?"

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        language = asking.words.language
        return [[(o.label.get(language), n)] for n, o in enumerate(item.options or [])]

    def score(self, item: Item, value: AnswerValue) -> float | None:
        option = item.option(str(value))
        return option.score if option is not None else None

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        option = item.option(str(value))
        return option.label.get(words.language) if option else str(value)
