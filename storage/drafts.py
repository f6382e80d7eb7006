"""The queries behind a shopper's draft visits, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, type_coerce
from sqlalchemy.orm import Session, defer, joinedload

from storage.models import (
    AttachmentKind,
    ChecklistVersion,
    Photo,
    ReviewStatus,
    UtcDateTime,
    Visit,
    VisitStatus,
)
from storage.prepared import in_session

DRAFT_LOADING = (
    joinedload(Visit.store),
    joinedload(Visit.employee),
    joinedload(Visit.checklist_version).options(defer(ChecklistVersion.definition)),
)
"""The draft's store, employee and checklist version in its own query: every screen shows
them. The version's definition stays out, as ``definition`` has it validated already (and
loads it if not); answers and photos load lazily, which costs less than ``selectinload``."""


def to_settle(now: Any) -> ColumnElement[bool]:
    """A draft, or a returned visit still open to resubmit at ``now`` (a value, or a bound
    parameter of a statement built once)."""
    return or_(
        Visit.status == VisitStatus.DRAFT,
        and_(
            Visit.status == VisitStatus.SUBMITTED,
            Visit.review_status == ReviewStatus.REJECTED,
            Visit.resubmit_until > now,
        ),
    )


LAST_VISIT_TIME = select(
    type_coerce(func.max(func.coalesce(Visit.submitted_at, Visit.started_at)), UtcDateTime())
).where(Visit.evaluator_id == bindparam("evaluator_id"))
"""When a shopper's latest visit ended (its submission, else its start)."""


class EvidenceCounts(NamedTuple):
    """Per item of a visit: its photos, and its recordings (voice notes, audio, video notes);
    and those sent for the visit as a whole (on the review)."""

    photos: dict[str, int]
    recordings: dict[str, int]
    visit_photos: int = 0
    visit_recordings: int = 0


_IS_PHOTO = Photo.kind == AttachmentKind.PHOTO
"""One expression, selected and grouped by: PostgreSQL wants the very same one in both."""
EVIDENCE_COUNTS = (
    select(Photo.item_id, _IS_PHOTO, func.count())
    .where(Photo.visit_id == bindparam("visit_id"))
    .group_by(Photo.item_id, _IS_PHOTO)
)
"""Photos and recordings of a visit per item (``None``: the visit's own), built once: every
screen shows them."""


def evidence_counts(rows: Iterable[Any]) -> EvidenceCounts:
    """The counts from the rows of ``EVIDENCE_COUNTS``."""
    photos: dict[str, int] = {}
    recordings: dict[str, int] = {}
    of_the_visit = [0, 0]
    for item_id, photo, count in rows:
        if item_id is None:
            of_the_visit[0 if photo else 1] += int(count)
        else:
            (photos if photo else recordings)[str(item_id)] = int(count)
    return EvidenceCounts(photos, recordings, *of_the_visit)


LATEST_DRAFT = (
    select(Visit)
    .where(Visit.evaluator_id == bindparam("evaluator_id"), Visit.status == VisitStatus.DRAFT)
    .options(*DRAFT_LOADING)
    .order_by(Visit.id.desc())
    .limit(1)
)
TO_SETTLE = (
    select(Visit)
    .where(Visit.evaluator_id == bindparam("evaluator_id"), to_settle(bindparam("now")))
    .options(*DRAFT_LOADING)
)
"""Built once, as the other statements of a shopper's every update."""


class Records:
    """A session seen as the visit flow needs it (``visits.flow.VisitRecords``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def evidence_counts(self, visit_id: int) -> EvidenceCounts:
        """Photos and recordings per item, counted in one SQL query: every screen needs
        them, and loading the photos as objects cost more than the rest of the query work
        of an update."""
        prepared, driver = in_session(self.session, EVIDENCE_COUNTS)
        return evidence_counts(prepared.run(driver, {"visit_id": visit_id}))

    def add(self, visit: Visit) -> None:
        self.session.add(visit)
        self.session.flush()

    def latest_draft(self, evaluator_id: int) -> Visit | None:
        return self.session.scalars(LATEST_DRAFT, {"evaluator_id": evaluator_id}).first()

    def to_settle(self, evaluator_id: int, now: datetime) -> list[Visit]:
        """The shopper's drafts and their returned visits still open to resubmit, in one
        query: what ``visits.drafts.settle`` looks at on every update of theirs."""
        given = {"evaluator_id": evaluator_id, "now": now}
        return list(self.session.scalars(TO_SETTLE, given))

    def last_visit_time(self, evaluator_id: int) -> datetime | None:
        """When the shopper's latest visit ended (its submission, else its start)."""
        return self.session.scalar(LAST_VISIT_TIME, {"evaluator_id": evaluator_id})

    def count_drafts(self, evaluator_id: int) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Visit)
                .where(Visit.evaluator_id == evaluator_id, Visit.status == VisitStatus.DRAFT)
            )
            or 0
        )
