"""Remembering which Telegram updates were acted on, so a repeated one changes nothing."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_for
from storage.models import HandledUpdate, utcnow
from storage.prepared import in_session


def first_time(session: Session, update_id: int, now: datetime | None = None) -> bool:
    """Record ``update_id`` in the caller's transaction; False if it was recorded before.

    The record commits together with the update's effect, so after a crash either both
    exist (a redelivery is ignored) or neither does (the redelivery is acted on).
    """
    prepared, driver = in_session(session, record_update(session.get_bind().dialect.name))
    given = {"update_id": update_id, "handled_at": now or utcnow()}
    return bool(prepared.run(driver, given).rowcount == 1)


@functools.cache
def record_update(dialect: str) -> Any:
    """The record's ``INSERT ... ON CONFLICT DO NOTHING`` for the dialect named, built once:
    every update sends it. Its row count is kept: SQLAlchemy drops an ``INSERT``'s on
    PostgreSQL (-1, which read as true, so there every repeat was taken for a first time)."""
    statement = insert_ignoring_for(dialect, HandledUpdate, ["update_id"])
    return statement.execution_options(preserve_rowcount=True)


def forget_before(session: Session, moment: datetime) -> int:
    """Drop records older than any redelivery can be (Telegram keeps updates for 24 hours)."""
    result = session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < moment))
    return int(getattr(result, "rowcount", 0))
