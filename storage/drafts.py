"""The queries behind a shopper's draft visits, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, type_coerce
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

DRAFT_LOADING = (
    joinedload(Visit.store),
    joinedload(Visit.employee),
    joinedload(Visit.checklist_version).options(defer(ChecklistVersion.definition)),
)
"""The draft's store, employee and checklist version in its own query: every screen shows
them. The version's definition stays out, as ``definition`` has it validated already (and
loads it if not); answers and photos load lazily, which costs less than ``selectinload``."""


class EvidenceCounts(NamedTuple):
    """Per item of a visit: its photos, and its recordings (voice notes, audio, video notes)."""

    photos: dict[str, int]
    recordings: dict[str, int]


class Records:
    """A session seen as the visit flow needs it (``visits.flow.VisitRecords``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def evidence_counts(self, visit_id: int) -> EvidenceCounts:
        """Photos and recordings per item, counted in one SQL query: every screen needs
        them, and loading the photos as objects cost more than the rest of the query work
        of an update."""
        is_photo = Photo.kind == AttachmentKind.PHOTO
        found = EvidenceCounts({}, {})
        for item_id, photo, count in self.session.execute(
            select(Photo.item_id, is_photo, func.count())
            .where(Photo.visit_id == visit_id, Photo.item_id.is_not(None))
            .group_by(Photo.item_id, is_photo)
        ):
            (found.photos if photo else found.recordings)[str(item_id)] = int(count)
        return found

    def add(self, visit: Visit) -> None:
        self.session.add(visit)
        self.session.flush()

    def latest_draft(self, evaluator_id: int) -> Visit | None:
        return self.session.scalars(
            select(Visit)
            .where(Visit.evaluator_id == evaluator_id, Visit.status == VisitStatus.DRAFT)
            .options(*DRAFT_LOADING)
            .order_by(Visit.id.desc())
            .limit(1)
        ).first()

    def lapsed_drafts(self, evaluator_id: int, now: datetime) -> list[Visit]:
        """Drafts reopened from a return whose time to resubmit has run out."""
        return list(
            self.session.scalars(
                select(Visit).where(
                    Visit.evaluator_id == evaluator_id,
                    Visit.status == VisitStatus.DRAFT,
                    Visit.resubmit_until < now,
                )
            )
        )

    def first_returned(self, evaluator_id: int, now: datetime) -> Visit | None:
        """The returned visit whose deadline comes first, if any is still open."""
        return self.session.scalars(
            select(Visit)
            .where(
                Visit.evaluator_id == evaluator_id,
                Visit.status == VisitStatus.SUBMITTED,
                Visit.review_status == ReviewStatus.REJECTED,
                Visit.resubmit_until > now,
            )
            .order_by(Visit.resubmit_until)
        ).first()

    def last_visit_time(self, evaluator_id: int) -> datetime | None:
        """When the shopper's latest visit ended (its submission, else its start)."""
        ended = func.coalesce(Visit.submitted_at, Visit.started_at)
        latest = type_coerce(func.max(ended), UtcDateTime())
        return self.session.scalar(select(latest).where(Visit.evaluator_id == evaluator_id))

    def count_drafts(self, evaluator_id: int) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(Visit)
                .where(Visit.evaluator_id == evaluator_id, Visit.status == VisitStatus.DRAFT)
            )
            or 0
        )
