"""The message catalogues: both languages complete, and every message the code asks for exists."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, Translator, catalogue, pick_language
from bot.service.account import ROLE_COMMANDS
from checklists.item_types import Asking
from checklists.loader import SHIPPED_DIR, load_all
from storage.models import Role
from storage.people import InvitationRefused

ROOT = Path(__file__).resolve().parent.parent


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_russian_and_english_have_the_same_messages_and_placeholders() -> None:
    ru, en = catalogue("ru"), catalogue("en")
    assert ru.keys() == en.keys()
    for key in ru:
        assert _placeholders(ru[key]) == _placeholders(en[key]), key


def _keys_used_in_code() -> set[str]:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    asking = r"\b(?:t|st|words|say|refuse|refuse_button)\(\s*(?:r, self\.setting, )?"
    keys = set(re.findall(asking + r'"([a-z_]+\.[a-z_.]+)"', source))
    domain = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("storage", "checklists", "visits")
        for p in (ROOT / folder).rglob("*.py")
    )
    keys |= set(re.findall(asking + r'"([a-z_]+\.[a-z_.]+)"', domain))
    keys |= {f"error.{r}" for r in re.findall(r'FlowError\(\s*"([a-z_]+)"', domain + source)}
    keys |= {f"reject.{r}" for r in re.findall(r'AnswerRejected\(\s*"([a-z_]+)"', domain)}
    keys |= {f"help.{role}" for role in Role} | {f"start.welcome_{role}" for role in Role}
    keys |= {f"command.{name}" for names in ROLE_COMMANDS.values() for name in names}
    return keys


def test_every_message_the_code_asks_for_exists() -> None:
    keys = _keys_used_in_code()
    assert len(keys) > 60
    assert keys - catalogue("en").keys() == set()


@pytest.mark.parametrize("reason", ["unknown", "used", "expired"])
def test_each_invitation_refusal_has_a_message(reason: str) -> None:
    InvitationRefused(reason)
    for language in LANGUAGES:
        assert Translator(language)(f"start.refused_{reason}")


@pytest.mark.parametrize(
    ("telegram", "default", "expected"),
    [
        ("en", "ru", "en"),
        ("en-GB", "ru", "en"),
        ("de", "ru", "ru"),
        (None, "en", "en"),
        ("ru", "en", "ru"),
    ],
)
def test_the_persons_telegram_language_wins_when_the_bot_speaks_it(
    telegram: str | None, default: str, expected: str
) -> None:
    assert pick_language(telegram, default) == expected


def test_every_answer_an_item_type_shows_is_worded_in_the_workbooks_too() -> None:
    """An item type's ``cell`` is the Visits sheet's: whatever words it uses are in the
    reports' catalogue too. Every button's value of every shipped item, and none chosen."""
    today = date(2026, 11, 30)
    for language in LANGUAGES:
        words = Translator(language, "reports")
        for loaded in load_all([SHIPPED_DIR]):
            for item in loaded.checklist.items:
                asking = Asking(Translator(language), today, loaded.checklist.channel.value)
                values = [
                    item.kind.button_value(item, code)
                    for row in item.kind.buttons(item, asking)
                    for _, code in row
                ]
                for value in [*values, *([""] if item.kind.toggles else [])]:
                    item.kind.cell(item, value, words)  # a KeyError: a word missing
