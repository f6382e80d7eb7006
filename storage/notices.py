"""Messages to people who did not write — reminders, an admin's decision told to a shopper or
to the managers who disputed — kept in a ledger and sent once, like the visit cards.

A notice is added in the transaction that decides it (the reminder marked as reminded, the
dispute decided), so it exists exactly when its cause does; the worker then sends it in the
ledger's discipline (``storage.ledger``): a Telegram outage delays it, never loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from storage import ledger
from storage.models import Notice, Person


@dataclass(frozen=True)
class Claimed:
    row_id: int
    """The notice's id."""
    token: str
    chat_id: int
    text: str
    """HTML, worded in the recipient's language when the notice was added."""


def add(session: Session, recipient: Person, text: str) -> bool:
    """A notice for ``recipient``; False (nothing added) for someone without a chat or no
    longer active."""
    if recipient.telegram_id is None or not recipient.active:
        return False
    session.add(Notice(recipient_id=recipient.id, text=text, **ledger.fresh()))
    return True


def candidates(session: Session, now: datetime) -> list[int]:
    return ledger.candidates(session, Notice, now)


def claim(session: Session, notice_id: int, worker: str, now: datetime) -> Claimed | None:
    """Take one notice for this worker; one whose recipient left meanwhile is skipped."""
    claimed = ledger.claim(session, Notice, notice_id, worker, now)
    if claimed is None:
        return None
    row, token = claimed
    person = row.recipient
    if person.telegram_id is None or not person.active:
        ledger.skip(row, "the person no longer uses the bot")
        return None
    return Claimed(notice_id, token, person.telegram_id, row.text)
