"""Who gets which weekly workbook, and the ledger that sends each one exactly once.

The ledger lives in the product's own database (python-telegram-bot's jobs are not persisted,
and APScheduler skips a run missed while the process was down, only logging it): on start and
at every tick the bot asks which week is due, makes sure a ledger row exists for each
recipient, and then works through the due rows one at a time, in the discipline
``storage.ledger`` describes: claim → build → mark sending → send → mark sent or failed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage import ledger
from storage.db import insert_or_ignore
from storage.models import DeliveryStatus, Person, ReportDelivery, Role, Store


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
    period = week.label
    rows = [
        {"period": period, "recipient_id": r.person_id, "scope": r.scope.label, **ledger.fresh()}
        for r in people
    ]
    insert_or_ignore(session, ReportDelivery, rows, ["period", "recipient_id"])


def candidates(session: Session, now: datetime) -> list[int]:
    """A few rows that could be claimed now, oldest first (the claim itself decides)."""
    return ledger.candidates(session, ReportDelivery, now)


def claim(session: Session, delivery_id: int, worker: str, now: datetime) -> Claimed | None:
    """Take one row for this worker, or None when another worker has it or it is done; a
    row whose recipient no longer receives reports is skipped."""
    claimed = ledger.claim(session, ReportDelivery, delivery_id, worker, now)
    if claimed is None:
        return None
    row, token = claimed
    recipient = recipient_of(row.recipient)
    if recipient is None:
        ledger.skip(row, "the person no longer receives reports")
        return None
    return Claimed(delivery_id, token, Week.parse(row.period), recipient)


def resend(session: Session, week: Week, people: list[Recipient]) -> int:
    """An admin's resend: every row of ``week`` goes out again (rows are added if missing).

    Rows being worked on right now are left to their holder (they are going out anyway);
    the count includes them."""
    ensure_ledger(session, week, people)
    session.execute(
        update(ReportDelivery)
        .where(ReportDelivery.period == week.label, ReportDelivery.status.not_in(ledger.HELD))
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
