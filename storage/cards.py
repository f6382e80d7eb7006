"""The managers' visit cards: which manager gets a card of which visit, each sent once through
the ledger (``storage.ledger``), and what a manager did with it (✔ Seen, ⚑ Dispute) and an
admin decided about a dispute.

A card is due when a visit *counts*: at submission when no integrity check flagged it, or
when an admin accepts it. Its rows are added in the transaction that makes the visit count,
so a card is never lost to a crash after the visit counted, nor sent for a visit that never
did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from storage import ledger, people
from storage.db import insert_or_ignore
from storage.models import (
    AuditEvent,
    DisputeOutcome,
    Person,
    ReviewStatus,
    Visit,
    VisitCard,
    VisitStatus,
)

MAX_REASON = 1000


@dataclass(frozen=True)
class Claimed:
    """A card this process holds: ``token`` proves it at every later step."""

    row_id: int
    """The card's id."""
    token: str
    visit_id: int
    manager_id: int
    chat_id: int


def counts(visit: Visit) -> bool:
    """Whether the visit counts in reports (``storage.reviews.counted`` for one visit)."""
    return visit.status == VisitStatus.SUBMITTED and visit.review_status in (
        None,
        ReviewStatus.ACCEPTED,
    )


def due(session: Session, visit: Visit) -> int:
    """A pending card of ``visit`` for each active manager of its store who has a chat with
    the bot, if the visit counts; ``ON CONFLICT DO NOTHING``, so a visit accepted twice (two
    admins) or resubmitted never gets a second card. The number of managers."""
    if not counts(visit):
        return 0
    managers = people.store_managers(session, visit.store_id)
    rows = [{"visit_id": visit.id, "manager_id": m.id, **ledger.fresh()} for m in managers]
    insert_or_ignore(session, VisitCard, rows, ["visit_id", "manager_id"])
    return len(rows)


def candidates(session: Session, now: datetime) -> list[int]:
    return ledger.candidates(session, VisitCard, now)


def claim(session: Session, card_id: int, worker: str, now: datetime) -> Claimed | None:
    """Take one card for this worker; one whose manager no longer manages the store, or
    whose visit no longer counts (voided meanwhile), is skipped instead."""
    claimed = ledger.claim(session, VisitCard, card_id, worker, now)
    if claimed is None:
        return None
    row, token = claimed
    manager = row.manager
    if not people.manages(manager, row.visit.store_id) or manager.telegram_id is None:
        ledger.skip(row, "the person no longer manages the store")
        return None
    if not counts(row.visit):
        ledger.skip(row, "the visit no longer counts")
        return None
    return Claimed(card_id, token, row.visit_id, manager.id, manager.telegram_id)


class CardError(Exception):
    """Why a manager's press on a card changes nothing; ``reason`` keys the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def own_card(session: Session, card_id: int, manager: Person) -> VisitCard:
    """The card if it is this manager's, sent, of a store they still manage, and its visit
    still counts; a forged or foreign card id is refused like a stale one."""
    card = session.get(VisitCard, card_id)
    if card is None or card.manager_id != manager.id or card.sent_at is None:
        raise CardError("not_yours")
    if not people.manages(manager, card.visit.store_id):
        raise CardError("not_yours")
    if not counts(card.visit):
        raise CardError("no_longer_counts")
    return card


def see(card: VisitCard, now: datetime) -> bool:
    """✔ Seen; False when it was seen before (a repeated tap changes nothing)."""
    if card.seen_at is not None:
        return False
    card.seen_at = now
    return True


def dispute(session: Session, card: VisitCard, reason: str, now: datetime) -> None:
    """⚑ Dispute with the manager's reason: the visit joins the admins' review queue (it
    counts meanwhile: a dispute alone does not take a visit out of the reports)."""
    text = reason.strip()
    if not text:
        raise CardError("dispute_reason_required")
    if len(text) > MAX_REASON:
        raise CardError("dispute_too_long")
    if card.disputed_at is not None:
        raise CardError("already_disputed")
    card.disputed_at, card.dispute_reason = now, text
    card.seen_at = card.seen_at or now
    session.add(
        AuditEvent(
            at=now,
            actor=f"person:{card.manager_id}",
            action="card:disputed",
            target=f"visit:{card.visit_id}",
            details=text,
        )
    )


def open_dispute() -> ColumnElement[bool]:
    """Cards whose dispute waits for an admin."""
    return VisitCard.disputed_at.is_not(None) & VisitCard.dispute_outcome.is_(None)


def disputes_of(session: Session, visit_id: int) -> list[VisitCard]:
    """The visit's disputes waiting for an admin, in the order they came."""
    return list(
        session.scalars(
            select(VisitCard)
            .where(VisitCard.visit_id == visit_id, open_dispute())
            .order_by(VisitCard.disputed_at, VisitCard.id)
        )
    )


def settle(
    session: Session,
    visit: Visit,
    outcome: DisputeOutcome,
    reason: str,
    admin_id: int | None,
    now: datetime,
    actor: str | None = None,
) -> list[VisitCard]:
    """An admin's decision on the visit's waiting disputes, kept on each card and in the
    audit (``actor``: who, when not an admin in the bot — the command line); the cards
    decided (none when another admin decided first)."""
    decided = disputes_of(session, visit.id)
    for card in decided:
        card.dispute_outcome, card.decided_by_id, card.decided_at = outcome, admin_id, now
        card.decision_reason = reason.strip()
    if decided:
        details = {"reason": reason.strip(), "cards": [c.id for c in decided]}
        session.add(
            AuditEvent(
                at=now,
                actor=actor or f"person:{admin_id}",
                action=f"dispute:{outcome}",
                target=f"visit:{visit.id}",
                details=json.dumps(details, ensure_ascii=False),
            )
        )
    return decided


def sent_cards(session: Session, visit_id: int) -> list[VisitCard]:
    """The visit's cards that reached their managers."""
    return list(
        session.scalars(
            select(VisitCard)
            .where(VisitCard.visit_id == visit_id, VisitCard.sent_at.is_not(None))
            .order_by(VisitCard.id)
        )
    )
