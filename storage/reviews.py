"""The queries behind integrity checks and the admins' review of flagged visits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from storage.cards import open_dispute
from storage.models import (
    Photo,
    ReviewStatus,
    Visit,
    VisitCard,
    VisitFlag,
    VisitStatus,
    utcnow,
)
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


def drop_flags(session: Session, visit_id: int) -> None:
    """Delete the visit's flags, and take those the session holds out of it: a fresh check
    replaces them, and touching one left behind would fail at the flush. One ``DELETE …
    RETURNING`` prepared once (``storage.prepared``), where the ORM's, told to learn which
    rows went the same way, cost a submission twice the rest of its integrity check."""
    if not session.get_bind().dialect.delete_returning:  # an SQLite older than 3.35
        session.execute(
            delete(VisitFlag).where(VisitFlag.visit_id == visit_id),
            execution_options={"synchronize_session": "fetch"},
        )
        return
    prepared, driver = in_session(session, DROP_FLAGS)
    for (flag_id,) in prepared.run(driver, {"visit_id": visit_id}):
        held = session.identity_map.get(identity_key(VisitFlag, flag_id))
        if held is not None:
            session.expunge(held)


DROP_FLAGS = (
    delete(VisitFlag).where(VisitFlag.visit_id == bindparam("visit_id")).returning(VisitFlag.id)
)


def add_flags(
    session: Session, visit_id: int, flags: list[tuple[str, str, dict[str, Any] | None]]
) -> None:
    """Store the visit's flags, each (kind, details, params), in one prepared ``INSERT``
    run for them all."""
    if flags:
        prepared, driver = in_session(session, ADD_FLAG)
        now = utcnow()
        rows = [
            {"visit_id": visit_id, "kind": k, "details": d, "params": p, "created_at": now}
            for k, d, p in flags
        ]
        prepared.run_many(driver, rows)


ADD_FLAG = insert(VisitFlag).values(
    {name: bindparam(name) for name in ("visit_id", "kind", "details", "params", "created_at")}
)
"""Every value given: a statement run on the driver has no Python-side defaults."""


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
