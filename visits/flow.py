"""A shopper's way through a draft visit: which screen is next, and what each action changes.

Everything here is plain data, no Telegram and no queries: the bot turns a ``Screen`` into
a message and a button press into one of these calls, and the caller's unit of work
(``storage.drafts.Records``) loads the draft, counts its photos and saves what changed. Every
call runs inside one write transaction, so an answer is either saved whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from checklists import scoring
from checklists.answers import AnswerRejected, check_value
from checklists.item_types import AnswerValue
from checklists.item_types.base import MAX_PHOTOS
from checklists.schema import Checklist, Item
from storage.checklist_versions import definition
from storage.drafts import EvidenceCounts
from storage.models import (
    Answer,
    AttachmentKind,
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
MAX_RECORDINGS = 10
"""Voice notes, audio files or video notes one item takes."""
MAX_DESCRIPTION = 500
SHORT_DESCRIPTION = 40
"""How much of a typed description of the employee the question's header shows."""


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
    """The employee's name, or the shopper's description of them, or "" for none."""
    described: bool = False
    """Whether ``employee`` is the shopper's description (shown shortened) rather than a name."""
    asks_employee: bool = True
    """Whether the shopper names or describes the employee in this visit."""
    live_message: int | None = None
    """The chat message that shows the draft's question now, if the bot has shown one."""
    item: Item | None = None
    item_index: int = -1
    """The item's place in the checklist; buttons carry it so stale ones can be told apart."""
    position: int = 0
    total: int = 0
    answer: scoring.Answer | None = None
    measured: bool = False
    comment: str | None = None
    photos: int = 0
    recordings: int = 0
    needs: tuple[tuple[str, int], ...] = ()
    """Evidence the current answer still needs (``VisitFlow.evidence_missing``)."""
    timer_started_at: datetime | None = None
    answers: Mapping[str, scoring.Answer] = field(default_factory=dict)
    result: scoring.VisitScore | None = None
    missing: tuple[str, ...] = ()
    """Required items that apply and have no answer yet: submitting waits for them."""
    today: date | None = None
    """The shopper's local date, for answer buttons that depend on it."""
    comments: dict[str, str] = field(default_factory=dict)
    """Every item's comment, for the review."""
    photo_counts: dict[str, int] = field(default_factory=dict)
    """Photos per item, for the review."""
    recording_counts: dict[str, int] = field(default_factory=dict)
    """Recordings per item, for the review."""
    visit_photos: int = 0
    """Photos sent on the review screen, for the visit as a whole."""
    visit_recordings: int = 0
    """Recordings sent on the review screen, for the visit as a whole."""


class FlowError(Exception):
    """An action that does not fit the visit's state; ``reason`` keys the user's message."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


class VisitRecords(Protocol):
    """What the flow needs of the database, inside the caller's transaction."""

    def evidence_counts(self, visit_id: int) -> EvidenceCounts:
        """Photos and recordings per item of a visit."""
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
        self._rows: dict[str, Answer] | None = None
        self._answers: dict[str, scoring.Answer] | None = None

    # Reading

    def rows(self) -> Mapping[str, Answer]:
        """The answer rows by item, made once until the flow adds a row (``_changed``): a
        screen asks for them many times."""
        if self._rows is None:
            self._rows = {row.item_id: row for row in self.visit.answers}
        return self._rows

    def answers(self) -> Mapping[str, scoring.Answer]:
        """The answers given, by item; made once until the flow changes one (``_changed``)."""
        if self._answers is None:
            self._answers = {
                item_id: answer_value(row)
                for item_id, row in self.rows().items()
                if row.na or row.value_text is not None or row.value_number is not None
            }
        return self._answers

    def _changed(self) -> None:
        """An answer row was added or its value set: what ``rows`` and ``answers`` made is
        made again when next asked for."""
        self._rows = self._answers = None

    def evidence(self) -> EvidenceCounts:
        return self.records.evidence_counts(self.visit.id)

    def _of_the_visit(self, photo: bool) -> int:
        """Photos (or recordings) sent on the review for the visit as a whole."""
        evidence = self.evidence()
        return evidence.visit_photos if photo else evidence.visit_recordings

    def visible(self) -> list[Item]:
        shown = scoring.visible_items(self.checklist, self.answers())
        return [item for item in self.items if item.id in shown]

    def may_be_asked(self) -> list[Item]:
        """The items asked, and those whose condition waits on a question still ahead: the
        progress counts these, so that its total shrinks when an answer hides a question
        instead of growing as answers show them ("3/16" … "9/18" read as a fault)."""
        answers, visible = self.answers(), {item.id for item in self.visible()}
        here = self.index_of(self.visit.current_item) if self.visit.current_item else 0
        ahead = {
            item.id
            for n, item in enumerate(self.items)
            if n >= here and item.id in visible and item.id not in answers
        }
        counted: list[Item] = []
        for item in self.items:
            waits = item.show_if is not None and any(
                leaf.item in ahead for leaf in item.show_if.leaves()
            )
            if item.id in visible or waits:
                counted.append(item)
                if waits:
                    ahead.add(item.id)  # what depends on it waits too
        return counted

    def missing(self, evidence: EvidenceCounts | None = None) -> tuple[str, ...]:
        """Items that apply and lack an answer they need: a required one, or the evidence
        an answer given requires; from ``evidence`` when the caller has it."""
        answers, evidence = self.answers(), evidence or self.evidence()

        def unanswered(item: Item) -> bool:
            if item.kind.photos:
                return evidence.photos.get(item.id, 0) == 0
            if item.kind.recordings:
                return evidence.recordings.get(item.id, 0) == 0
            return item.id not in answers

        return tuple(
            item.id
            for item in self.visible()
            if (item.is_required and unanswered(item)) or self.evidence_missing(item, evidence)
        )

    def evidence_missing(
        self, item: Item, evidence: EvidenceCounts | None = None
    ) -> tuple[tuple[str, int], ...]:
        """What the item's answer still needs before the shopper moves on, by the item's
        ``require`` rules: ``("photo", 2)``, ``("comment", 1)``, ``("voice", 1)``; counted
        from ``evidence`` when the caller has it."""
        given = self.answers().get(item.id) if item.require else None
        if given is None or given.na or given.value is None:
            return ()
        row = self.rows().get(item.id)
        evidence = evidence or self.evidence()
        have = {
            "photo": evidence.photos.get(item.id, 0),
            "comment": 1 if row is not None and row.comment else 0,
            "voice": evidence.recordings.get(item.id, 0),
        }
        needs: dict[str, int] = {}
        for rule in item.require or []:
            if not item.kind.matches(item, given.value, [rule.when]):
                continue
            wanted = {
                "photo": rule.photo or 0,
                "comment": int(rule.comment),
                "voice": rule.voice or 0,
            }
            for what, count in wanted.items():
                if count > have[what]:
                    needs[what] = max(needs.get(what, 0), count - have[what])
        return tuple(needs.items())

    def index_of(self, item_id: str) -> int:
        return next(i for i, item in enumerate(self.items) if item.id == item_id)

    def screen(self) -> Screen:
        visit = self.visit
        base = self._base()
        if visit.awaiting == Awaiting.DESCRIPTION:
            return replace(base, kind=ScreenKind.DESCRIPTION)
        if visit.awaiting == Awaiting.CANCEL:
            return replace(base, kind=ScreenKind.CANCEL)
        if visit.current_item is None:
            return self.review_screen()
        return self._question(base, self.checklist.item(visit.current_item))

    def _base(self) -> Screen:
        visit = self.visit
        employee = visit.employee.name if visit.employee else (visit.employee_description or "")
        return Screen(
            ScreenKind.REVIEW,
            visit.id,
            self.checklist,
            visit.store.name,
            employee,
            described=visit.employee is None and bool(visit.employee_description),
            asks_employee=visit.asks_employee,
            live_message=visit.screen_message_id,
            today=self.clock.today(),
        )

    def review_screen(self) -> Screen:
        """Every answer with its comment and evidence, and the score: the shopper's last
        look before submitting, and an admin's look at a submitted visit."""
        answers = self.answers()
        result = scoring.score_visit(self.checklist, answers)
        evidence = self.evidence()
        return replace(
            self._base(),
            answers=answers,
            result=result,
            missing=self.missing(evidence),
            comments={r.item_id: r.comment for r in self.visit.answers if r.comment},
            photo_counts=evidence.photos,
            recording_counts=evidence.recordings,
            visit_photos=evidence.visit_photos,
            visit_recordings=evidence.visit_recordings,
        )

    def _question(self, base: Screen, item: Item) -> Screen:
        visit, answers = self.visit, self.answers()
        counted = self.may_be_asked()
        row = self.rows().get(item.id)
        evidence = self.evidence()
        return replace(
            base,
            kind=ScreenKind.COMMENT if visit.awaiting == Awaiting.COMMENT else ScreenKind.QUESTION,
            item=item,
            item_index=self.index_of(item.id),
            position=next((n for n, i in enumerate(counted, 1) if i.id == item.id), 0),
            total=len(counted),
            answer=answers.get(item.id),
            measured=bool(row and row.measured),
            comment=row.comment if row else None,
            photos=evidence.photos.get(item.id, 0),
            recordings=evidence.recordings.get(item.id, 0),
            needs=self.evidence_missing(item, evidence),
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
        """Keep the answer and move on, unless the answer needs evidence first."""
        value = check_value(item, raw, today=self.clock.today())
        self._store(item, scoring.Answer(value), measured=measured)
        if not self.evidence_missing(item):
            self.advance()

    def _on_if_complete(self, item: Item | None, needed: tuple[tuple[str, int], ...]) -> None:
        """Evidence was added: if it completes what the answer needed, on to the next."""
        if item is not None and needed and not self.evidence_missing(item):
            self.advance()

    def keep_answer(self, item: Item) -> None:
        """On to the next question with the answer given before (a measured time stays
        measured)."""
        if item.id not in self.answers():
            raise FlowError("stale")
        if self.evidence_missing(item):
            raise FlowError("evidence_missing")
        if self.visit.timer_item == item.id:  # a new measurement left unfinished
            self.visit.timer_item = None
            self.visit.timer_started_at = None
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
            self._changed()
        self.advance()

    def toggle(self, item: Item, code: int) -> None:
        """Choose or unchoose one option of a several-option item; "Done" moves on."""
        if not item.kind.toggles:
            raise FlowError("stale")
        given = self.answers().get(item.id)
        before = given.value if given is not None and not given.na else None
        self._store(item, scoring.Answer(item.kind.toggled(item, before, code)), measured=False)

    def done(self, item: Item) -> None:
        """The photos are sent, or the options chosen (none is an answer too): on."""
        if item.kind.photos:
            if item.is_required and self.evidence().photos.get(item.id, 0) == 0:
                raise FlowError("photo_required")
        elif item.kind.recordings:
            if item.is_required and self.evidence().recordings.get(item.id, 0) == 0:
                raise FlowError("recording_required")
        elif item.kind.toggles:
            if item.id not in self.answers():
                self._store(item, scoring.Answer(""), measured=False)
        else:
            raise FlowError("stale")
        if self.evidence_missing(item):
            raise FlowError("evidence_missing")
        self.advance()

    def _store(self, item: Item, value: scoring.Answer, *, measured: bool) -> None:
        row = self.rows().get(item.id)
        if row is None:
            row = Answer(visit_id=self.visit.id, item_id=item.id)
            self.visit.answers.append(row)
        set_answer_value(row, self.checklist, value)
        self._changed()
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

    def comment(self, text: str) -> bool:
        """The current item's comment; True when it was cut to ``MAX_COMMENT``."""
        if self.visit.awaiting != Awaiting.COMMENT or self.visit.current_item is None:
            raise FlowError("stale")
        kept, cut = _kept(text, MAX_COMMENT)
        item = self.checklist.item(self.visit.current_item)
        needed = self.evidence_missing(item)
        self._comment_row(item.id).comment = kept
        self.visit.awaiting = None
        self._on_if_complete(item, needed)
        return cut

    def _comment_row(self, item_id: str) -> Answer:
        row = self.rows().get(item_id)
        if row is None:
            row = Answer(visit_id=self.visit.id, item_id=item_id)
            self.visit.answers.append(row)
            self._changed()
        return row

    def attach(
        self,
        kind: AttachmentKind,
        file_id: str,
        file_unique_id: str,
        caption: str = "",
        duration: int | None = None,
    ) -> bool:
        """Attach a photo or a recording to the current item (or the visit, on the review);
        its caption is added to the item's comment. True when that comment was cut to
        ``MAX_COMMENT``."""
        item_id = self.visit.current_item
        item = self.checklist.item(item_id) if item_id else None
        photo = kind == AttachmentKind.PHOTO
        if item is None:  # the visit's own, sent on the review: as many as an album
            limit = MAX_PHOTOS if photo else MAX_RECORDINGS
            count = self._of_the_visit(photo)
        else:
            limit = item.kind.photo_limit(item) if photo and item.kind.photos else MAX_RECORDINGS
            evidence = self.evidence()
            count = (evidence.photos if photo else evidence.recordings).get(item.id, 0)
        if count >= limit:
            raise FlowError("too_many_files", max=limit)
        needed = self.evidence_missing(item) if item is not None else ()
        kept_caption = _kept(caption, MAX_COMMENT)[0] if _meaningful(caption) else None
        self.visit.photos.append(
            Photo(
                visit_id=self.visit.id,
                item_id=item_id,
                file_id=file_id,
                file_unique_id=file_unique_id,
                caption=kept_caption,
                kind=kind,
                duration=duration,
            )
        )
        if self.visit.awaiting == Awaiting.COMMENT:
            self.visit.awaiting = None
        cut = False
        if item is not None and kept_caption is not None:
            row = self._comment_row(item.id)
            joined = "\n".join(part for part in (row.comment, caption.strip()) if part)
            row.comment, cut = _kept(joined, MAX_COMMENT)
        self._on_if_complete(item, needed)
        return cut

    def describe_employee(self, text: str) -> bool:
        """The shopper's description of an employee not in the list; True when it was cut to
        ``MAX_DESCRIPTION``."""
        if self.visit.awaiting != Awaiting.DESCRIPTION:
            raise FlowError("stale")
        self.visit.employee_description, cut = _kept(text, MAX_DESCRIPTION)
        self.visit.awaiting = None
        if self.visit.current_item is None:
            self.go_to(self.visible()[0])
        return cut

    def may_change_employee(self) -> bool:
        """While describing the employee, or on the first question before anything was
        answered: a visit's answers are about the employee they were given for."""
        if not self.visit.asks_employee or self.answers():
            return False
        if self.visit.awaiting == Awaiting.DESCRIPTION:
            return True
        first = self.visible()[0].id
        return self.visit.awaiting is None and self.visit.current_item == first

    def change_employee(self, employee: Employee | None) -> None:
        """Another employee from the list, or none (the shopper describes them next)."""
        if not self.may_change_employee():
            raise FlowError("stale")
        self.visit.employee = employee
        self.visit.employee_id = employee.id if employee else None
        if employee is None:
            self.visit.awaiting = Awaiting.DESCRIPTION
            return
        self.visit.employee_description = None
        self.visit.awaiting = None
        if self.visit.current_item is None:
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
            undescribed = self.visit.asks_employee and not described
            self.visit.awaiting = Awaiting.DESCRIPTION if undescribed else None

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
    *,
    asks_employee: bool = True,
) -> VisitFlow:
    """A new draft; with no employee chosen, the shopper describes them first, unless the
    deployment collects no employee data (``asks_employee`` off)."""
    describe = asks_employee and employee is None
    visit = Visit(
        started_at=clock.now(),
        store=store,
        evaluator=evaluator,
        checklist_version=version,
        employee=employee if asks_employee else None,
        asks_employee=asks_employee,
        status=VisitStatus.DRAFT,
        awaiting=Awaiting.DESCRIPTION if describe else None,
        answers=[],  # known to be none: the first screen need not ask the database
    )
    records.add(visit)
    flow = VisitFlow(records, visit, clock)
    if not describe:
        flow.go_to(flow.visible()[0])
    return flow


def _kept(text: str, limit: int) -> tuple[str, bool]:
    """Typed text without its surrounding blanks (invisible format characters included), cut
    to ``limit``; whether it was cut. Text with nothing to read is refused."""
    text = _INVISIBLE_EDGES.sub("", text)
    if not _meaningful(text):
        raise FlowError("empty_text")
    return text[:limit].rstrip(), len(text) > limit


_INVISIBLE = (
    r"[\s\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
"""White space, and characters that show nothing: zero-width, direction marks, fillers."""
_INVISIBLE_EDGES = re.compile(f"^{_INVISIBLE}+|{_INVISIBLE}+$")


def _meaningful(text: str) -> bool:
    """Whether ``text`` has anything a person can read."""
    return bool(re.sub(_INVISIBLE, "", text))
