"""Remembering which Telegram updates were acted on, so a repeated one changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.db import insert_ignoring
from storage.models import HandledUpdate, utcnow


def first_time(session: Session, update_id: int, now: datetime | None = None) -> bool:
    """Record ``update_id`` in the caller's transaction; False if it was recorded before.

    The record commits together with the update's effect, so after a crash either both
    exist (a redelivery is ignored) or neither does (the redelivery is acted on).
    """
    statement = insert_ignoring(session, HandledUpdate, ["update_id"])
    result = session.execute(statement.values(update_id=update_id, handled_at=now or utcnow()))
    return bool(getattr(result, "rowcount", 0))


def forget_before(session: Session, moment: datetime) -> int:
    """Drop records older than any redelivery can be (Telegram keeps updates for 24 hours)."""
    result = session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < moment))
    return int(getattr(result, "rowcount", 0))
