"""Message catalogues (gettext ``.po`` files read with Babel), Russian by default and English.

Two domains: ``messages`` (the bot's conversation) and ``reports`` (workbook sheet names,
headers and labels). Messages are looked up by a stable key (the ``msgid``), so wording can
change in the catalogues without touching handlers; ``{name}`` placeholders are filled by
``str.format``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("ru", "en")
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(language: str, domain: str = "messages") -> dict[str, str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string}


class Translator:
    """The messages of one language; a missing key is a programming error, so it raises."""

    def __init__(self, language: str, domain: str = "messages") -> None:
        self.language = language if language in LANGUAGES else LANGUAGES[0]
        self.messages = catalogue(self.language, domain)

    def __call__(self, key: str, **params: object) -> str:
        text = self.messages[key]
        return text.format(**params) if params else text


def pick_language(telegram_language: str | None, default: str) -> str:
    """The person's Telegram language when the bot speaks it, else the deployment's."""
    short = (telegram_language or "").split("-")[0].lower()
    return short if short in LANGUAGES else default
