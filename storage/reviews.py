"""The queries behind integrity checks and the admins' review of flagged visits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.cards import open_dispute
from storage.models import Photo, ReviewStatus, Visit, VisitCard, VisitFlag, VisitStatus
from storage.prepared import in_session


def counted() -> ColumnElement[bool]:
    """Visits that count in reports: unflagged, or flagged and accepted by an admin."""
    return or_(Visit.review_status.is_(None), Visit.review_status == ReviewStatus.ACCEPTED)


def reused_photos(session: Session, visit: Visit) -> list[str]:
    """The visit's photos (Telegram's ``file_unique_id``) that another visit has too."""
    prepared, driver = in_session(session, REUSED_PHOTOS)
    return [unique for (unique,) in prepared.run(driver, {"visit_id": visit.id})]


_theirs = aliased(Photo)
REUSED_PHOTOS = (
    select(Photo.file_unique_id)
    .join(_theirs, _theirs.file_unique_id == Photo.file_unique_id)
    .join(Visit, Visit.id == _theirs.visit_id)
    .where(
        Photo.visit_id == bindparam("visit_id"),
        _theirs.visit_id != Photo.visit_id,
        Visit.status != VisitStatus.CANCELLED,  # an abandoned draft's photos are nobody's
    )
    .distinct()
)
"""Built once, one statement: every submission asks, and loading the visit's photos as
objects first cost more than the query."""


def earlier_visits(session: Session, visit: Visit, since: datetime, until: datetime) -> int:
    """Other submitted visits by the same shopper to the same store in ``since..until``."""
    given = {
        "visit_id": visit.id,
        "evaluator_id": visit.evaluator_id,
        "store_id": visit.store_id,
        "since": since,
        "until": until,
    }
    prepared, driver = in_session(session, EARLIER_VISITS)
    [(count,)] = prepared.run(driver, given)
    return int(count)


EARLIER_VISITS = (
    select(func.count())
    .select_from(Visit)
    .where(
        Visit.id != bindparam("visit_id"),
        Visit.evaluator_id == bindparam("evaluator_id"),
        Visit.store_id == bindparam("store_id"),
        Visit.status == VisitStatus.SUBMITTED,
        Visit.submitted_at >= bindparam("since"),
        Visit.submitted_at <= bindparam("until"),
    )
)
"""Built once: every submission counts them."""


def flags_of(session: Session, visit_id: int) -> list[VisitFlag]:
    return list(
        session.scalars(
            select(VisitFlag).where(VisitFlag.visit_id == visit_id).order_by(VisitFlag.id)
        )
    )


def pending_reviews(session: Session) -> list[Visit]:
    """Visits waiting for an admin, flagged or disputed by a store manager, the longest
    waiting first."""
    disputed = exists().where(VisitCard.visit_id == Visit.id, open_dispute())
    return list(
        session.scalars(
            select(Visit)
            .where(
                Visit.status == VisitStatus.SUBMITTED,
                or_(Visit.review_status == ReviewStatus.PENDING, disputed),
            )
            .order_by(Visit.submitted_at, Visit.id)
        )
    )
