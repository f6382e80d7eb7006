"""Visits and their answers: saving, scoring and submitting, independent of Telegram."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from checklists import scoring
from checklists.schema import Checklist
from storage.checklist_versions import definition
from storage.models import Answer, Visit, VisitStatus
from storage.prepared import in_session, update_row


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
    for column, value in _visit_scores(result).items():
        setattr(visit, column, value)
    for row, score, weight in _answer_scores(visit, result):
        row.score, row.weight = score, weight
    return result


def _visit_scores(result: scoring.VisitScore) -> dict[str, object]:
    return {
        "score": result.score,
        "passed": result.passed,
        "critical_failed": result.critical_failed,
        "nps": result.nps,
    }


def _answer_scores(
    visit: Visit, result: scoring.VisitScore
) -> list[tuple[Answer, float | None, float | None]]:
    """Each answer with its item's score, and its weight where it has a score."""
    scored = []
    for row in visit.answers:
        item = result.items.get(row.item_id)
        score = item.score if item else None
        scored.append((row, score, item.weight if item and score is not None else None))
    return scored


def write_now(
    session: Session, visit: Visit, *, only_while_draft: bool = False, **values: object
) -> bool:
    """Write ``values`` to the visit's columns in one ``UPDATE`` now (``only_while_draft``:
    if it is still a draft), and hold them in the session as written: on a submission's path
    the unit of work's flush of one changed column costs several times the statement, and
    so does the ORM's own ``update()``, built anew and run through its bulk-update machinery
    each time. Here it is Core's, built once per set of columns. Whether the row was
    written."""
    columns = tuple(sorted(values))
    statement = _WRITES.get((columns, only_while_draft))
    if statement is None:
        statement = _WRITES[(columns, only_while_draft)] = _write_visit(columns, only_while_draft)
    given = {f"new_{name}": value for name, value in values.items()}
    prepared, driver = in_session(session, statement)
    if not prepared.run(driver, {"row_id": visit.id, **given}).rowcount:
        return False
    for column, value in values.items():
        set_committed_value(visit, column, value)
    return True


def _write_visit(columns: tuple[str, ...], only_while_draft: bool) -> Update:
    statement = update_row(cast(Table, Visit.__table__), columns)
    draft = Visit.status == VisitStatus.DRAFT.value
    return statement.where(draft) if only_while_draft else statement


_WRITES: dict[tuple[tuple[str, ...], bool], Update] = {}
"""``write_now``'s statements, by the columns written and whether only a draft is."""


ANSWER_SCORES = (
    update(cast(Table, Answer.__table__))
    .where(Answer.__table__.c.id == bindparam("answer_id"))
    .values(score=bindparam("new_score"), weight=bindparam("new_weight"))
)
"""Every answer's score in one ``executemany``, with no unit of work around it."""


def submit(
    session: Session,
    visit_id: int,
    *,
    now: datetime,
    scored: scoring.VisitScore | None = None,
) -> scoring.VisitScore | None:
    """Submit a draft once: its score if this call submitted it, None if it already was.

    The status change is a conditional UPDATE, so two taps, a re-delivered update or two
    processes racing make exactly one submission; it writes the visit's scores with it, and
    the answers' scores follow only once it has claimed the draft. The visit in the session
    then holds what was written, with no second read and nothing left to flush.
    ``scored``: the draft's score as the caller has just computed it from the answers this
    session loaded (the review screen's), so that a submission scores the visit once.
    """
    visit = session.get(Visit, visit_id)
    if visit is None or visit.status != VisitStatus.DRAFT:
        return None
    result = score_of(visit) if scored is None else scored
    submitted = {
        "status": VisitStatus.SUBMITTED,
        "submitted_at": now.astimezone(UTC),  # as the column reads it back
        "current_item": None,
        **_visit_scores(result),
    }
    if not write_now(session, visit, only_while_draft=True, **submitted):
        return None
    answer_scores = _answer_scores(visit, result)
    if answer_scores:
        prepared, driver = in_session(session, ANSWER_SCORES)
        prepared.run_many(
            driver,
            [{"answer_id": r.id, "new_score": s, "new_weight": w} for r, s, w in answer_scores],
        )
    for row, score, weight in answer_scores:
        set_committed_value(row, "score", score)
        set_committed_value(row, "weight", weight)
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
