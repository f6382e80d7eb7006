"""Who gets which weekly workbook, and the ledger that sends each one exactly once.

The ledger lives in the product's own database (python-telegram-bot's jobs are not persisted,
and APScheduler skips a run missed while the process was down, only logging it): on start and
at every tick the bot asks which week is due, makes sure a ledger row exists for each
recipient, and then works through the due rows **one at a time**: claim → build → mark sending
→ send → mark sent or failed.

- A claim is a conditional UPDATE that stamps a fresh token on a row nobody holds; only the
  process whose update matched goes on, and every later step (renewing the claim, marking
  it sending, sent or failed) matches that token, so a process that lost its claim can
  never overwrite what the new holder did.
- A live process renews its claim while it works; a dead one stops renewing, and its row is
  free again once the lease runs out (``CLAIM_LEASE``). Only the one row it was working on
  is held up.
- ``SENDING`` is written *before* the upload starts. A row whose lease ran out while
  ``CLAIMED`` was never sent and goes out normally; one that ran out while ``SENDING`` may
  have reached Telegram (a bot cannot ask), so it becomes an *unknown outcome*, as does an
  upload whose answer never came. An unknown outcome is retried once, because a workbook
  that never arrives is worse than a second copy; the second unknown stays for an admin.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.db import insert_or_ignore
from storage.models import DeliveryStatus, Person, ReportDelivery, Role, Store, utcnow

CLAIM_LEASE = timedelta(seconds=60)
"""How long a claim holds without renewal: a dead process holds its one row this long."""
RENEW_EVERY = CLAIM_LEASE / 4
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)
UNKNOWN_RETRY_AFTER = CLAIM_LEASE
"""The pause before the one retry of an upload whose outcome is unknown."""
MAX_UNKNOWN_OUTCOMES = 2
"""After this many unknown outcomes a row is left for an admin (``msbot deliveries``)."""
RETRYABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)
HELD = (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)
CANDIDATES = 20


@dataclass(frozen=True)
class Recipient:
    person_id: int
    telegram_id: int
    role: Role
    scope: Scope
    language: str | None


@dataclass(frozen=True)
class Claimed:
    """A ledger row this process holds: ``token`` proves it at every later step."""

    delivery_id: int
    token: str
    week: Week
    recipient: Recipient


def scope_of(person: Person) -> Scope | None:
    """The widest scope a person may see: admins all, HR all but shoppers, managers theirs."""
    if person.role == Role.ADMIN:
        return Scope(ScopeKind.ALL)
    if person.role == Role.HR:
        return Scope(ScopeKind.HR)
    if person.role == Role.MANAGER and person.stores:
        return Scope(ScopeKind.STORES, frozenset(s.code for s in person.stores))
    return None


def recipient_of(person: Person) -> Recipient | None:
    scope = scope_of(person)
    if scope is None or person.telegram_id is None or not person.active:
        return None
    return Recipient(person.id, person.telegram_id, Role(person.role), scope, person.language)


def recipients(session: Session) -> list[Recipient]:
    people = session.scalars(
        select(Person).where(Person.active, Person.telegram_id.is_not(None)).order_by(Person.id)
    ).all()
    return [r for r in (recipient_of(p) for p in people) if r is not None]


def store_codes(session: Session, scope: Scope) -> list[str]:
    """The stores a scope covers, for splitting its workbook store by store."""
    if scope.restricted:
        return sorted(scope.store_codes)
    return list(session.scalars(select(Store.code).order_by(Store.code)))


def due_week(now: datetime, trigger: Any, zone: ZoneInfo) -> Week:
    """The latest week whose scheduled report time has come.

    The report for a week is due at the schedule's first fire time at or after the week's
    end (Monday 00:00 local); before that moment on a Monday, the week before is the due one.
    """
    week = Week.last_complete(now, zone)
    due_at = trigger.get_next_fire_time(None, week.local_end(zone))
    if due_at is not None and due_at <= now:
        return week
    return week.previous()


def missing(session: Session, week: Week, people: list[Recipient]) -> list[Recipient]:
    """The recipients without a ledger row for ``week``: a read, so that a tick with nothing
    new takes no write lock."""
    present = set(
        session.scalars(
            select(ReportDelivery.recipient_id).where(ReportDelivery.period == week.label)
        )
    )
    return [r for r in people if r.person_id not in present]


def ensure_ledger(session: Session, week: Week, people: list[Recipient]) -> None:
    """A pending row for each recipient that has none for ``week`` yet.

    ``ON CONFLICT DO NOTHING`` on (period, recipient): two processes may both add one row.
    """
    rows = [
        {
            "period": week.label,
            "recipient_id": r.person_id,
            "scope": r.scope.label,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "unknown_outcomes": 0,
            "created_at": utcnow(),
        }
        for r in people
    ]
    insert_or_ignore(session, ReportDelivery, rows, ["period", "recipient_id"])


def _free(now: datetime) -> Any:
    """Rows nobody holds that may be tried now, or rows whose holder's lease ran out."""
    return or_(
        and_(
            ReportDelivery.status.in_(RETRYABLE),
            ReportDelivery.unknown_outcomes < MAX_UNKNOWN_OUTCOMES,
            or_(ReportDelivery.next_attempt_at.is_(None), ReportDelivery.next_attempt_at <= now),
        ),
        and_(ReportDelivery.status.in_(HELD), ReportDelivery.claimed_at < now - CLAIM_LEASE),
    )


def candidates(session: Session, now: datetime) -> list[int]:
    """A few rows that could be claimed now, oldest first (the claim itself decides)."""
    return list(
        session.scalars(
            select(ReportDelivery.id)
            .where(_free(now))
            .order_by(ReportDelivery.id)
            .limit(CANDIDATES)
        )
    )


def claim(session: Session, delivery_id: int, worker: str, now: datetime) -> Claimed | None:
    """Take one row for this worker, or None when another worker has it or it is done.

    The UPDATE repeats the "free" condition, so of several processes that saw the row free
    only one matches it. A row abandoned while ``SENDING`` counts as an unknown outcome:
    it is retried once (this claim) and after the second such outcome left alone.
    """
    row = session.get(ReportDelivery, delivery_id)
    if row is None:
        return None
    abandoned_upload = row.status == DeliveryStatus.SENDING
    token = secrets.token_hex(16)
    values: dict[str, Any] = {
        "status": DeliveryStatus.CLAIMED,
        "claimed_by": worker,
        "claimed_at": now,
        "claim_token": token,
    }
    if abandoned_upload:
        values["unknown_outcomes"] = ReportDelivery.unknown_outcomes + 1
        values["attempts"] = ReportDelivery.attempts + 1
        values["last_error"] = f"outcome unknown: {row.claimed_by} stopped during the upload"
    result = session.execute(
        update(ReportDelivery)
        .where(
            ReportDelivery.id == delivery_id,
            ReportDelivery.status == row.status,
            _free(now),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    session.refresh(row)
    if row.unknown_outcomes >= MAX_UNKNOWN_OUTCOMES:
        _release(row, DeliveryStatus.UNKNOWN, None)
        return None
    recipient = recipient_of(row.recipient)
    if recipient is None:
        row.attempts += 1
        row.last_error = "the person no longer receives reports"
        _release(row, DeliveryStatus.SKIPPED, None)
        return None
    return Claimed(delivery_id, token, Week.parse(row.period), recipient)


def _held(session: Session, claimed: Claimed) -> ReportDelivery | None:
    """The row if ``claimed`` still holds it (same token, still being worked on)."""
    row = session.get(ReportDelivery, claimed.delivery_id)
    if row is None or row.claim_token != claimed.token or row.status not in HELD:
        return None
    return row


def _release(row: ReportDelivery, status: DeliveryStatus, next_attempt: datetime | None) -> None:
    row.status = status
    row.next_attempt_at = next_attempt
    row.claimed_by = row.claimed_at = row.claim_token = None


def renew(session: Session, claimed: Claimed, now: datetime) -> bool:
    """Extend the claim's lease; False when it is no longer this claim's row."""
    result = session.execute(
        update(ReportDelivery)
        .where(
            ReportDelivery.id == claimed.delivery_id,
            ReportDelivery.claim_token == claimed.token,
            ReportDelivery.status.in_(HELD),
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def mark_sending(session: Session, claimed: Claimed, now: datetime) -> bool:
    """Record that the upload starts now; False (send nothing) when the claim was lost."""
    row = _held(session, claimed)
    if row is None or row.status != DeliveryStatus.CLAIMED:
        return False
    row.status, row.sending_at, row.claimed_at = DeliveryStatus.SENDING, now, now
    return True


def mark_sent(session: Session, claimed: Claimed, path: Path, digest: str, now: datetime) -> bool:
    """Record the delivery; False when the claim had been lost meanwhile (nothing written)."""
    row = _held(session, claimed)
    if row is None:
        return False
    row.sent_at, row.workbook_hash, row.file_path = now, digest, str(path)
    row.attempts += 1
    row.last_error = None
    _release(row, DeliveryStatus.SENT, None)
    return True


def mark_failed(
    session: Session, claimed: Claimed, error: str, now: datetime, wait: timedelta | None = None
) -> timedelta | None:
    """Release the claim after a failure that certainly sent nothing, to be tried again after
    ``wait`` (Telegram's retry_after) or a doubling backoff, at most an hour. Returns the
    wait chosen, or None when the claim had been lost."""
    row = _held(session, claimed)
    if row is None:
        return None
    row.attempts += 1
    backoff = wait or min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (row.attempts - 1))
    row.last_error = error[:2000]
    _release(row, DeliveryStatus.FAILED, now + backoff)
    return backoff


def mark_unknown(session: Session, claimed: Claimed, error: str, now: datetime) -> bool:
    """Release the claim after an upload whose outcome is unknown: it is tried once more
    after ``UNKNOWN_RETRY_AFTER``, then left for an admin. False when the claim was lost."""
    row = _held(session, claimed)
    if row is None:
        return False
    row.attempts += 1
    row.unknown_outcomes += 1
    row.last_error = f"outcome unknown: {error}"[:2000]
    _release(row, DeliveryStatus.UNKNOWN, now + UNKNOWN_RETRY_AFTER)
    return True


def resend(session: Session, week: Week, people: list[Recipient]) -> int:
    """An admin's resend: every row of ``week`` goes out again (rows are added if missing).

    Rows being worked on right now are left to their holder (they are going out anyway);
    the count includes them."""
    ensure_ledger(session, week, people)
    session.execute(
        update(ReportDelivery)
        .where(ReportDelivery.period == week.label, ReportDelivery.status.not_in(HELD))
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=None,
            unknown_outcomes=0,
            claimed_by=None,
            claimed_at=None,
            claim_token=None,
        )
        .execution_options(synchronize_session=False)
    )
    return len(session.scalars(ledger_rows(week)).all())


def ledger_rows(week: Week) -> Any:
    """The ledger of one week, recipient by recipient (for ``msbot deliveries``)."""
    return (
        select(ReportDelivery)
        .where(ReportDelivery.period == week.label)
        .order_by(ReportDelivery.recipient_id)
    )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def workbook_path(export_dir: Path, week: Week, scope: Scope, language: str) -> Path:
    """``exports/2026-W47/2026-W47-store-S001-ru.xlsx``: one kept file per week, scope and
    language (two recipients of one scope may read different languages)."""
    name = scope.label.replace("store:", "store-").replace(",", "_")
    if len(name) > 120:
        name = "stores-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return export_dir / week.label / f"{week.label}-{name}-{language}.xlsx"
