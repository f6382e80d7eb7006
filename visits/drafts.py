"""A shopper's one open draft: finding it, and the step that settles returned visits first.

A shopper has at most one draft. A visit an admin returned for fixing becomes the draft
when the shopper has none open; one not fixed before its deadline lapses. That is a change,
so it is an explicit step (``settle``) the application takes at the start of a shopper's
transaction, and looking the draft up (``open_draft``) changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from storage.drafts import Records
from storage.models import Visit, VisitStatus
from visits.clock import Clock
from visits.flow import Screen, VisitFlow


def settle(records: Records, evaluator_id: int, now: datetime) -> list[Visit]:
    """Lapse drafts whose time to resubmit ran out; with no draft left, reopen the returned
    visit whose deadline comes first, on its review screen. The visits it looked at (every
    draft of the shopper among them), for ``open_draft`` to find the draft in."""
    visits = records.to_settle(evaluator_id, now)
    drafts = [visit for visit in visits if visit.status == VisitStatus.DRAFT]
    for lapsed in drafts:
        if lapsed.resubmit_until is not None and lapsed.resubmit_until < now:
            lapsed.status = VisitStatus.CANCELLED
            lapsed.awaiting = None
    if any(draft.status == VisitStatus.DRAFT for draft in drafts):
        return visits
    returned = [visit for visit in visits if visit.status == VisitStatus.SUBMITTED]
    if returned:
        first = min(returned, key=lambda visit: (visit.resubmit_until or now, visit.id))
        first.status = VisitStatus.DRAFT
        first.current_item = None
        first.awaiting = None
    return visits


def open_draft(
    records: Records,
    evaluator_id: int,
    clock: Clock,
    visit_id: int | None = None,
    settled: list[Visit] | None = None,
) -> VisitFlow | None:
    """The evaluator's open draft (the given one, or the latest); never someone else's.
    ``settled``: what ``settle`` just returned in this transaction, where the draft is found
    without asking the database again."""
    if settled is None:
        visit = records.latest_draft(evaluator_id)
    else:
        drafts = [visit for visit in settled if visit.status == VisitStatus.DRAFT]
        visit = max(drafts, key=lambda draft: draft.id, default=None)
    if visit is None or (visit_id is not None and visit.id != visit_id):
        return None
    return VisitFlow(records, visit, clock)


def submitted(records: Records, visit: Visit, clock: Clock) -> Screen:
    """A submitted visit as its review screen shows it (answers, comments, evidence, score),
    for an admin to read; nothing is changed."""
    return VisitFlow(records, visit, clock).review_screen()
