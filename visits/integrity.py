"""Integrity checks on a submitted visit, and the admin's review of the flagged ones.

A visit that fails a check is not thrown away: it is flagged and waits for an admin, who
accepts it (it counts), rejects it with a reason (the shopper may fix and resubmit within
a set time) or voids it. Reports count accepted and unflagged visits only
(``storage.reviews.counted``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from checklists import scoring
from checklists.schema import Channel, Checklist
from storage import actions, cards, reviews
from storage.checklist_versions import definition
from storage.models import (
    Answer,
    AuditEvent,
    Decision,
    DisputeOutcome,
    FlagKind,
    ReviewDecision,
    ReviewStatus,
    Visit,
    VisitCard,
    VisitStatus,
)
from storage.visits import answer_value, answers_of, fix_scores, set_answer_value, write_now


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
    action_days: int = 7
    """How long a store has for a corrective action a counted visit opens."""


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    details: str
    """The facts in plain English (the command line, the audit)."""
    params: dict[str, object] = field(default_factory=dict)
    """The same facts as values, for a message in the reader's language."""


@dataclass(frozen=True)
class Evidence:
    """What the database knows about a visit beyond the visit itself."""

    reused_photos: list[str]
    """Its photos that another visit has too."""
    earlier_visits: int
    """Other visits by the same shopper to the same store within the repeat window."""


def check(
    visit: Visit, checklist: Checklist, evidence: Evidence, rules: IntegrityRules
) -> list[Flag]:
    """Every check the submitted visit fails; an empty list means it counts without review.

    The distance from the store is checked for visits to a store only: a phone call or a
    chat is made from anywhere."""
    assert visit.submitted_at is not None
    flags: list[Flag] = []
    store = visit.store
    if (
        checklist.channel == Channel.STORE
        and visit.checkin_latitude is not None
        and visit.checkin_longitude is not None
        and store.latitude is not None
        and store.longitude is not None
    ):
        metres = distance_m(
            visit.checkin_latitude, visit.checkin_longitude, store.latitude, store.longitude
        )
        if metres > rules.checkin_distance_m:
            flags.append(
                Flag(FlagKind.FAR_FROM_STORE, f"{metres:.0f} m", {"metres": round(metres)})
            )
    asked = scoring.visible_items(checklist, answers_of(visit))
    seconds = (visit.submitted_at - visit.started_at).total_seconds()
    if seconds < rules.min_seconds_per_item * len(asked):
        flags.append(
            Flag(
                FlagKind.TOO_FAST,
                f"{seconds:.0f} s for {len(asked)} questions",
                {"seconds": round(seconds), "questions": len(asked)},
            )
        )
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
        flags.append(Flag(FlagKind.TYPED_TIMER, ", ".join(typed), {"items": typed}))
    if evidence.reused_photos:
        reused = sorted(evidence.reused_photos)
        flags.append(Flag(FlagKind.DUPLICATE_PHOTO, ", ".join(reused), {"count": len(reused)}))
    if evidence.earlier_visits:
        flags.append(
            Flag(
                FlagKind.REPEAT_VISIT,
                f"{evidence.earlier_visits} within {rules.repeat_days} days",
                {"count": evidence.earlier_visits, "days": rules.repeat_days},
            )
        )
    return flags


def flag(session: Session, visit: Visit, rules: IntegrityRules) -> list[Flag]:
    """Replace the submitted visit's flags with a fresh check; flagged visits wait for review."""
    assert visit.submitted_at is not None
    reviews.drop_flags(session, visit.id)
    since = visit.submitted_at - timedelta(days=rules.repeat_days)
    evidence = Evidence(
        reused_photos=reviews.reused_photos(session, visit),
        earlier_visits=reviews.earlier_visits(session, visit, since, visit.submitted_at),
    )
    flags = check(visit, definition(visit.checklist_version), evidence, rules)
    reviews.add_flags(session, visit.id, [(f.kind, f.details, f.params) for f in flags])
    status = ReviewStatus.PENDING if flags else None
    if visit.review_status != status:
        write_now(session, visit, review_status=status)
    return flags


class ReviewError(Exception):
    """A decision that does not fit the visit's state; ``reason`` keys the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def correct(
    session: Session,
    visit_id: int,
    item_id: str,
    answer: scoring.Answer,
    reason: str,
    admin_id: int,
    now: datetime,
    *,
    rules: IntegrityRules,
    today: date,
) -> tuple[Visit, scoring.Answer | None]:
    """An admin's correction of one answer of a visit under review, with the reason:
    kept with who and when (an audit event), and the visit scored again. Returns the visit
    and the answer as it was."""
    visit = session.get(Visit, visit_id, with_for_update=True)
    if visit is None or not under_review(session, visit):
        raise ReviewError("not_pending")
    if not reason.strip():
        raise ReviewError("reason_required")
    checklist = definition(visit.checklist_version)
    row = next((a for a in visit.answers if a.item_id == item_id), None)
    before = answer_value(row) if row is not None else None
    if before == answer:  # another admin made the same correction first
        raise ReviewError("correct_same")
    if row is None:
        row = Answer(visit_id=visit.id, item_id=item_id)
        visit.answers.append(row)
    set_answer_value(row, checklist, answer)
    fix_scores(visit, checklist)
    if cards.counts(visit):  # disputed: its actions follow the corrected answers
        actions.recount(session, visit, rules.action_days, today, now)
    was = None if before is None else "n/a" if before.na else before.value
    now_is = "n/a" if answer.na else answer.value
    details = {"item": item_id, "from": was, "to": now_is, "reason": reason.strip()}
    session.add(
        AuditEvent(
            at=now,
            actor=f"person:{admin_id}",
            action="review:corrected",
            target=f"visit:{visit_id}",
            details=json.dumps(details, ensure_ascii=False),
        )
    )
    session.flush()
    return visit, before


def counts(
    session: Session,
    visit: Visit,
    rules: IntegrityRules,
    today: date,
    now: datetime,
    result: scoring.VisitScore | None = None,
) -> None:
    """What follows when a visit comes to count: its store managers' cards are due, and its
    store's corrective actions are opened, verified or reopened (``result``: its score, when
    the caller has just fixed it)."""
    cards.due(session, visit)
    actions.on_counted(session, visit, rules.action_days, today, now, result)


def under_review(session: Session, visit: Visit) -> bool:
    """Whether the visit waits for an admin: flagged, or disputed by a store manager."""
    if visit.status != VisitStatus.SUBMITTED:
        return False
    return visit.review_status == ReviewStatus.PENDING or bool(cards.disputes_of(session, visit.id))


def settle_dispute(
    session: Session,
    visit_id: int,
    outcome: DisputeOutcome,
    reason: str,
    admin_id: int,
    now: datetime,
) -> tuple[Visit, list[VisitCard]]:
    """An admin's answer to the managers' disputes of a counted visit: it stands (as it is,
    or as corrected), or it is voided (with a reason) and no longer counts. Returns the
    visit and the disputes decided."""
    visit = session.get(Visit, visit_id, with_for_update=True)  # two admins: one decides
    if visit is None or visit.status != VisitStatus.SUBMITTED:
        raise ReviewError("not_pending")
    if outcome == DisputeOutcome.VOIDED and not reason.strip():
        raise ReviewError("reason_required")
    decided = cards.settle(session, visit, outcome, reason, admin_id, now)
    if not decided:
        raise ReviewError("not_pending")
    if outcome == DisputeOutcome.VOIDED:
        visit.status, visit.voided_at, visit.void_reason = VisitStatus.VOIDED, now, reason.strip()
        actions.withdraw(session, visit)
        session.add(
            ReviewDecision(
                visit_id=visit_id,
                decision=Decision.VOID,
                reason=reason.strip(),
                decided_by_id=admin_id,
                decided_at=now,
            )
        )
    session.flush()
    return visit, decided


def decide(
    session: Session,
    visit_id: int,
    decision: Decision,
    reason: str,
    admin_id: int,
    rules: IntegrityRules,
    now: datetime,
    today: date,
) -> Visit:
    """Accept, reject (the shopper may resubmit until a deadline) or void a flagged visit;
    ``today`` is ``now``'s local date (an accepted visit's actions are due from it)."""
    # Locked: two admins deciding at once (on PostgreSQL) must not both decide, nor alert.
    visit = session.get(Visit, visit_id, with_for_update=True)
    if (
        visit is None
        or visit.status != VisitStatus.SUBMITTED
        or visit.review_status != ReviewStatus.PENDING
    ):
        raise ReviewError("not_pending")
    if decision in (Decision.REJECTED, Decision.VOID) and not reason.strip():
        raise ReviewError("reason_required")
    if decision == Decision.ACCEPTED:
        visit.review_status = ReviewStatus.ACCEPTED
        counts(session, visit, rules, today, now)
    elif decision == Decision.REJECTED:
        # It reopens as the shopper's draft once they have no other draft (drafts.settle).
        visit.review_status = ReviewStatus.REJECTED
        visit.resubmit_until = now + timedelta(hours=rules.resubmit_hours)
    elif decision == Decision.VOID:
        visit.status = VisitStatus.VOIDED
        visit.voided_at = now
        visit.void_reason = reason.strip()
    else:
        raise ReviewError("unknown_decision")
    session.add(
        ReviewDecision(
            visit_id=visit_id,
            decision=decision,
            reason=reason.strip(),
            decided_by_id=admin_id,
            decided_at=now,
        )
    )
    session.add(
        AuditEvent(
            at=now,
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
