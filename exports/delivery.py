"""Who gets which weekly workbook, and the ledger that sends each one exactly once.

The ledger lives in the product's own database (FIELD-NOTES: PTB's jobs are not persisted,
and a missed APScheduler run is lost): on start and at every tick the bot asks which week is
due, makes sure a ledger row exists for each recipient, and *claims* pending rows one by one
with a conditional UPDATE. Only the process whose update matched a row sends it, so several
bot processes on one database never send a workbook twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.db import insert_or_ignore
from storage.models import Person, ReportDelivery, Role, Store, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"
CLAIM_LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)


@dataclass(frozen=True)
class Recipient:
    person_id: int
    telegram_id: int
    role: Role
    scope: Scope
    language: str | None


@dataclass(frozen=True)
class Claimed:
    """A ledger row this process has claimed and must now send (or release as failed)."""

    delivery_id: int
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


def ensure_ledger(session: Session, week: Week, people: list[Recipient]) -> None:
    """A pending row for each recipient that has none for ``week`` yet.

    ``ON CONFLICT DO NOTHING`` on (period, recipient): two processes may both try.
    """
    rows = [
        {
            "period": week.label,
            "recipient_id": r.person_id,
            "scope": r.scope.label,
            "status": PENDING,
            "attempts": 0,
            "created_at": utcnow(),
        }
        for r in people
    ]
    insert_or_ignore(session, ReportDelivery, rows, ["period", "recipient_id"])


def claimable(session: Session, now: datetime) -> list[int]:
    rows = session.scalars(
        select(ReportDelivery.id)
        .where(
            ReportDelivery.status.in_((PENDING, FAILED)),
            or_(ReportDelivery.next_attempt_at.is_(None), ReportDelivery.next_attempt_at <= now),
            or_(ReportDelivery.claimed_at.is_(None), ReportDelivery.claimed_at < now - CLAIM_LEASE),
        )
        .order_by(ReportDelivery.id)
    )
    return list(rows)


def claim(session: Session, delivery_id: int, worker: str, now: datetime) -> Claimed | None:
    """Take one row for this worker, or None when another worker has it or it is done."""
    result = session.execute(
        update(ReportDelivery)
        .where(
            ReportDelivery.id == delivery_id,
            ReportDelivery.status.in_((PENDING, FAILED)),
            or_(ReportDelivery.claimed_at.is_(None), ReportDelivery.claimed_at < now - CLAIM_LEASE),
        )
        .values(claimed_by=worker, claimed_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(ReportDelivery, delivery_id)
    assert row is not None
    recipient = recipient_of(row.recipient)
    if recipient is None:
        row.status, row.last_error, row.claimed_by = FAILED, "recipient no longer receives", None
        row.next_attempt_at = None
        row.attempts += 1
        return None
    return Claimed(delivery_id, Week.parse(row.period), recipient)


def mark_sent(session: Session, claimed: Claimed, path: Path, digest: str, now: datetime) -> None:
    row = session.get(ReportDelivery, claimed.delivery_id)
    assert row is not None
    row.status, row.sent_at, row.workbook_hash, row.file_path = SENT, now, digest, str(path)
    row.attempts += 1
    row.last_error = None
    row.claimed_by = None


def mark_failed(
    session: Session, claimed: Claimed, error: str, now: datetime, wait: timedelta | None = None
) -> timedelta:
    """Release the claim and wait before the next try: ``wait`` (Telegram's retry_after) or
    a doubling backoff, at most an hour. Returns the wait chosen."""
    row = session.get(ReportDelivery, claimed.delivery_id)
    assert row is not None
    row.attempts += 1
    backoff = wait or min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (row.attempts - 1))
    row.status, row.last_error = FAILED, error[:2000]
    row.next_attempt_at = now + backoff
    row.claimed_by = None
    row.claimed_at = None
    return backoff


def resend(session: Session, week: Week, people: list[Recipient]) -> int:
    """An admin's resend: every row of ``week`` goes out again (rows are added if missing)."""
    ensure_ledger(session, week, people)
    result = session.execute(
        update(ReportDelivery)
        .where(ReportDelivery.period == week.label)
        .values(status=PENDING, next_attempt_at=None, claimed_by=None, claimed_at=None)
    )
    return int(getattr(result, "rowcount", 0))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def workbook_path(export_dir: Path, week: Week, scope: Scope) -> Path:
    """``exports/2026-W47/2026-W47-store-S001.xlsx``: one file per week and scope, kept."""
    name = scope.label.replace("store:", "store-").replace(",", "_")
    if len(name) > 120:
        name = "stores-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return export_dir / week.label / f"{week.label}-{name}.xlsx"
