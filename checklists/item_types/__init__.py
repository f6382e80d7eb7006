"""The item types a checklist may use, one module each, and the registry that finds them.

Adding a type: a module here with an ``ItemKind`` subclass, its line in ``KINDS``, its
catalogue entries (``bot/locales/*/LC_MESSAGES/messages.po``) and its tests. Nothing
outside ``checklists/`` names a type: screens, storage, scoring and the workbooks ask the
item's kind (``item.kind``).
"""

from __future__ import annotations

from checklists.item_types.base import (
    NO,
    YES,
    AnswerRejected,
    AnswerValue,
    Asking,
    Button,
    ItemKind,
    Words,
)
from checklists.item_types.choice import Choice
from checklists.item_types.date import Date
from checklists.item_types.multi import Multi
from checklists.item_types.nps import Nps
from checklists.item_types.number import Count, Number
from checklists.item_types.photo import Photo
from checklists.item_types.recording import Recording
from checklists.item_types.scale import Scale
from checklists.item_types.text import Text
from checklists.item_types.timer import Timer
from checklists.item_types.yes_no import YesNo

KINDS: dict[str, ItemKind] = {
    kind.name: kind
    for kind in (
        YesNo(),
        Timer(),
        Number(),
        Count(),
        Scale(),
        Choice(),
        Multi(),
        Nps(),
        Photo(),
        Recording(),
        Text(),
        Date(),
    )
}
"""Every item type by the name a checklist file gives it, in the order the README lists them."""

__all__ = [
    "KINDS",
    "NO",
    "YES",
    "AnswerRejected",
    "AnswerValue",
    "Asking",
    "Button",
    "ItemKind",
    "Words",
]
