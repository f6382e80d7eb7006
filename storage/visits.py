"""Visits and their answers: saving, scoring and submitting, independent of Telegram."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from checklists import scoring
from checklists.schema import Checklist
from storage.checklist_versions import definition
from storage.models import Answer, Visit, VisitStatus


class StoredAnswer(Protocol):
    """An answer's value columns: an ``Answer`` or a row of a query that selects them."""

    @property
    def na(self) -> bool: ...

    @property
    def value_text(self) -> str | None: ...

    @property
    def value_number(self) -> float | None: ...


def answer_value(row: StoredAnswer) -> scoring.Answer:
    if row.na:
        return scoring.Answer(na=True)
    if row.value_number is not None:
        number = row.value_number
        return scoring.Answer(int(number) if number == int(number) else number)
    return scoring.Answer(row.value_text)


def answers_of(visit: Visit) -> dict[str, scoring.Answer]:
    return {row.item_id: answer_value(row) for row in visit.answers}


def set_answer_value(row: Answer, checklist: Checklist, value: scoring.Answer) -> None:
    """Put a checked value in the column its item type uses (numbers are aggregated in SQL)."""
    row.na = value.na
    numeric = checklist.item(row.item_id).kind.numeric
    row.value_number = float(value.value) if numeric and value.value is not None else None
    row.value_text = None if numeric or value.value is None else str(value.value)


def score_of(visit: Visit) -> scoring.VisitScore:
    return scoring.score_visit(definition(visit.checklist_version), answers_of(visit))


def fix_scores(visit: Visit, checklist: Checklist) -> scoring.VisitScore:
    """Write the visit's score and each answer's item score, as reports will read them."""
    result = scoring.score_visit(checklist, answers_of(visit))
    visit.score = result.score
    visit.passed = result.passed
    visit.critical_failed = result.critical_failed
    visit.nps = result.nps
    for row in visit.answers:
        item_result = result.items.get(row.item_id)
        row.score = item_result.score if item_result else None
        row.weight = item_result.weight if item_result and item_result.score is not None else None
    return result


def submit(session: Session, visit_id: int, *, now: datetime) -> scoring.VisitScore | None:
    """Submit a draft once: its score if this call submitted it, None if it already was.

    The status change is a conditional UPDATE, so two taps, a re-delivered update or two
    processes racing make exactly one submission. The visit in the session then holds what
    the UPDATE wrote, with no second read.
    """
    visit = session.get(Visit, visit_id)
    if visit is None or visit.status != VisitStatus.DRAFT:
        return None
    result = fix_scores(visit, definition(visit.checklist_version))
    session.flush()
    submitted = {
        "status": VisitStatus.SUBMITTED,
        "submitted_at": now.astimezone(UTC),  # as the column reads it back
        "current_item": None,
    }
    claimed = session.execute(
        update(Visit)
        .where(Visit.id == visit_id, Visit.status == VisitStatus.DRAFT)
        .values(**submitted)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return None
    for column, value in submitted.items():
        set_committed_value(visit, column, value)
    return result


def recent_of(session: Session, evaluator_id: int, limit: int) -> list[Visit]:
    """A shopper's latest visits, the newest first; abandoned drafts left out."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.evaluator_id == evaluator_id, Visit.status != VisitStatus.CANCELLED)
            .order_by(Visit.started_at.desc(), Visit.id.desc())
            .limit(limit)
        )
    )
