"""Corrective actions that close: opened when a counted visit fails a critical standard or
one its checklist marks ``action: required``, reminded, closed by a store manager with what
was done, then verified — or reopened — by the next counted visit to the store that answers
the standard.

Everything here runs in the transaction that makes a visit count (``on_counted``), or in the
manager's own, so an action is never opened for a visit that does not count, nor twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import visits
from storage.checklist_versions import definition
from storage.models import ActionStatus, CorrectiveAction, Person, Role, Store, Visit

MAX_NOTE = 1000
ACTIVE = (ActionStatus.OPEN, ActionStatus.CLOSED)
"""Actions still in play: a failure of the standard meanwhile opens no second one."""


@dataclass(frozen=True)
class Counted:
    """What a visit that came to count did to its store's actions."""

    opened: list[CorrectiveAction]
    verified: list[CorrectiveAction]
    reopened: list[CorrectiveAction]


def on_counted(session: Session, visit: Visit, days: int, today: date, now: datetime) -> Counted:
    """The visit counts now: closed actions of its store whose standard it met are verified,
    those whose standard it failed again are reopened (due in ``days`` from ``today``); then
    each standard it failed that needs an action and has none in play gets one."""
    checklist = definition(visit.checklist_version)
    result = visits.score_of(visit)
    scores = {i: r.score for i, r in result.items.items() if r.visible and r.score is not None}
    in_play = list(
        session.scalars(
            select(CorrectiveAction).where(
                CorrectiveAction.store_id == visit.store_id,
                CorrectiveAction.checklist_id == checklist.id,
                CorrectiveAction.status.in_(ACTIVE),
                CorrectiveAction.visit_id != visit.id,
            )
        )
    )
    verified, reopened = [], []
    for action in in_play:
        score = scores.get(action.item_id)
        if action.status != ActionStatus.CLOSED or score is None:
            continue
        if score == 1:
            action.status, action.verified_at = ActionStatus.VERIFIED, now
            action.verified_by_visit_id = visit.id
            verified.append(action)
        else:
            action.status, action.reopened_at = ActionStatus.OPEN, now
            action.reopens += 1
            action.done_at = None
            action.due_on = today + timedelta(days=days)
            action.reminded_at = action.overdue_reminded_at = None
            reopened.append(action)
    covered = {a.item_id for a in in_play if a.status in ACTIVE}
    needs = [
        item.id
        for item in checklist.items
        if item.id in scores
        and scores[item.id] < 1
        and (item.id in result.critical_failures or item.action == "required")
        and item.id not in covered
    ]
    opened = [
        CorrectiveAction(
            visit_id=visit.id,
            store_id=visit.store_id,
            checklist_id=checklist.id,
            item_id=item_id,
            manager_id=None,
            action="",
            due_on=today + timedelta(days=days),
            created_at=now,
            status=ActionStatus.OPEN,
        )
        for item_id in needs
    ]
    session.add_all(opened)
    session.flush()
    return Counted(opened, verified, reopened)


def opened_by(session: Session, visit_id: int) -> list[CorrectiveAction]:
    """The actions a visit opened by itself (not a manager's own), in checklist order."""
    return list(
        session.scalars(
            select(CorrectiveAction)
            .where(CorrectiveAction.visit_id == visit_id, CorrectiveAction.manager_id.is_(None))
            .order_by(CorrectiveAction.id)
        )
    )


def withdraw(session: Session, visit_id: int) -> int:
    """A visit no longer counts (voided): the actions it opened by itself that nobody has
    worked on yet go with it. The number withdrawn."""
    untouched = [
        a for a in opened_by(session, visit_id) if a.status == ActionStatus.OPEN and a.reopens == 0
    ]
    for action in untouched:
        session.delete(action)
    session.flush()
    return len(untouched)


class ActionError(Exception):
    """Why a manager's step on an action changes nothing; ``reason`` keys the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def of_stores(
    session: Session, store_ids: list[int] | None, statuses: tuple[ActionStatus, ...] = ACTIVE
) -> list[CorrectiveAction]:
    """Actions of the stores given (None: every store) in ``statuses``, soonest due first."""
    query = select(CorrectiveAction).where(CorrectiveAction.status.in_(statuses))
    if store_ids is not None:
        query = query.where(CorrectiveAction.store_id.in_(store_ids))
    return list(session.scalars(query.order_by(CorrectiveAction.due_on, CorrectiveAction.id)))


def managed(session: Session, action_id: int, manager: Person) -> CorrectiveAction:
    """The action if it belongs to a store this manager manages; anyone else's (a forged
    button) is refused like a stale one."""
    action = session.get(CorrectiveAction, action_id)
    if (
        action is None
        or manager.role != Role.MANAGER
        or not manager.active
        or action.store_id not in {s.id for s in manager.stores}
    ):
        raise ActionError("not_yours")
    return action


def close(
    action: CorrectiveAction, manager: Person, note: str, photo: str | None, now: datetime
) -> None:
    """A manager closes an open action with what was done (and perhaps a photo's file id)."""
    text = note.strip()
    if action.status != ActionStatus.OPEN:
        raise ActionError("not_open")
    if not text or len(text) > MAX_NOTE:
        raise ActionError("note_length")
    action.status, action.done_at, action.closed_by_id = ActionStatus.CLOSED, now, manager.id
    action.closed_note, action.closed_photo = text, photo


def due_tomorrow(session: Session, today: date) -> list[CorrectiveAction]:
    """Open actions due tomorrow whose managers were not reminded yet."""
    return list(
        session.scalars(
            select(CorrectiveAction).where(
                CorrectiveAction.status == ActionStatus.OPEN,
                CorrectiveAction.due_on == today + timedelta(days=1),
                CorrectiveAction.reminded_at.is_(None),
            )
        )
    )


def overdue(session: Session, today: date) -> list[CorrectiveAction]:
    """Open actions past their due date whose managers were not told yet."""
    return list(
        session.scalars(
            select(CorrectiveAction).where(
                CorrectiveAction.status == ActionStatus.OPEN,
                CorrectiveAction.due_on < today,
                CorrectiveAction.overdue_reminded_at.is_(None),
            )
        )
    )


def standard_name(action: CorrectiveAction, language: str) -> str:
    """The action's standard by its short name, as its visit's checklist words it."""
    checklist = definition(action.visit.checklist_version)
    try:
        return checklist.item(action.item_id).standard_name(language)
    except KeyError:
        return action.item_id


def managers_of(session: Session, store: Store) -> list[Person]:
    """The active managers of a store who have a chat with the bot."""
    people = session.scalars(
        select(Person).where(
            Person.role == Role.MANAGER, Person.active, Person.telegram_id.is_not(None)
        )
    )
    return [p for p in people if store.id in {s.id for s in p.stores}]
