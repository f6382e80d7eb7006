"""A shopper's way through a draft visit: which screen is next, and what each action changes.

Everything here is plain data, no Telegram and no queries: the bot turns a ``Screen`` into
a message and a button press into one of these calls, and the caller's unit of work
(``storage.drafts.Records``) loads the draft, counts its photos and saves what changed. Every
call runs inside one write transaction, so an answer is either saved whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from checklists import scoring
from checklists.answers import AnswerRejected, check_value
from checklists.item_types import AnswerValue
from checklists.schema import Checklist, Item
from storage.checklist_versions import definition
from storage.models import (
    Answer,
    Awaiting,
    ChecklistVersion,
    Employee,
    Person,
    Photo,
    Store,
    Visit,
    VisitStatus,
)
from storage.visits import answer_value, set_answer_value
from visits.clock import Clock

MAX_COMMENT = 1000
MAX_DESCRIPTION = 500


class ScreenKind(StrEnum):
    QUESTION = "question"
    REVIEW = "review"
    DESCRIPTION = "description"
    COMMENT = "comment"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Screen:
    """What the shopper should see now for a draft visit."""

    kind: ScreenKind
    visit_id: int
    checklist: Checklist
    store: str
    employee: str
    item: Item | None = None
    item_index: int = -1
    """The item's place in the checklist; buttons carry it so stale ones can be told apart."""
    position: int = 0
    total: int = 0
    answer: scoring.Answer | None = None
    measured: bool = False
    comment: str | None = None
    photos: int = 0
    timer_started_at: datetime | None = None
    answers: dict[str, scoring.Answer] = field(default_factory=dict)
    result: scoring.VisitScore | None = None
    missing: tuple[str, ...] = ()
    """Required items that apply and have no answer yet: submitting waits for them."""
    today: date | None = None
    """The shopper's local date, for answer buttons that depend on it."""


class FlowError(Exception):
    """An action that does not fit the visit's state; ``reason`` keys the user's message."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


class VisitRecords(Protocol):
    """What the flow needs of the database, inside the caller's transaction."""

    def photo_counts(self, visit_id: int) -> dict[str, int]:
        """Photos per item of a visit."""
        ...

    def add(self, visit: Visit) -> None:
        """Keep a new visit (its id is known afterwards)."""
        ...


class VisitFlow:
    """One draft visit, loaded with its checklist, inside a write transaction."""

    def __init__(self, records: VisitRecords, visit: Visit, clock: Clock) -> None:
        self.records = records
        self.visit = visit
        self.clock = clock
        self.checklist = definition(visit.checklist_version)
        self.items = self.checklist.items

    # Reading

    def rows(self) -> dict[str, Answer]:
        return {row.item_id: row for row in self.visit.answers}

    def answers(self) -> dict[str, scoring.Answer]:
        return {
            item_id: answer_value(row)
            for item_id, row in self.rows().items()
            if row.na or row.value_text is not None or row.value_number is not None
        }

    def photo_counts(self) -> dict[str, int]:
        return self.records.photo_counts(self.visit.id)

    def visible(self) -> list[Item]:
        shown = scoring.visible_items(self.checklist, self.answers())
        return [item for item in self.items if item.id in shown]

    def missing(self) -> tuple[str, ...]:
        answers, photos = self.answers(), self.photo_counts()
        return tuple(
            item.id
            for item in self.visible()
            if item.is_required
            and (photos.get(item.id, 0) == 0 if item.kind.photos else item.id not in answers)
        )

    def index_of(self, item_id: str) -> int:
        return next(i for i, item in enumerate(self.items) if item.id == item_id)

    def screen(self) -> Screen:
        visit = self.visit
        employee = visit.employee.name if visit.employee else (visit.employee_description or "")
        base = Screen(ScreenKind.REVIEW, visit.id, self.checklist, visit.store.name, employee)
        if visit.awaiting == Awaiting.DESCRIPTION:
            return replace(base, kind=ScreenKind.DESCRIPTION)
        if visit.awaiting == Awaiting.CANCEL:
            return replace(base, kind=ScreenKind.CANCEL)
        answers = self.answers()
        if visit.current_item is None:
            result = scoring.score_visit(self.checklist, answers)
            return replace(base, answers=answers, result=result, missing=self.missing())
        visible = self.visible()
        item = self.checklist.item(visit.current_item)
        row = self.rows().get(item.id)
        return replace(
            base,
            today=self.clock.today(),
            kind=ScreenKind.COMMENT if visit.awaiting == Awaiting.COMMENT else ScreenKind.QUESTION,
            item=item,
            item_index=self.index_of(item.id),
            position=next((n for n, i in enumerate(visible, 1) if i.id == item.id), 0),
            total=len(visible),
            answer=answers.get(item.id),
            measured=bool(row and row.measured),
            comment=row.comment if row else None,
            photos=self.photo_counts().get(item.id, 0),
            timer_started_at=visit.timer_started_at if visit.timer_item == item.id else None,
            answers=answers,
        )

    # Moving

    def check_current(self, item_index: int) -> Item:
        """The current item, if a button for ``item_index`` still applies; else ``stale``."""
        if self.visit.awaiting is not None or self.visit.current_item is None:
            raise FlowError("stale")
        if (
            not 0 <= item_index < len(self.items)
            or self.items[item_index].id != self.visit.current_item
        ):
            raise FlowError("stale")
        return self.items[item_index]

    def go_to(self, item: Item | None) -> None:
        self.visit.current_item = item.id if item else None
        self.visit.awaiting = None
        if item is None:
            self.visit.back_to_review = False

    def advance(self) -> None:
        """To the next item that applies, or to the review when editing from it or at the end."""
        if self.visit.back_to_review:
            self.go_to(None)
            return
        visible = self.visible()
        current = self.visit.current_item
        order = [item.id for item in self.items]
        start = order.index(current) if current in order else -1
        later = [item for item in visible if order.index(item.id) > start]
        self.go_to(later[0] if later else None)

    def back(self) -> None:
        if self.visit.awaiting is not None:
            # The employee's description, a comment or the cancel question comes first: a
            # stale or forged Back must not skip past it (a visit with no employee at all).
            raise FlowError("stale")
        visible = self.visible()
        if self.visit.current_item is None:
            self.go_to(visible[-1] if visible else None)
            return
        order = [item.id for item in self.items]
        here = order.index(self.visit.current_item)
        earlier = [item for item in visible if order.index(item.id) < here]
        if not earlier:
            raise FlowError("no_back")
        self.visit.back_to_review = False
        self.go_to(earlier[-1])

    def edit(self, item_index: int) -> None:
        """From the review, jump to any item that applies; answering returns to the review."""
        if self.visit.current_item is not None or self.visit.awaiting is not None:
            raise FlowError("stale")
        if not 0 <= item_index < len(self.items):
            raise FlowError("stale")
        item = self.items[item_index]
        if item not in self.visible():
            raise FlowError("stale")
        self.go_to(item)
        self.visit.back_to_review = True

    def review(self) -> None:
        self.go_to(None)

    # Answering

    def answer(self, item: Item, raw: AnswerValue, *, measured: bool = False) -> None:
        value = check_value(item, raw, today=self.clock.today())
        self._store(item, scoring.Answer(value), measured=measured)
        self.advance()

    def not_applicable(self, item: Item) -> None:
        if not item.na:
            raise FlowError("na_not_allowed")
        self._store(item, scoring.Answer(na=True), measured=False)
        self.advance()

    def skip(self, item: Item) -> None:
        if item.is_required:
            raise FlowError("required")
        row = self.rows().get(item.id)
        if row is not None:
            set_answer_value(row, self.checklist, scoring.Answer())
        self.advance()

    def photos_done(self, item: Item) -> None:
        if not item.kind.photos:
            raise FlowError("stale")
        if item.is_required and self.photo_counts().get(item.id, 0) == 0:
            raise FlowError("photo_required")
        self.advance()

    def _store(self, item: Item, value: scoring.Answer, *, measured: bool) -> None:
        row = self.rows().get(item.id)
        if row is None:
            row = Answer(visit_id=self.visit.id, item_id=item.id)
            self.visit.answers.append(row)
        set_answer_value(row, self.checklist, value)
        row.measured = measured
        row.answered_at = self.clock.now()
        if self.visit.timer_item == item.id:
            self.visit.timer_item = None
            self.visit.timer_started_at = None

    # The stopwatch

    def start_timer(self, item: Item) -> None:
        if not item.kind.stopwatch:
            raise FlowError("stale")
        self.visit.timer_item = item.id
        self.visit.timer_started_at = self.clock.now()

    def stop_timer(self, item: Item) -> int:
        """Seconds measured by the bot's own clock; they must still fit the item's range."""
        if self.visit.timer_item != item.id or self.visit.timer_started_at is None:
            raise FlowError("timer_not_running")
        elapsed = self.clock.now() - self.visit.timer_started_at
        seconds = max(0, round(elapsed.total_seconds()))
        try:
            self.answer(item, seconds, measured=True)
        except AnswerRejected:
            self.visit.timer_item = None
            self.visit.timer_started_at = None
            raise
        return seconds

    # Comments, photos, description

    def ask_comment(self, item: Item) -> None:
        self.visit.awaiting = Awaiting.COMMENT

    def comment(self, text: str) -> None:
        if self.visit.awaiting != Awaiting.COMMENT or self.visit.current_item is None:
            raise FlowError("stale")
        text = text.strip()
        if not text:
            raise FlowError("empty_text")
        if len(text) > MAX_COMMENT:
            raise FlowError("too_long", max=MAX_COMMENT)
        row = self.rows().get(self.visit.current_item)
        if row is None:
            row = Answer(visit_id=self.visit.id, item_id=self.visit.current_item)
            self.visit.answers.append(row)
        row.comment = text
        self.visit.awaiting = None

    def add_photo(self, file_id: str, file_unique_id: str) -> Item | None:
        """Attach a photo to the current item (or the visit, on the review); returns the item."""
        item_id = self.visit.current_item
        item = self.checklist.item(item_id) if item_id else None
        if item is not None and item.kind.photos:
            limit = item.kind.photo_limit(item)
            if self.photo_counts().get(item.id, 0) >= limit:
                raise FlowError("too_many_photos", max=limit)
        self.visit.photos.append(
            Photo(
                visit_id=self.visit.id,
                item_id=item_id,
                file_id=file_id,
                file_unique_id=file_unique_id,
            )
        )
        if self.visit.awaiting == Awaiting.COMMENT:
            self.visit.awaiting = None
        return item

    def describe_employee(self, text: str) -> None:
        if self.visit.awaiting != Awaiting.DESCRIPTION:
            raise FlowError("stale")
        text = text.strip()
        if not text:
            raise FlowError("empty_text")
        if len(text) > MAX_DESCRIPTION:
            raise FlowError("too_long", max=MAX_DESCRIPTION)
        self.visit.employee_description = text
        self.visit.awaiting = None
        self.go_to(self.visible()[0])

    def check_in(self, latitude: float, longitude: float, at: datetime) -> None:
        """Where the shopper was when visiting, for the distance-from-store check."""
        self.visit.checkin_latitude = latitude
        self.visit.checkin_longitude = longitude
        self.visit.checkin_at = at

    # Ending

    def ask_cancel(self) -> None:
        self.visit.awaiting = Awaiting.CANCEL

    def keep(self) -> None:
        """Back from the cancel question or a comment prompt to where the shopper was."""
        if self.visit.awaiting in (Awaiting.CANCEL, Awaiting.COMMENT):
            described = self.visit.employee_id or self.visit.employee_description
            self.visit.awaiting = None if described else Awaiting.DESCRIPTION

    def cancel(self) -> None:
        if self.visit.awaiting != Awaiting.CANCEL:
            raise FlowError("stale")
        self.visit.status = VisitStatus.CANCELLED
        self.visit.awaiting = None


def start_visit(
    records: VisitRecords,
    evaluator: Person,
    store: Store,
    version: ChecklistVersion,
    employee: Employee | None,
    clock: Clock,
) -> VisitFlow:
    """A new draft; with no employee chosen, the shopper describes them first."""
    visit = Visit(
        started_at=clock.now(),
        store=store,
        evaluator=evaluator,
        checklist_version=version,
        employee=employee,
        status=VisitStatus.DRAFT,
        awaiting=None if employee else Awaiting.DESCRIPTION,
    )
    records.add(visit)
    flow = VisitFlow(records, visit, clock)
    if employee is not None:
        flow.go_to(flow.visible()[0])
    return flow
