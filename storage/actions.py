"""Corrective actions that close: opened when a counted visit fails a critical standard or
one its checklist marks ``action: required``, reminded, closed by a store manager with what
was done, then verified — or reopened — by the next counted visit to the store that answers
the standard.

Everything here runs in the transaction that makes a visit count (``on_counted``), or in the
manager's own, so an action is never opened for a visit that does not count, nor twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from checklists.scoring import VisitScore
from storage import people, visits
from storage.checklist_versions import definition
from storage.models import (
    ActionStatus,
    Answer,
    ChecklistVersion,
    CorrectiveAction,
    Person,
    Visit,
    VisitStatus,
)
from storage.reviews import counted

MAX_NOTE = 1000
ACTIVE = (ActionStatus.OPEN, ActionStatus.CLOSED)
"""Actions still in play: a failure of the standard meanwhile opens no second one."""
IN_PLAY_OR_VERIFIED = (*ACTIVE, ActionStatus.VERIFIED)
"""What a counted visit looks at among its store's actions: those it may verify or reopen,
and those that tell whether a standard it failed has an action already."""


def on_counted(
    session: Session,
    visit: Visit,
    days: int,
    today: date,
    now: datetime,
    result: VisitScore | None = None,
) -> None:
    """The visit counts now. Closed actions of its store whose standard it met are verified,
    those whose standard it failed again are reopened (due in ``days`` from ``today``) —
    only by a visit made after the closing: one accepted late says nothing of the fix. Then
    each standard it failed that needs an action, and has none in play, gets one.
    ``result``: the visit's score, when the caller has just fixed it (a submission)."""
    result = visits.score_of(visit) if result is None else result
    scores = _scores(result)
    assert visit.submitted_at is not None
    store_actions = _of_standards(session, visit, IN_PLAY_OR_VERIFIED)
    for action in store_actions:
        score = scores.get(action.item_id)
        closed = action.done_at
        if action.status != ActionStatus.CLOSED or score is None or closed is None:
            continue
        if visit.submitted_at <= closed:
            continue
        if score == 1:
            _verify(action, visit, now)
        else:
            _reopen(action, visit, today + timedelta(days=days), now)
    _open_needed(session, visit, result, today + timedelta(days=days), now, store_actions)


def recount(session: Session, visit: Visit, days: int, today: date, now: datetime) -> None:
    """An admin corrected an answer of a counted visit: the actions it opened for standards
    it now meets go (if nobody worked on them); one it verified whose standard it now fails
    is reopened, one it reopened whose standard it now meets is verified; and standards it
    now fails get their action."""
    result = visits.score_of(visit)
    scores = _scores(result)
    for action in opened_by(session, visit.id):
        if _untouched(action) and scores.get(action.item_id, 1) == 1:
            session.delete(action)
    for action in session.scalars(
        select(CorrectiveAction).where(CorrectiveAction.verified_by_visit_id == visit.id)
    ):
        if scores.get(action.item_id, 1) < 1:
            action.verified_at = action.verified_by_visit_id = None
            _reopen(action, visit, today + timedelta(days=days), now)
    for action in reopened_by(session, visit.id):
        if scores.get(action.item_id, 0) == 1:
            _undo_reopen(action)
            _verify(action, visit, now)
    session.flush()
    _open_needed(session, visit, result, today + timedelta(days=days), now)


def _scores(result: VisitScore) -> dict[str, float]:
    """The visit's score of each standard it answered (hidden and unanswered ones absent)."""
    return {i: r.score for i, r in result.items.items() if r.visible and r.score is not None}


def _of_standards(
    session: Session, visit: Visit, statuses: tuple[ActionStatus, ...]
) -> list[CorrectiveAction]:
    """The store's actions on the visit's checklist, in ``statuses``, other visits' only."""
    given = {
        "store_id": visit.store_id,
        "checklist_id": visit.checklist_version.checklist_id,
        "statuses": list(statuses),
        "visit_id": visit.id,
    }
    return list(session.scalars(OF_STANDARDS, given))


OF_STANDARDS = select(CorrectiveAction).where(
    CorrectiveAction.store_id == bindparam("store_id"),
    CorrectiveAction.checklist_id == bindparam("checklist_id"),
    CorrectiveAction.status.in_(bindparam("statuses", expanding=True)),
    CorrectiveAction.visit_id != bindparam("visit_id"),
)
"""Built once, as the statements below: they run on every counted visit."""


def _open_needed(
    session: Session,
    visit: Visit,
    result: VisitScore,
    due_on: date,
    now: datetime,
    store_actions: list[CorrectiveAction] | None = None,
) -> None:
    """An action for each standard the visit failed that needs one and has none: none in
    play, and none a visit made after this one verified (this one was accepted late).
    ``store_actions``: the store's actions on the checklist, in play or verified, as the
    caller read them and changed them in this transaction (else they are read here)."""
    checklist = definition(visit.checklist_version)
    scores = _scores(result)
    if store_actions is None:
        store_actions = _of_standards(session, visit, IN_PLAY_OR_VERIFIED)
    covered = {a.item_id for a in store_actions if a.status in ACTIVE}
    covered |= {a.item_id for a in opened_by(session, visit.id)}
    assert visit.submitted_at is not None
    for action in store_actions:
        if action.status != ActionStatus.VERIFIED:
            continue
        later = action.verified_by
        if later is not None and later.submitted_at and later.submitted_at > visit.submitted_at:
            covered.add(action.item_id)
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
            due_on=due_on,
            created_at=now,
            status=ActionStatus.OPEN,
        )
        for item_id in needs
    ]
    session.add_all(opened)
    session.flush()


def _verify(action: CorrectiveAction, visit: Visit, now: datetime) -> None:
    action.status, action.verified_at = ActionStatus.VERIFIED, now
    action.verified_by_visit_id = visit.id


def _reopen(action: CorrectiveAction, visit: Visit, due_on: date, now: datetime) -> None:
    """The standard failed again after the closing: open again, due anew, reminded anew."""
    action.status, action.reopened_at = ActionStatus.OPEN, now
    action.reopened_by_visit_id = visit.id
    action.reopens += 1
    action.due_before_reopen, action.due_on = action.due_on, due_on
    action.reminded_at = action.overdue_reminded_at = None


def _undo_reopen(action: CorrectiveAction) -> None:
    """The visit that reopened the action no longer says so: closed again as it was."""
    action.status, action.reopened_by_visit_id = ActionStatus.CLOSED, None
    action.reopens -= 1
    action.due_on = action.due_before_reopen or action.due_on
    action.due_before_reopen = action.reopened_at = None


def _untouched(action: CorrectiveAction) -> bool:
    """Opened and not worked on: never closed, never reopened."""
    return action.status == ActionStatus.OPEN and action.reopens == 0 and action.done_at is None


def withdraw(session: Session, visit: Visit) -> None:
    """A visit no longer counts (voided): what it did to its store's actions is undone. An
    action it opened that nobody worked on passes to the latest other counted visit that
    failed the standard too, or goes; an action it verified is closed again, one it
    reopened is closed again as it was."""
    for action in opened_by(session, visit.id):
        if not _untouched(action):
            continue
        heir = _latest_failure(session, visit, action.item_id)
        if heir is None:
            session.delete(action)
        else:
            action.visit_id = heir
    for action in session.scalars(
        select(CorrectiveAction).where(CorrectiveAction.verified_by_visit_id == visit.id)
    ):
        action.status, action.verified_at, action.verified_by_visit_id = (
            ActionStatus.CLOSED,
            None,
            None,
        )
    for action in session.scalars(
        select(CorrectiveAction).where(CorrectiveAction.reopened_by_visit_id == visit.id)
    ):
        if action.status == ActionStatus.OPEN:
            _undo_reopen(action)
        else:  # closed again meanwhile: the closing stands; the reopening is not on record
            action.reopened_by_visit_id, action.reopens = None, action.reopens - 1
    session.flush()


def _latest_failure(session: Session, gone: Visit, item_id: str) -> int | None:
    """The latest other counted visit to the store on the same checklist that did not fully
    meet the standard."""
    others = session.scalars(
        select(Visit)
        .join(ChecklistVersion, ChecklistVersion.id == Visit.checklist_version_id)
        .join(Answer, (Answer.visit_id == Visit.id) & (Answer.item_id == item_id))
        .where(
            Visit.id != gone.id,
            Visit.store_id == gone.store_id,
            Visit.status == VisitStatus.SUBMITTED,
            counted(),
            ChecklistVersion.checklist_id == gone.checklist_version.checklist_id,
            Answer.score < 1,
        )
        .order_by(Visit.submitted_at.desc())
        .limit(1)
    )
    found = others.first()
    return found.id if found is not None else None


def reopened_by(session: Session, visit_id: int) -> list[CorrectiveAction]:
    """The actions a visit reopened, failing their standard again after they were closed."""
    return list(
        session.scalars(
            select(CorrectiveAction)
            .where(
                CorrectiveAction.reopened_by_visit_id == visit_id,
                CorrectiveAction.status == ActionStatus.OPEN,
            )
            .order_by(CorrectiveAction.id)
        )
    )


def opened_by(session: Session, visit_id: int) -> list[CorrectiveAction]:
    """The actions a visit opened by itself (not a manager's own), in checklist order."""
    return list(session.scalars(OPENED_BY, {"visit_id": visit_id}))


OPENED_BY = (
    select(CorrectiveAction)
    .where(
        CorrectiveAction.visit_id == bindparam("visit_id"), CorrectiveAction.manager_id.is_(None)
    )
    .order_by(CorrectiveAction.id)
)


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
    if action is None or not people.manages(manager, action.store_id):
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
