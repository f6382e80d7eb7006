"""Submitting a visit with everything that follows it: integrity flags and assignments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from storage import assignments, integrity, visits
from storage.models import Assignment, Visit


@dataclass(frozen=True)
class Submission:
    flags: list[integrity.Flag]
    assignment: Assignment | None


def submit_visit(
    session: Session, visit_id: int, rules: integrity.IntegrityRules, now: datetime, today: date
) -> Submission | None:
    """Submit a draft once (None if it already was), flag it, and close its assignment."""
    if not visits.submit(session, visit_id, now=now):
        return None
    visit = session.get(Visit, visit_id)
    assert visit is not None
    session.refresh(visit)
    flags = integrity.flag(session, visit, rules)
    done = assignments.complete(session, visit, visit.checklist_version.checklist_id, today, now)
    return Submission(flags, done)
