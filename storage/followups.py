"""A store manager's own corrective actions (``/followup``): what they will do about a failed
standard of a recent visit, by when. They close, verify and reopen as ``storage.actions``
says, like the actions visits open by themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import actions
from storage.models import (
    Answer,
    ChecklistVersion,
    CorrectiveAction,
    Person,
    Visit,
    VisitStatus,
)
from storage.reviews import counted

MAX_ACTION = 1000
RECENT_DAYS = 30


class FollowUpError(Exception):
    """Why an action cannot be added; ``reason`` keys the manager's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FailedStandard:
    visit_id: int
    store_id: int
    item_id: str
    submitted_at: datetime


def failed_standards(
    session: Session, manager: Person, now: datetime, days: int = RECENT_DAYS
) -> list[FailedStandard]:
    """Standards not fully met in the manager's stores' counted visits of the last days,
    newest first, without those that already have an action, or whose standard has one in
    play at the store (one action a standard: a later failure reopens, never duplicates)."""
    store_ids = [s.id for s in manager.stores]
    if not store_ids:
        return []
    rows = session.execute(
        select(
            Visit.id,
            Visit.store_id,
            Answer.item_id,
            Visit.submitted_at,
            ChecklistVersion.checklist_id,
        )
        .join(Answer, Answer.visit_id == Visit.id)
        .join(ChecklistVersion, ChecklistVersion.id == Visit.checklist_version_id)
        .outerjoin(
            CorrectiveAction,
            (CorrectiveAction.visit_id == Visit.id) & (CorrectiveAction.item_id == Answer.item_id),
        )
        .where(
            Visit.store_id.in_(store_ids),
            Visit.status == VisitStatus.SUBMITTED,
            counted(),
            Visit.submitted_at >= now - timedelta(days=days),
            Answer.score < 1,
            CorrectiveAction.id.is_(None),
        )
        .order_by(Visit.submitted_at.desc(), Answer.id)
    ).all()
    in_play = {
        (a.store_id, a.checklist_id, a.item_id) for a in actions.of_stores(session, store_ids)
    }
    return [
        FailedStandard(r[0], r[1], r[2], r[3])
        for r in rows
        if r[3] is not None and (r[1], r[4], r[2]) not in in_play
    ]


def add_action(
    session: Session,
    manager: Person,
    visit_id: int,
    item_id: str,
    action: str,
    due_on: date,
    now: datetime,
    today: date,
) -> CorrectiveAction:
    """``today`` is ``now``'s local date: a due date before it is refused."""
    failed = {(f.visit_id, f.item_id): f for f in failed_standards(session, manager, now)}
    found = failed.get((visit_id, item_id))
    if found is None:
        raise FollowUpError("not_a_failed_standard")
    text = action.strip()
    if not text:
        raise FollowUpError("empty_text")
    if len(text) > MAX_ACTION:
        raise FollowUpError("too_long")
    if due_on < today:
        raise FollowUpError("due_in_past")
    visit = session.get(Visit, visit_id)
    assert visit is not None
    row = CorrectiveAction(
        visit_id=visit_id,
        store_id=found.store_id,
        checklist_id=visit.checklist_version.checklist_id,
        item_id=item_id,
        manager_id=manager.id,
        action=text,
        due_on=due_on,
    )
    session.add(row)
    session.flush()
    return row
