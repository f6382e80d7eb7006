"""``multi``: several of the listed options, chosen with toggling buttons and a "Done" (what
the employee did to find out the shopper's needs, say).

Stored as the chosen option ids in the checklist's order, comma-separated ("" for none).
Scored by the sum of the chosen options' scores, capped at 1; with ``score_all``, 1 only when
every scored option was chosen; with ``score_any``, 1 when any scored option was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from checklists.item_types.base import (
    AnswerRejected,
    AnswerValue,
    Asking,
    Button,
    ItemKind,
    Words,
)

if TYPE_CHECKING:
    from checklists.schema import Item

SEPARATOR = ","


def chosen(value: AnswerValue) -> list[str]:
    """The option ids a stored value names."""
    return [part for part in str(value).split(SEPARATOR) if part]


class Multi(ItemKind):
    name = "multi"
    scored = True
    takes_options = True
    toggles = True

    def problems(self, item: Item) -> list[str]:
        options = item.options or []
        if len(options) < 2:
            return ["a 'multi' item needs at least two 'options'"]
        problems = []
        ids = [o.id for o in options]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"option id '{dup}' is used twice")
        if item.scored and any(o.score is None for o in options):
            problems.append("every option of a scored 'multi' item needs a 'score'")
        if item.score_all and item.score_any:
            problems.append("a 'multi' item is scored by 'score_all' or 'score_any', not both")
        return problems

    def parse(self, item: Item, raw: AnswerValue, today: date) -> str:
        ids = chosen(raw)
        known = [o.id for o in item.options or []]
        if any(i not in known for i in ids) or len(set(ids)) != len(ids):
            raise AnswerRejected("not_an_option")
        return SEPARATOR.join(i for i in known if i in ids)

    def toggled(self, item: Item, value: AnswerValue | None, code: int) -> str:
        """The stored value after the option at ``code`` is pressed: chosen, or unchosen."""
        options = item.options or []
        if not 0 <= code < len(options):
            raise AnswerRejected("not_an_option")
        now = set(chosen(value or ""))
        now ^= {options[code].id}
        return SEPARATOR.join(o.id for o in options if o.id in now)

    def buttons(self, item: Item, asking: Asking) -> list[list[Button]]:
        language = asking.words.language
        return [[(o.label.get(language), n)] for n, o in enumerate(item.options or [])]

    def is_chosen(self, item: Item, value: AnswerValue, code: int) -> bool:
        options = item.options or []
        return 0 <= code < len(options) and options[code].id in chosen(value)

    def instruction(self, item: Item, asking: Asking) -> str:
        return asking.words("visit.choose_several")

    def condition(self, item: Item) -> Callable[[object], bool] | None:
        return lambda v: item.option(str(v)) is not None

    def matches(self, item: Item, value: AnswerValue, expected: Sequence[AnswerValue]) -> bool:
        """``equals: x`` holds when x was among the chosen; ``in`` when any of them was."""
        return any(str(e) in chosen(value) for e in expected)

    def score(self, item: Item, value: AnswerValue) -> float | None:
        options = item.options or []
        picked = set(chosen(value))
        scored = [o for o in options if o.score]
        if item.score_all:
            return 1.0 if all(o.id in picked for o in scored) else 0.0
        if item.score_any:
            return 1.0 if any(o.id in picked for o in scored) else 0.0
        return min(1.0, sum(o.score or 0.0 for o in options if o.id in picked))

    def shown(self, item: Item, value: AnswerValue, words: Words) -> str:
        labels = [o.label.get(words.language) for o in item.options or [] if o.id in chosen(value)]
        return ", ".join(labels) or words("answer.none_chosen")
