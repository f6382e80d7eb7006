"""The ledger discipline that sends each row of a ledger exactly once, whatever the ledger:
the weekly workbooks (``exports.delivery``) and the managers' visit cards (``storage.cards``).

A worker works through the due rows **one at a time**: claim → prepare → mark sending →
send → mark sent or failed.

- A claim is a conditional UPDATE that stamps a fresh token on a row nobody holds; only the
  process whose update matched goes on, and every later step (renewing the claim, marking
  it sending, sent or failed) matches that token, so a process that lost its claim can
  never overwrite what the new holder did.
- A live process renews its claim while it works; a dead one stops renewing, and its row is
  free again once the lease runs out (``CLAIM_LEASE``). Only the one row it was working on
  is held up.
- ``SENDING`` is written *before* the message leaves. A row whose lease ran out while
  ``CLAIMED`` was never sent and goes out normally; one that ran out while ``SENDING`` may
  have reached Telegram (a bot cannot ask), so it becomes an *unknown outcome*, as does a
  send whose answer never came. An unknown outcome is retried once, because a message that
  never arrives is worse than a second copy; the second unknown stays for an admin.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import DeliveryStatus, LedgerRow, utcnow

CLAIM_LEASE = timedelta(seconds=60)
"""How long a claim holds without renewal: a dead process holds its one row this long."""
RENEW_EVERY = CLAIM_LEASE / 4
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)
UNKNOWN_RETRY_AFTER = CLAIM_LEASE
"""The pause before the one retry of a send whose outcome is unknown."""
MAX_UNKNOWN_OUTCOMES = 2
"""After this many unknown outcomes a row is left for an admin."""
RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)
HELD = (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)
CANDIDATES = 20

Row = TypeVar("Row", bound=LedgerRow)


def fresh() -> dict[str, Any]:
    """The ledger columns of a row just added, for an ``INSERT … ON CONFLICT DO NOTHING``."""
    return {
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "unknown_outcomes": 0,
        "created_at": utcnow(),
    }


def free(model: type[LedgerRow], now: datetime) -> Any:
    """Rows nobody holds that may be tried now, or rows whose holder's lease ran out."""
    return or_(
        and_(
            model.status.in_(RETRYABLE),
            model.unknown_outcomes < MAX_UNKNOWN_OUTCOMES,
            or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
        ),
        and_(model.status.in_(HELD), model.claimed_at < now - CLAIM_LEASE),
    )


def candidates(session: Session, model: type[LedgerRow], now: datetime) -> list[int]:
    """A few rows that could be claimed now, oldest first (the claim itself decides)."""
    return list(
        session.scalars(
            select(model.id).where(free(model, now)).order_by(model.id).limit(CANDIDATES)
        )
    )


def claim(
    session: Session, model: type[Row], row_id: int, worker: str, now: datetime
) -> tuple[Row, str] | None:
    """Take one row for this worker (the row and the claim's token), or None when another
    worker has it, it is done, or it has run out of tries.

    The UPDATE repeats the "free" condition, so of several processes that saw the row free
    only one matches it. A row abandoned while ``SENDING`` counts as an unknown outcome:
    it is retried once (this claim) and after the second such outcome left alone.
    """
    row = session.get(model, row_id)
    if row is None:
        return None
    abandoned = row.status == DeliveryStatus.SENDING
    token = secrets.token_hex(16)
    values: dict[str, Any] = {
        "status": DeliveryStatus.CLAIMED,
        "claimed_by": worker,
        "claimed_at": now,
        "claim_token": token,
    }
    if abandoned:
        values["unknown_outcomes"] = model.unknown_outcomes + 1
        values["attempts"] = model.attempts + 1
        values["last_error"] = f"outcome unknown: {row.claimed_by} stopped during the send"
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.status == row.status, free(model, now))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    session.refresh(row)
    if row.unknown_outcomes >= MAX_UNKNOWN_OUTCOMES:
        release(row, DeliveryStatus.UNKNOWN, None)
        return None
    return row, token


def skip(row: LedgerRow, why: str) -> None:
    """A claimed row that is no longer to be sent (its recipient left, say)."""
    row.attempts += 1
    row.last_error = why
    release(row, DeliveryStatus.SKIPPED, None)


def held(session: Session, model: type[Row], row_id: int, token: str) -> Row | None:
    """The row if the claim ``token`` still holds it (still being worked on)."""
    row = session.get(model, row_id)
    if row is None or row.claim_token != token or row.status not in HELD:
        return None
    return row


def release(row: LedgerRow, status: DeliveryStatus, next_attempt: datetime | None) -> None:
    row.status = status
    row.next_attempt_at = next_attempt
    row.claimed_by = row.claimed_at = row.claim_token = None


def renew(session: Session, model: type[LedgerRow], row_id: int, token: str, now: datetime) -> bool:
    """Extend the claim's lease; False when it is no longer this claim's row."""
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.claim_token == token, model.status.in_(HELD))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def mark_sending(
    session: Session, model: type[LedgerRow], row_id: int, token: str, now: datetime
) -> bool:
    """Record that the send starts now; False (send nothing) when the claim was lost."""
    row = held(session, model, row_id, token)
    if row is None or row.status != DeliveryStatus.CLAIMED:
        return False
    row.status, row.sending_at, row.claimed_at = DeliveryStatus.SENDING, now, now
    return True


def mark_sent(
    session: Session, model: type[Row], row_id: int, token: str, now: datetime
) -> Row | None:
    """Record the send (the caller adds what it sent to the row returned); None when the
    claim had been lost meanwhile (nothing written)."""
    row = held(session, model, row_id, token)
    if row is None:
        return None
    row.sent_at = now
    row.attempts += 1
    row.last_error = None
    release(row, DeliveryStatus.SENT, None)
    return row


def mark_failed(
    session: Session,
    model: type[LedgerRow],
    row_id: int,
    token: str,
    error: str,
    now: datetime,
    wait: timedelta | None = None,
) -> timedelta | None:
    """Release the claim after a failure that certainly sent nothing, to be tried again after
    ``wait`` (Telegram's retry_after) or a doubling backoff, at most an hour. Returns the
    wait chosen, or None when the claim had been lost."""
    row = held(session, model, row_id, token)
    if row is None:
        return None
    row.attempts += 1
    backoff = wait or min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (row.attempts - 1))
    row.last_error = error[:2000]
    release(row, DeliveryStatus.FAILED, now + backoff)
    return backoff


def mark_unknown(
    session: Session, model: type[LedgerRow], row_id: int, token: str, error: str, now: datetime
) -> bool:
    """Release the claim after a send whose outcome is unknown: it is tried once more after
    ``UNKNOWN_RETRY_AFTER``, then left for an admin. False when the claim was lost."""
    row = held(session, model, row_id, token)
    if row is None:
        return False
    row.attempts += 1
    row.unknown_outcomes += 1
    row.last_error = f"outcome unknown: {error}"[:2000]
    release(row, DeliveryStatus.UNKNOWN, now + UNKNOWN_RETRY_AFTER)
    return True
