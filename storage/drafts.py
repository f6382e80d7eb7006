"""The queries behind a shopper's draft visits, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, type_coerce
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


class Records:
    """A session seen as the visit flow needs it (``visits.flow.VisitRecords``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def photo_counts(self, visit_id: int) -> dict[str, int]:
        """Photos per item, counted in SQL: every screen needs this, and loading the photos
        as objects cost more than the rest of the query work of an update."""
        return self._counts(visit_id, Photo.kind == AttachmentKind.PHOTO)

    def recording_counts(self, visit_id: int) -> dict[str, int]:
        """Voice notes, audio files and video notes per item."""
        return self._counts(visit_id, Photo.kind != AttachmentKind.PHOTO)

    def _counts(self, visit_id: int, kind: ColumnElement[bool]) -> dict[str, int]:
        counts = self.session.execute(
            select(Photo.item_id, func.count())
            .where(Photo.visit_id == visit_id, Photo.item_id.is_not(None), kind)
            .group_by(Photo.item_id)
        )
        return {str(item_id): int(count) for item_id, count in counts}

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
