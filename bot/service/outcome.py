"""What the application answers: messages and buttons as plain data, for the Telegram layer
(``bot/app.py``) to send. Nothing here knows Telegram's types."""

from __future__ import annotations

from dataclasses import dataclass, field

from exports.report_data import Scope
from exports.weeks import Week
from storage.models import Role

Button = tuple[str, str]
"""A button's label and its callback data (``bot.callbacks.encode``)."""
Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    text: str
    """HTML, as Telegram's ``parse_mode=HTML`` reads it."""
    buttons: Rows = ()
    menu: bool = False
    """Also show the main reply keyboard (new visit, resume, nearest stores)."""
    visit: int | None = None
    """The draft visit whose live question this is: the Telegram layer keeps the message id
    it was shown in (``Service.shown``)."""
    replaces: int | None = None
    """The message that showed the visit's question until now: it loses its buttons, so
    that only one copy of a question in the chat can be answered."""


@dataclass(frozen=True)
class ReportRequest:
    """A workbook the Telegram layer should build and send to the person who asked."""

    week: Week
    scope: Scope


@dataclass
class Outcome:
    """What to send back: a toast for a pressed button, an edit of its message, new messages."""

    toast: str | None = None
    alert: bool = False
    edit: Reply | None = None
    retire: bool = False
    """Take the buttons off the pressed message: an older copy of a question."""
    send: list[Reply] = field(default_factory=list)
    role: Role | None = None
    """Set when the person's role is known, so the command menu can fit it."""
    language: str = "ru"
    media: list[tuple[str, str]] = field(default_factory=list)
    """Files Telegram already has, to send to this chat: (``AttachmentKind``, file id)."""
    report: ReportRequest | None = None
    deliver_now: bool = False
    """Run the delivery ledger at once (after an admin's resend)."""
    outbox_due: bool = False
    """Send the outbox now: a visit came to count (its cards), or someone is to be told."""

    def as_messages(self) -> Outcome:
        """The outcome of typed text, which has no button to answer: its toast and its edit
        become messages."""
        sent = [Reply(self.toast)] if self.toast else []
        sent += [r for r in (self.edit,) if r is not None]
        self.send = [*sent, *self.send]
        self.edit, self.toast, self.alert = None, None, False
        return self


def rows(*rows: list[Button]) -> Rows:
    """Button rows without the empty ones."""
    return tuple(tuple(row) for row in rows if row)
