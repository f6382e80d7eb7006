"""Replies as Telegram takes them: inline keyboards, and text that fits a message."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit, ParseMode

from bot.service.outcome import Reply


def inline(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text, callback_data=data) for text, data in row]
            for row in reply.buttons
        ]
    )


def fit(text: str) -> tuple[str, ParseMode | None]:
    """The message and how Telegram should read it. Telegram counts a message's length after
    its tags are read, in UTF-16 code units; one over the limit goes as plain text cut to it
    (a cut through the HTML could break a tag, and Telegram would refuse the whole message)."""
    plain = html.unescape(_TAG.sub("", text))
    if utf16(plain) <= MessageLimit.MAX_TEXT_LENGTH:
        return text, ParseMode.HTML
    kept, used = [], 0
    for char in plain:
        used += utf16(char)
        if used > MessageLimit.MAX_TEXT_LENGTH - 1:
            break
        kept.append(char)
    return "".join(kept) + "…", None


_TAG = re.compile(r"<[^>]*>")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
