"""Submitting a visit with everything that follows it: integrity flags, assignments, and, when
the visit counts at once, the store managers' cards and corrective actions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from checklists.scoring import VisitScore
from storage import cards, visits
from storage.models import Assignment, Visit
from visits import assignments, integrity
from visits.clock import Clock


@dataclass(frozen=True)
class Submission:
    score: VisitScore
    flags: list[integrity.Flag]
    assignment: Assignment | None


def submit_visit(
    session: Session,
    visit_id: int,
    rules: integrity.IntegrityRules,
    clock: Clock,
    *,
    scored: VisitScore | None = None,
) -> Submission | None:
    """Submit a draft once (None if it already was), flag it, close its assignment, and,
    if no flag holds it back, let what follows a counted visit follow. ``scored``: as for
    ``storage.visits.submit``; the visit is scored once for all of it."""
    now = clock.now()
    score = visits.submit(session, visit_id, now=now, scored=scored)
    if score is None:
        return None
    visit = session.get(Visit, visit_id)
    assert visit is not None
    flags = integrity.flag(session, visit, rules)
    done = assignments.complete(
        session, visit, visit.checklist_version.checklist_id, clock.today(), now
    )
    if cards.counts(visit):
        integrity.counts(session, visit, rules, clock.today(), now, score)
    return Submission(score, flags, done)
