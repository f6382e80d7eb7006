"""Integrity checks on a submitted visit, and the admin's review of the flagged ones.

A visit that fails a check is not thrown away: it is flagged and waits for an admin, who
accepts it (it counts), rejects it with a reason (the shopper may fix and resubmit within
a set time) or voids it. Reports count accepted and unflagged visits only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from checklists import scoring
from storage.checklist_versions import definition
from storage.models import (
    AuditEvent,
    Photo,
    ReviewDecision,
    Visit,
    VisitFlag,
    VisitStatus,
    utcnow,
)
from storage.visits import answers_of

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"


def counted() -> ColumnElement[bool]:
    """Visits that count in reports: unflagged, or flagged and accepted by an admin."""
    return or_(Visit.review_status.is_(None), Visit.review_status == ACCEPTED)


@dataclass(frozen=True)
class IntegrityRules:
    checkin_distance_m: float = 300
    """A check-in farther than this from the store's coordinates is flagged."""
    min_seconds_per_item: float = 8
    """A visit faster than this per question asked is implausible."""
    repeat_days: int = 14
    """A second visit by one shopper to one store within this many days is flagged."""
    resubmit_hours: int = 48
    """How long a shopper may fix and resubmit a rejected visit."""
    checkin_fresh_minutes: int = 60
    """A location shared this long before the visit started still counts as its check-in."""


@dataclass(frozen=True)
class Flag:
    kind: str
    details: str


def check(session: Session, visit: Visit, rules: IntegrityRules) -> list[Flag]:
    """Every check the visit fails; an empty list means it counts without review."""
    flags: list[Flag] = []
    store = visit.store
    if (
        visit.checkin_latitude is not None
        and visit.checkin_longitude is not None
        and store.latitude is not None
        and store.longitude is not None
    ):
        metres = distance_m(
            visit.checkin_latitude, visit.checkin_longitude, store.latitude, store.longitude
        )
        if metres > rules.checkin_distance_m:
            flags.append(Flag("far_from_store", f"{metres:.0f} m"))
    checklist = definition(visit.checklist_version)
    asked = scoring.visible_items(checklist, answers_of(visit))
    finished = visit.submitted_at or utcnow()
    seconds = (finished - visit.started_at).total_seconds()
    if seconds < rules.min_seconds_per_item * len(asked):
        flags.append(Flag("too_fast", f"{seconds:.0f} s for {len(asked)} questions"))
    typed = [
        row.item_id
        for row in visit.answers
        if row.item_id in asked
        and not row.na
        and not row.measured
        and row.value_number is not None
        and checklist.item(row.item_id).kind.stopwatch
    ]
    if typed:
        flags.append(Flag("typed_timer", ", ".join(typed)))
    reused = session.scalars(
        select(Photo.file_unique_id)
        .join(Visit, Visit.id == Photo.visit_id)
        .where(
            Photo.file_unique_id.in_([p.file_unique_id for p in visit.photos]),
            Photo.visit_id != visit.id,
            Visit.status.in_((VisitStatus.SUBMITTED, VisitStatus.DRAFT, VisitStatus.VOIDED)),
        )
        .distinct()
    ).all()
    if reused:
        flags.append(Flag("duplicate_photo", ", ".join(sorted(reused))))
    earlier = session.scalar(
        select(func.count())
        .select_from(Visit)
        .where(
            Visit.id != visit.id,
            Visit.evaluator_id == visit.evaluator_id,
            Visit.store_id == visit.store_id,
            Visit.status == VisitStatus.SUBMITTED,
            Visit.submitted_at >= finished - timedelta(days=rules.repeat_days),
            Visit.submitted_at <= finished,
        )
    )
    if earlier:
        flags.append(Flag("repeat_visit", f"{earlier} within {rules.repeat_days} days"))
    return flags


def flag(session: Session, visit: Visit, rules: IntegrityRules) -> list[Flag]:
    """Replace the visit's flags with a fresh check; flagged visits wait for review."""
    for old in session.scalars(select(VisitFlag).where(VisitFlag.visit_id == visit.id)):
        session.delete(old)
    flags = check(session, visit, rules)
    for found in flags:
        session.add(VisitFlag(visit_id=visit.id, kind=found.kind, details=found.details))
    visit.review_status = PENDING if flags else None
    return flags


def flags_of(session: Session, visit_id: int) -> list[VisitFlag]:
    return list(
        session.scalars(
            select(VisitFlag).where(VisitFlag.visit_id == visit_id).order_by(VisitFlag.id)
        )
    )


def pending_reviews(session: Session) -> list[Visit]:
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.status == VisitStatus.SUBMITTED, Visit.review_status == PENDING)
            .order_by(Visit.submitted_at)
        )
    )


class ReviewError(Exception):
    """A decision that does not fit the visit's state; ``reason`` keys the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decide(
    session: Session,
    visit_id: int,
    decision: str,
    reason: str,
    admin_id: int,
    rules: IntegrityRules,
    now: datetime | None = None,
) -> Visit:
    """Accept, reject (the shopper may resubmit until a deadline) or void a flagged visit."""
    moment = now or utcnow()
    visit = session.get(Visit, visit_id)
    if visit is None or visit.status != VisitStatus.SUBMITTED or visit.review_status != PENDING:
        raise ReviewError("not_pending")
    if decision in (REJECTED, "void") and not reason.strip():
        raise ReviewError("reason_required")
    if decision == ACCEPTED:
        visit.review_status = ACCEPTED
    elif decision == REJECTED:
        # It reopens as the shopper's draft once they have no other draft (draft_of).
        visit.review_status = REJECTED
        visit.resubmit_until = moment + timedelta(hours=rules.resubmit_hours)
    elif decision == "void":
        visit.status = VisitStatus.VOIDED
        visit.voided_at = moment
        visit.void_reason = reason.strip()
    else:
        raise ReviewError("unknown_decision")
    session.add(
        ReviewDecision(
            visit_id=visit_id,
            decision=decision,
            reason=reason.strip(),
            decided_by_id=admin_id,
            decided_at=moment,
        )
    )
    session.add(
        AuditEvent(
            at=moment,
            actor=f"person:{admin_id}",
            action=f"review:{decision}",
            target=f"visit:{visit_id}",
            details=reason.strip(),
        )
    )
    session.flush()
    return visit


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6_371_000.0 * 2 * math.asin(math.sqrt(a))
