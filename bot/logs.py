"""Logging for ``msbot``: one format, and the bot token never in any line at any level.

The token is the bot: whoever has it can read and send as the bot. python-telegram-bot
logs the Bot API URL, token included, at DEBUG ("Set Bot API URL: …/bot123:ABC"), and an
HTTP error can carry the URL into a traceback. Redacting in the formatter catches every
path a secret can take into the output: messages, arguments and tracebacks alike.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<redacted>"
TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
"""A Telegram bot token as BotFather issues it: the bot's id, a colon, 35 characters."""


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces every known secret, and anything shaped like a bot token."""

    def __init__(self, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets: set[str] = set()

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)


_formatter = RedactingFormatter()


def configure(verbose: bool) -> None:
    """Log to stderr through the redacting formatter; DEBUG with ``verbose``."""
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def hide(*secrets: str) -> None:
    """Never show these strings in the log (the token, the webhook secret)."""
    _formatter.secrets.update(secret for secret in secrets if secret)
