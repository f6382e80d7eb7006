"""The checklist file format, validated with pydantic.

Structure (field types, required fields, unknown keys) is checked by pydantic itself;
rules that span several items (unique ids, ``show_if`` order) are collected by
``Checklist._cross_item_rules`` so that one run reports every problem, each at its own
location, instead of stopping at the first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from checklists.item_types import KINDS, NO, YES, ItemKind

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Loc = tuple[str | int, ...]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A label in both languages the bot speaks."""

    ru: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.ru


class Band(Strict):
    """One scoring band: values up to ``max`` (or from ``min``) score ``score``.

    A band with neither bound catches every value left and must come last.
    """

    max: float | None = None
    min: float | None = None
    score: Annotated[float, Field(ge=0, le=1)]

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if self.max is not None and self.min is not None:
            raise ValueError("a band has either 'max' or 'min', not both")
        return self


class Option(Strict):
    id: Slug
    label: Text
    score: Annotated[float, Field(ge=0, le=1)] | None = None


def _yes_no(value: object) -> object:
    if isinstance(value, bool):
        return YES if value else NO
    return value


class ShowIf(Strict):
    """Ask an item only when earlier answers match: one answer (``item`` with ``equals`` or
    ``in``), or ``all`` or ``any`` of such conditions, or ``not`` one, nested as deep as a
    checklist needs ("three yes" only when an offer was made and a need was found)."""

    item: Slug | None = None
    equals: str | int | float | None = None
    in_: Annotated[list[str | int | float] | None, Field(alias="in")] = None
    all_: Annotated[list[ShowIf] | None, Field(alias="all", min_length=1)] = None
    any_: Annotated[list[ShowIf] | None, Field(alias="any", min_length=1)] = None
    not_: Annotated[ShowIf | None, Field(alias="not")] = None

    @field_validator("equals", "in_", mode="before")
    @classmethod
    def _yaml_booleans_are_yes_no(cls, value: object) -> object:
        """YAML reads a bare ``yes``/``no`` as a boolean; a checklist means the answer."""
        if isinstance(value, list):
            return [_yes_no(v) for v in value]
        return _yes_no(value)

    @model_validator(mode="after")
    def _one_condition(self) -> ShowIf:
        forms = [self.item is not None, self.all_ is not None, self.any_ is not None]
        forms.append(self.not_ is not None)
        if sum(forms) != 1:
            raise ValueError(
                "a condition is one of: 'item' with 'equals' or 'in', 'all', 'any' or 'not'"
            )
        if self.item is not None and (self.equals is None) == (self.in_ is None):
            raise ValueError("show_if needs exactly one of 'equals' or 'in'")
        if self.item is None and (self.equals is not None or self.in_ is not None):
            raise ValueError("'equals' and 'in' go with 'item'")
        return self

    @property
    def values(self) -> list[str | int | float]:
        return [self.equals] if self.equals is not None else list(self.in_ or [])

    def leaves(self) -> Iterator[ShowIf]:
        """The conditions on one answer this condition is made of."""
        if self.item is not None:
            yield self
        for part in [*(self.all_ or []), *(self.any_ or []), *filter(None, [self.not_])]:
            yield from part.leaves()

    def holds(self, leaf_holds: Callable[[ShowIf], bool]) -> bool:
        """Whether the condition holds, given whether each condition on one answer does."""
        if self.all_ is not None:
            return all(part.holds(leaf_holds) for part in self.all_)
        if self.any_ is not None:
            return any(part.holds(leaf_holds) for part in self.any_)
        if self.not_ is not None:
            return not self.not_.holds(leaf_holds)
        return leaf_holds(self)


def _known_type(name: str) -> str:
    if name not in KINDS:
        expected = ", ".join(f"'{known}'" for known in KINDS)
        raise PydanticCustomError(
            "literal_error",
            "Input should be one of {expected}",
            {"expected": expected},
        )
    return name


TypeName = Annotated[str, AfterValidator(_known_type)]
"""The name of an item type in ``checklists.item_types.KINDS``."""


class Requirement(Strict):
    """Evidence an answer needs before the shopper moves on: ``when`` the answer is this,
    so many photos, a comment, so many voice notes or recordings."""

    when: str | int | float
    photo: Annotated[int, Field(ge=1, le=10)] | None = None
    comment: bool = False
    voice: Annotated[int, Field(ge=1, le=10)] | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _yaml_booleans_are_yes_no(cls, value: object) -> object:
        return _yes_no(value)

    @model_validator(mode="after")
    def _something(self) -> Requirement:
        if self.photo is None and not self.comment and self.voice is None:
            raise ValueError("a requirement needs 'photo', 'comment' or 'voice'")
        return self


class Item(Strict):
    id: Slug
    type: TypeName
    prompt: Text
    standard: Text | None = None
    """The standard's short name ("Greeted within 30 s"), wherever a standard is named: the
    final screen, alerts, the review, the workbooks. Without one, the prompt stands in."""
    hint: Text | None = None
    start: Text | None = None
    """A stopwatch's start button ("▶ Dialling"); the channel's default without one."""
    stop: Text | None = None
    """A stopwatch's stop button ("⏹ Answered"); the channel's default without one."""
    weight: Annotated[float, Field(ge=0)] | None = None
    critical: bool = False
    na: bool = False
    required: bool | None = None
    show_if: ShowIf | None = None
    bands: list[Band] | None = None
    options: list[Option] | None = None
    min: int | None = None
    max: int | None = None
    max_photos: Annotated[int, Field(ge=1, le=10)] | None = None
    score_all: bool = False
    """A ``multi`` item scores 1 only when every scored option was chosen."""
    score_any: bool = False
    """A ``multi`` item scores 1 when any scored option was chosen."""
    require: list[Requirement] | None = None
    """Evidence some answers need (a "No" on the greeting needs a comment, say)."""
    action: Literal["required"] | None = None
    """``required``: a visit that fails this standard opens a corrective action for the
    store, as a failed critical standard does."""

    @property
    def kind(self) -> ItemKind:
        """What the item's type does: how it is answered, scored, stored and shown."""
        return KINDS[self.type]

    def standard_name(self, language: str) -> str:
        """What the standard is called in ``language``: its short name, else its prompt."""
        return (self.standard or self.prompt).get(language)

    @property
    def scored(self) -> bool:
        return self.kind.scored and self.effective_weight > 0

    @property
    def effective_weight(self) -> float:
        if self.weight is not None:
            return self.weight
        return 1.0 if self.kind.scored else 0.0

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return self.required
        return self.kind.required_by_default

    @property
    def value_range(self) -> tuple[int, int] | None:
        """The whole numbers an answer may take, for the numeric types."""
        return self.kind.value_range(self)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options or [] if o.id == option_id), None)

    @model_validator(mode="after")
    def _type_rules(self) -> Item:
        problems = list(_item_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _item_problems(item: Item) -> list[str]:
    """Rules of one item that depend on its type."""
    problems: list[str] = []
    kind = item.kind
    if not kind.scored:
        if item.weight:
            problems.append(f"a '{kind.name}' item is not scored, so its weight must be 0")
        if item.critical:
            problems.append(f"a '{kind.name}' item is not scored, so it cannot be critical")
        if item.action is not None:
            problems.append(f"a '{kind.name}' item is not scored, so it cannot open an action")
    if kind.banded and not item.bands:
        problems.append(f"a '{kind.name}' item needs 'bands' to be scored")
    if not kind.banded and item.bands:
        problems.append(f"a '{kind.name}' item takes no 'bands'")
    problems.extend(kind.problems(item))
    if not kind.ranged and (item.min is not None or item.max is not None):
        problems.append(f"a '{kind.name}' item takes no 'min' or 'max'")
    if item.max_photos is not None and not kind.photos:
        problems.append("only a 'photo' item takes 'max_photos'")
    for requirement in item.require or []:
        allowed = kind.condition(item)
        if allowed is None:
            problems.append(f"a '{kind.name}' item has no answer evidence could depend on")
            break
        if not allowed(requirement.when):
            problems.append(f"'when' {requirement.when!r} is never an answer to '{item.id}'")
    if (item.score_all or item.score_any) and not kind.toggles:
        problems.append(f"a '{kind.name}' item takes no 'score_all' or 'score_any'")
    if (item.start is not None or item.stop is not None) and not kind.stopwatch:
        problems.append(f"a '{kind.name}' item has no stopwatch, so it takes no 'start' or 'stop'")
    low_high = item.value_range
    if low_high and low_high[0] >= low_high[1]:
        problems.append(f"'min' ({low_high[0]}) must be less than 'max' ({low_high[1]})")
    elif low_high and item.bands:
        problems.extend(_band_problems(item.bands, *low_high))
    return problems


def _band_problems(bands: list[Band], low: int, high: int) -> list[str]:
    """Bands must be all 'max' (rising) or all 'min' (falling) and cover low..high."""
    *bounded, last = bands
    if any(b.max is None and b.min is None for b in bounded):
        return ["only the last band may have no 'max' or 'min'"]
    open_end = last.max is None and last.min is None
    if not open_end:
        bounded.append(last)
    if not bounded:
        return []
    if len({b.max is not None for b in bounded}) > 1:
        return ["bands must all use 'max' or all use 'min', not a mix"]
    maxes = [b.max for b in bounded if b.max is not None]
    mins = [b.min for b in bounded if b.min is not None]
    if maxes:
        if any(a >= b for a, b in itertools.pairwise(maxes)):
            return ["'max' bounds of bands must rise from one band to the next"]
        if not open_end and maxes[-1] < high:
            return [
                f"bands stop at {maxes[-1]:g} but answers go up to {high}: "
                "add a last band without 'max'"
            ]
    else:
        if any(a <= b for a, b in itertools.pairwise(mins)):
            return ["'min' bounds of bands must fall from one band to the next"]
        if not open_end and mins[-1] > low:
            return [
                f"bands start at {mins[-1]:g} but answers go down to {low}: "
                "add a last band without 'min'"
            ]
    return []


class Section(Strict):
    id: Slug
    title: Text
    items: Annotated[list[Item], Field(min_length=1)]


class Channel(StrEnum):
    STORE = "store"
    PHONE = "phone"
    ONLINE = "online"


class CrossItemProblems(ValueError):
    """Carries every cross-item problem with its location, for precise reports."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


class Checklist(Strict):
    id: Slug
    version: Annotated[int, Field(ge=1)]
    title: Text
    channel: Channel
    pass_mark: Annotated[float, Field(ge=0, le=100)]
    sections: Annotated[list[Section], Field(min_length=1)]
    description: Text | None = None

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def section_of(self, item_id: str) -> Section:
        for section in self.sections:
            if any(item.id == item_id for item in section.items):
                return section
        raise KeyError(item_id)

    @model_validator(mode="after")
    def _cross_item_rules(self) -> Checklist:
        problems = cross_item_problems(self.sections)
        if problems:
            raise CrossItemProblems(problems)
        return self


def cross_item_problems(sections: list[Section]) -> list[tuple[Loc, str]]:
    """Rules across items, located by their path from the checklist's root."""
    problems: list[tuple[Loc, str]] = []
    section_ids: set[str] = set()
    earlier: dict[str, Item] = {}
    for s, section in enumerate(sections):
        if section.id in section_ids:
            problems.append((("sections", s, "id"), f"section id '{section.id}' is used twice"))
        section_ids.add(section.id)
        for i, item in enumerate(section.items):
            loc: Loc = ("sections", s, "items", i)
            if item.id in earlier:
                problems.append(((*loc, "id"), f"item id '{item.id}' is used twice"))
            if item.show_if is not None:
                problems.extend(
                    ((*loc, "show_if"), message)
                    for message in _show_if_problems(item, item.show_if, earlier)
                )
            earlier.setdefault(item.id, item)
    if not any(item.scored for section in sections for item in section.items):
        problems.append((("sections",), "the checklist has no scored item (weight > 0)"))
    return problems


def _show_if_problems(item: Item, show_if: ShowIf, earlier: dict[str, Item]) -> list[str]:
    problems = []
    for leaf in show_if.leaves():
        target = earlier.get(leaf.item or "")
        if target is None:
            problems.append(f"show_if refers to '{leaf.item}', which is not an earlier item")
            continue
        allowed = target.kind.condition(target)
        if allowed is None:
            problems.append(f"show_if cannot depend on '{target.id}', a '{target.type}' item")
            continue
        bad = [v for v in leaf.values if not allowed(v)]
        problems += [f"show_if value {v!r} is never an answer to '{target.id}'" for v in bad]
    return problems
