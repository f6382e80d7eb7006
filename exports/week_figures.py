"""The week read once: every figure every workbook of a week needs, for all stores at once.

A delivery run sends a week's workbooks to every admin, HR and each store manager (52 of
them for 50 stores). Aggregating each scope separately cost 3.4–5.4 × the SQL of one
aggregation of the whole week (FIELD-NOTES), so the week is read here once, without regard
to language or audience, and ``exports.aggregate`` derives each workbook's ``Report`` from it
in Python: a scope is a filter on store ids, a language a choice of texts.

What is kept is the least that derives every figure: sums per (week, store, employee,
checklist version) over the trend's eight weeks, met counts per (standard, store, employee),
and the counted visits of the week in columns (``VisitTable``: arrays of numbers, answers as
indexes into the week's distinct values), each made into a ``VisitFacts`` record when read.
At 100,000 visits that is about 60 MB, where records kept as objects took 130 MB.

Everything is read in one snapshot (``Database.snapshot``): the sums and the listing of
visits agree even while an admin voids a visit.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any, Protocol, overload
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, case, func, select
from sqlalchemy.orm import Session, aliased

from checklists import scoring
from checklists.schema import Checklist
from exports.weeks import Week
from storage.checklist_versions import definition
from storage.models import (
    Answer,
    AttachmentKind,
    ChecklistVersion,
    CorrectiveAction,
    Employee,
    Person,
    Photo,
    Store,
    Visit,
    VisitCard,
    VisitFlag,
    VisitStatus,
)
from storage.reviews import counted
from storage.visits import answer_value

TREND_WEEKS = 8
STREAM_CHUNK = 2_000
"""Rows fetched at a time by the visits' and answers' queries."""


class _NotApplicable:
    """The answer "N/A": shown in the report's language."""

    def __repr__(self) -> str:
        return "N/A"


NA = _NotApplicable()
NOT_SHOWN = None
"""An item the visit did not answer or did not ask (hidden by ``show_if``)."""


@dataclass(frozen=True)
class StoreFacts:
    id: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class EmployeeFacts:
    id: int
    code: str
    name: str
    store_id: int
    active: bool


@dataclass(slots=True)
class Sums:
    """Counts and score sums over some visits (adding two gives those of both)."""

    visits: int = 0
    score_sum: float = 0.0
    scored: int = 0
    """Visits with a score (at least one scored item not N/A)."""
    passed: int = 0
    critical: int = 0
    promoters: int = 0
    detractors: int = 0
    rated: int = 0
    """Visits with an NPS answer."""
    mark_sum: float = 0.0
    """Pass marks (percent) of the scored visits' checklists, summed."""

    def add(self, other: Sums) -> None:
        self.visits += other.visits
        self.score_sum += other.score_sum
        self.scored += other.scored
        self.passed += other.passed
        self.critical += other.critical
        self.promoters += other.promoters
        self.detractors += other.detractors
        self.rated += other.rated
        self.mark_sum += other.mark_sum

    @property
    def average(self) -> float | None:
        """Mean score as a fraction."""
        return self.score_sum / self.scored / 100 if self.scored else None

    @property
    def pass_rate(self) -> float | None:
        """Passed among the scored visits: a visit with nothing scored neither passes nor
        fails."""
        return self.passed / self.scored if self.scored else None

    @property
    def pass_mark(self) -> float | None:
        """The visits' pass mark as a fraction (their checklists' mean, weighted by visit)."""
        return self.mark_sum / self.scored / 100 if self.scored else None

    @property
    def nps(self) -> float | None:
        return 100 * (self.promoters - self.detractors) / self.rated if self.rated else None


CellKey = tuple[int, int, int | None, int]
"""(trend week index, store id, employee id or None, checklist version id)."""
MetKey = tuple[str, str, int, int | None]
"""(checklist id, item id, store id, employee id or None)."""


@dataclass(slots=True)
class VisitFacts:
    """One counted visit of the week, as every sheet needs it."""

    id: int
    visited_at: datetime
    """Local wall time, without tzinfo."""
    store_id: int
    employee_id: int | None
    employee_code: str
    evaluator: str
    version_id: int
    score: float | None
    passed: bool
    critical: bool
    answers: tuple[object, ...]
    """Per item of the version, in order: the value, ``NA`` or ``NOT_SHOWN``."""
    shortfalls: tuple[int, ...]
    """The shown, weighted items scored below 1, each as ``2 × item index + partly``
    (1 when partly met, 0 when not met): small ints, which Python does not allocate."""
    description: str = ""
    """The employee as described, when none was picked."""
    extra: tuple[tuple[str, object], ...] = ()
    """Answers to items the version does not have (kept as stored)."""
    comments: tuple[tuple[str, str], ...] = ()
    """(item id, comment), in checklist order."""
    flags: tuple[str, ...] = ()
    photos: int = 0
    recordings: int = 0
    cards: tuple[int, int, int, int] | None = None
    """Cards sent, seen, disputed, disputes waiting; None when the visit had no card."""


_EPOCH, _MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)
_PASSED, _CRITICAL = 1, 2
_NO_SCORE = -1.0


class VisitTable(Sequence[VisitFacts]):
    """The week's visits in columns, each visit made into a ``VisitFacts`` when read.

    A week of 100,000 visits held as objects took 1.3 KB a visit (130 MB); in arrays of
    numbers and one flat list of shared answer objects it takes about a third of that, which
    is what keeps a large week's delivery run within its memory.
    """

    def __init__(self) -> None:
        self.ids = array("q")
        self.moments = array("q")
        """Local wall time, in microseconds since 1970-01-01 00:00."""
        self.stores = array("q")
        self.employees = array("q")
        """0: no employee picked."""
        self.versions = array("q")
        self.scores = array("d")
        """``_NO_SCORE``: nothing scored."""
        self.marks = bytearray()
        """``_PASSED`` and ``_CRITICAL`` bits."""
        self.evidence = array("q")
        """Photos and recordings, two per visit."""
        self.codes: list[str] = []
        self.evaluators: list[str] = []
        self.answers = array("I")
        """Each visit's answers in its version's item order, as indexes into ``values``."""
        self.values: list[object] = []
        """Every distinct answer of the week (an option, a number, ``NA``, ``NOT_SHOWN``)."""
        self._value_index: dict[tuple[type, object], int] = {}
        self.starts = array("q", [0])
        """Where each visit's answers begin in ``answers`` (one more than visits)."""
        self.shortfalls = array("H")
        self.shortfall_starts = array("q", [0])
        self.comments: dict[int, tuple[str, ...]] = {}
        """Per visit index: item id, comment, item id, comment … (flat: a tuple a pair
        would cost 56 bytes more each)."""
        self.rare: dict[int, dict[str, Any]] = {}
        """Per visit index, what few visits have: a description, answers to items the
        version lacks, integrity flags, cards."""

    def append(self, visit: VisitFacts) -> None:
        index = len(self.ids)
        self.ids.append(visit.id)
        self.moments.append((visit.visited_at - _EPOCH) // _MICROSECOND)
        self.stores.append(visit.store_id)
        self.employees.append(visit.employee_id or 0)
        self.versions.append(visit.version_id)
        self.scores.append(_NO_SCORE if visit.score is None else visit.score)
        self.marks.append(_PASSED * visit.passed | _CRITICAL * visit.critical)
        self.evidence.extend((visit.photos, visit.recordings))
        self.codes.append(visit.employee_code)
        self.evaluators.append(visit.evaluator)
        self.answers.extend(map(self._value, visit.answers))
        self.starts.append(len(self.answers))
        self.shortfalls.extend(visit.shortfalls)
        self.shortfall_starts.append(len(self.shortfalls))
        if visit.comments:
            self.comments[index] = tuple(text for pair in visit.comments for text in pair)
        rare = {
            name: value
            for name in ("description", "extra", "flags", "cards")
            if (value := getattr(visit, name))
        }
        if rare:
            self.rare[index] = rare

    def _value(self, value: object) -> int:
        # By type too: 1, 1.0 and True are one dict key, but not one answer.
        key = (value.__class__, value)
        index = self._value_index.get(key)
        if index is None:
            index = self._value_index[key] = len(self.values)
            self.values.append(value)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> VisitFacts: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[VisitFacts]: ...

    def __getitem__(self, index: int | slice) -> VisitFacts | Sequence[VisitFacts]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        score, marks = self.scores[index], self.marks[index]
        flat = self.comments.get(index, ())
        photos, recordings = self.evidence[2 * index], self.evidence[2 * index + 1]
        return VisitFacts(
            id=self.ids[index],
            visited_at=_EPOCH + timedelta(microseconds=self.moments[index]),
            store_id=self.stores[index],
            employee_id=self.employees[index] or None,
            employee_code=self.codes[index],
            evaluator=self.evaluators[index],
            version_id=self.versions[index],
            score=None if score == _NO_SCORE else score,
            passed=bool(marks & _PASSED),
            critical=bool(marks & _CRITICAL),
            answers=tuple(map(self.values.__getitem__, self._answers(index))),
            shortfalls=tuple(
                self.shortfalls[self.shortfall_starts[index] : self.shortfall_starts[index + 1]]
            ),
            photos=photos,
            recordings=recordings,
            comments=tuple(zip(flat[::2], flat[1::2], strict=True)),
            **self.rare.get(index, {}),
        )

    def __iter__(self) -> Iterator[VisitFacts]:
        return map(self.__getitem__, range(len(self)))

    def _answers(self, index: int) -> array[int]:
        return self.answers[self.starts[index] : self.starts[index + 1]]

    def shape(self, index: int) -> tuple[bool, ...]:
        """Which of its version's items the visit answered, read without making it."""
        values = self.values
        return tuple(values[n] is not None for n in self._answers(index))

    def shortfall_count(self, index: int) -> int:
        return self.shortfall_starts[index + 1] - self.shortfall_starts[index]


class Subset(Sequence[VisitFacts]):
    """Some of a table's visits, by index, made when read."""

    def __init__(self, table: VisitTable, indexes: Sequence[int]) -> None:
        self.table, self.indexes = table, indexes

    def having(self, rare: str) -> Iterator[VisitFacts]:
        """The visits that have one of the rare things (a description, answers to items
        their version lacks), without making the others."""
        table = self.table
        return (table[n] for n in self.indexes if rare in table.rare.get(n, ()))

    def __len__(self) -> int:
        return len(self.indexes)

    @overload
    def __getitem__(self, index: int) -> VisitFacts: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[VisitFacts]: ...

    def __getitem__(self, index: int | slice) -> VisitFacts | Sequence[VisitFacts]:
        if isinstance(index, slice):
            return Subset(self.table, self.indexes[index])
        return self.table[self.indexes[index]]

    def __iter__(self) -> Iterator[VisitFacts]:
        return map(self.table.__getitem__, self.indexes)


@dataclass(frozen=True)
class ActionFacts:
    store_id: int
    visit_id: int
    version_id: int
    item_id: str
    action: str
    due_on: date
    due_before_reopen: date | None
    owner: str | None
    created_at: datetime
    done_at: datetime | None
    closed_note: str
    closed_by: str | None
    verified_at: datetime | None
    reopened_at: datetime | None


@dataclass
class WeekFigures:
    week: Week
    zone: ZoneInfo
    generated_at: datetime
    trend_weeks: list[Week]
    stores: list[StoreFacts]
    """Every store, by code."""
    employees: dict[int, EmployeeFacts]
    """Every employee with a visit in the trend's weeks."""
    versions: dict[int, Checklist]
    """Every checklist version, by id."""
    cells: dict[CellKey, Sums]
    met: dict[MetKey, tuple[int, int]]
    """This week: visits that met the standard fully, and visits where it counted."""
    visits: VisitTable
    """This week's counted visits, by time."""
    actions: list[ActionFacts]
    by_store: dict[int, list[int]] = field(default_factory=dict)
    """Indexes into ``visits`` per store id, in order."""
    memo: dict[Any, Any] = field(default_factory=dict)
    """Texts worked out for one language, reused by every workbook in it."""

    @property
    def this_week(self) -> int:
        return len(self.trend_weeks) - 1


class _Window:
    """Counted submitted visits in a UTC range."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end

    def conditions(self) -> list[ColumnElement[bool]]:
        # Status and time first, so the (status, submitted_at) index answers the range.
        return [
            Visit.status == VisitStatus.SUBMITTED,
            Visit.submitted_at >= self.start,
            Visit.submitted_at < self.end,
            counted(),
        ]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """``COUNT(*) FILTER (WHERE ...)`` spelt so that SQLite and PostgreSQL both run it."""
    return func.sum(case((condition, 1), else_=0))


def compute_week(
    session: Session, week: Week, zone: ZoneInfo, now: datetime | None = None
) -> WeekFigures:
    """Everything the week's workbooks show, read in one snapshot of the database."""
    trend_weeks = week.recent(TREND_WEEKS)
    bounds = [w.utc_range(zone) for w in trend_weeks]
    this = _Window(*bounds[-1])
    versions = {v.id: definition(v) for v in session.scalars(select(ChecklistVersion))}
    stores = [
        StoreFacts(i, code, name, bool(active))
        for i, code, name, active in session.execute(
            select(Store.id, Store.code, Store.name, Store.active).order_by(Store.code)
        )
    ]
    cells = _cells(session, bounds, versions)
    employee_ids = {key[2] for key in cells if key[2] is not None}
    employees = {
        e.id: EmployeeFacts(e.id, e.code, e.name, e.store_id, bool(e.active))
        for e in session.execute(
            select(Employee.id, Employee.code, Employee.name, Employee.store_id, Employee.active)
        )
        if e.id in employee_ids
    }
    figures = WeekFigures(
        week=week,
        zone=zone,
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
        trend_weeks=trend_weeks,
        stores=stores,
        employees=employees,
        versions=versions,
        cells=cells,
        met=_met_counts(session, this),
        visits=_visits(session.connection(), this, zone, versions),
        actions=_actions(session, this),
    )
    for index, store_id in enumerate(figures.visits.stores):
        figures.by_store.setdefault(store_id, []).append(index)
    return figures


def _cells(
    session: Session, bounds: Sequence[tuple[datetime, datetime]], versions: dict[int, Checklist]
) -> dict[CellKey, Sums]:
    """Sums per (week, store, employee, version) over the trend's weeks: one query.

    The week is a CASE over the UTC bounds in a subquery, so GROUP BY names a column rather
    than repeating an expression with bound parameters (PostgreSQL refuses that).
    """
    week_index = case(*((Visit.submitted_at < end, n) for n, (_, end) in enumerate(bounds)))
    spans = (
        select(
            week_index.label("week"),
            Visit.store_id.label("store"),
            Visit.employee_id.label("employee"),
            Visit.checklist_version_id.label("version"),
            Visit.score.label("score"),
            Visit.passed.label("passed"),
            Visit.critical_failed.label("critical"),
            Visit.nps.label("nps"),
        )
        .where(*_Window(bounds[0][0], bounds[-1][1]).conditions())
        .subquery()
    )
    c = spans.c
    query = select(
        c.week,
        c.store,
        c.employee,
        c.version,
        func.count(),
        func.sum(c.score),
        func.count(c.score),
        _count_if(c.passed.is_(True)),
        _count_if(c.critical.is_(True)),
        _count_if(c.nps >= 9),
        _count_if(c.nps <= 6),
        func.count(c.nps),
    ).group_by(c.week, c.store, c.employee, c.version)
    cells = {}
    for row in session.execute(query):
        week, store, employee, version, visits, total, scored, *rest = row
        passed, critical, promoters, detractors, rated = (int(n) for n in rest)
        mark = versions[version].pass_mark
        cells[(int(week), int(store), employee, int(version))] = Sums(
            int(visits),
            float(total or 0),
            int(scored),
            passed,
            critical,
            promoters,
            detractors,
            int(rated),
            float(mark) * int(scored),
        )
    return cells


def _met_counts(session: Session, window: _Window) -> dict[MetKey, tuple[int, int]]:
    """One answer per item per visit (unique index), so counting answers counts visits."""
    query = (
        select(
            ChecklistVersion.checklist_id,
            Answer.item_id,
            Visit.store_id,
            Visit.employee_id,
            _count_if(Answer.score == 1),
            func.count(Answer.score),
        )
        .select_from(Visit)
        .join(Answer, Answer.visit_id == Visit.id)
        .join(ChecklistVersion, ChecklistVersion.id == Visit.checklist_version_id)
        .where(*window.conditions(), Answer.score.is_not(None))
        .group_by(ChecklistVersion.checklist_id, Answer.item_id, Visit.store_id, Visit.employee_id)
    )
    return {
        (checklist_id, item_id, int(store_id), employee_id): (int(met), int(rated))
        for checklist_id, item_id, store_id, employee_id, met, rated in session.execute(query)
    }


class _AnswerRow(Protocol):
    visit_id: int
    item_id: str
    value_text: str | None
    value_number: float | None
    na: bool
    comment: str | None
    score: float | None


class _Version:
    """What reading the answers of one checklist version takes, worked out once."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.index = {item.id: n for n, item in enumerate(checklist.items)}
        self.items = checklist.items
        self.conditions = frozenset(
            leaf.item
            for item in checklist.items
            if item.show_if is not None
            for leaf in item.show_if.leaves()
            if leaf.item is not None
        )
        """Items some ``show_if`` reads: the only answers visibility depends on."""


def _visits(
    connection: Connection, window: _Window, zone: ZoneInfo, versions: dict[int, Checklist]
) -> VisitTable:
    """Every counted visit of the week with its answers as shown.

    Two streamed queries in the same order, the visits and their answers, merged here: the
    answers of a large week are never all in memory at once as rows.
    """
    visits = (
        select(
            Visit.id,
            Visit.submitted_at,
            Visit.store_id,
            Visit.employee_id,
            Visit.employee_description,
            Visit.checklist_version_id,
            Visit.score,
            Visit.passed,
            Visit.critical_failed,
            Employee.code.label("employee_code"),
            Person.pseudonym.label("evaluator"),
        )
        .outerjoin(Employee, Employee.id == Visit.employee_id)
        .join(Person, Person.id == Visit.evaluator_id)
        .where(*window.conditions())
        .order_by(Visit.submitted_at, Visit.id)
        .execution_options(yield_per=STREAM_CHUNK)
    )
    answers = (
        select(
            Answer.visit_id,
            Answer.item_id,
            Answer.value_text,
            Answer.value_number,
            Answer.na,
            Answer.comment,
            Answer.score,
        )
        .join(Visit, Visit.id == Answer.visit_id)
        .where(*window.conditions())
        .order_by(Visit.submitted_at, Visit.id, Answer.id)
        .execution_options(yield_per=STREAM_CHUNK)
    )
    flags: dict[int, list[str]] = {}
    flag_query = (
        select(VisitFlag.visit_id, VisitFlag.kind)
        .join(Visit, Visit.id == VisitFlag.visit_id)
        .where(*window.conditions())
        .order_by(VisitFlag.visit_id, VisitFlag.id)
    )
    for visit_id, kind in connection.execute(flag_query):
        flags.setdefault(visit_id, []).append(str(kind))
    is_photo = Photo.kind == AttachmentKind.PHOTO
    evidence_query = (
        select(Photo.visit_id, func.count().filter(is_photo), func.count().filter(~is_photo))
        .join(Visit, Visit.id == Photo.visit_id)
        .where(*window.conditions())
        .group_by(Photo.visit_id)
    )
    evidence = {v: (int(p), int(r)) for v, p, r in connection.execute(evidence_query)}
    cards = _cards(connection, window)

    shown: dict[int, _Version] = {}
    texts: dict[str, str] = {}
    """One string object per distinct text (an option id, an employee's code, a pseudonym,
    a comment), not one per visit or answer."""
    facts = VisitTable()
    answers_by_visit = groupby(connection.execute(answers), key=lambda answer: answer.visit_id)
    pending = next(answers_by_visit, None)
    for row in connection.execute(visits):
        rows: list[_AnswerRow] = []
        if pending is not None and pending[0] == row.id:
            rows = list(pending[1])
            pending = next(answers_by_visit, None)
        version = shown.get(row.checklist_version_id)
        if version is None:
            version = shown[row.checklist_version_id] = _Version(versions[row.checklist_version_id])
        values, extra, comments, shortfalls = _shown_answers(version, rows, texts)
        photos, recordings = evidence.get(row.id, (0, 0))
        facts.append(
            VisitFacts(
                id=row.id,
                visited_at=row.submitted_at.astimezone(zone).replace(tzinfo=None),
                store_id=row.store_id,
                employee_id=row.employee_id,
                employee_code=texts.setdefault(row.employee_code or "", row.employee_code or ""),
                description=(row.employee_description or "").strip()
                if row.employee_id is None
                else "",
                evaluator=texts.setdefault(row.evaluator, row.evaluator),
                version_id=row.checklist_version_id,
                score=None if row.score is None else float(row.score) / 100,
                passed=bool(row.passed),
                critical=bool(row.critical_failed),
                answers=values,
                extra=extra,
                comments=comments,
                shortfalls=shortfalls,
                flags=tuple(flags.get(row.id, ())),
                photos=photos,
                recordings=recordings,
                cards=cards.get(row.id),
            )
        )
    return facts


def _shown_answers(
    version: _Version, rows: Iterable[_AnswerRow], texts: dict[str, str]
) -> tuple[
    tuple[object, ...],
    tuple[tuple[str, object], ...],
    tuple[tuple[str, str], ...],
    tuple[int, ...],
]:
    """Answers as the shopper gave them; an item hidden by ``show_if`` was not asked.

    An answer left behind when an earlier answer changed and hid its item stays in the
    database but did not count, so it is not shown either.
    """
    rows = list(rows)
    index = version.index
    visible = (
        scoring.visible_items(
            version.checklist,
            {r.item_id: answer_value(r) for r in rows if r.item_id in version.conditions},
        )
        if version.conditions
        else None
    )
    values: list[object] = [NOT_SHOWN] * len(index)
    extra = []
    comments = []
    shortfalls = []
    for row in rows:
        position = index.get(row.item_id)
        if position is not None and visible is not None and row.item_id not in visible:
            continue
        if row.na:
            value: object = NA
        else:
            value = answer_value(row).value
            if isinstance(value, str) and len(value) <= 40:
                value = texts.setdefault(value, value)
        if position is None:
            if value is not None:
                extra.append((row.item_id, value))
        else:
            values[position] = value
            if row.score is not None and row.score < 1 and version.items[position].scored:
                shortfalls.append(2 * position + (row.score > 0))
        if row.comment:
            # Comments repeat ("all fine"): one string for each wording, not each visit.
            comments.append((row.item_id, texts.setdefault(row.comment, row.comment)))
    comments.sort(key=lambda pair: index.get(pair[0], -1))
    shortfalls.sort()
    return tuple(values), tuple(extra), tuple(comments), tuple(shortfalls)


def _cards(connection: Connection, window: _Window) -> dict[int, tuple[int, int, int, int]]:
    """What the store's managers did with each visit's card: sent, seen, disputed, and
    disputes not yet decided."""
    query = (
        select(
            VisitCard.visit_id,
            func.count(VisitCard.sent_at),
            func.count(VisitCard.seen_at),
            func.count(VisitCard.disputed_at),
            func.count(VisitCard.disputed_at).filter(VisitCard.dispute_outcome.is_(None)),
        )
        .join(Visit, Visit.id == VisitCard.visit_id)
        .where(*window.conditions())
        .group_by(VisitCard.visit_id)
    )
    return {
        visit_id: (int(sent), int(seen), int(disputed), int(waiting))
        for visit_id, sent, seen, disputed, waiting in connection.execute(query)
    }


def _actions(session: Session, window: _Window) -> list[ActionFacts]:
    """Corrective actions opened before the week ended and not verified before it began,
    soonest due first."""
    closer, owner = aliased(Person), aliased(Person)
    query = (
        select(CorrectiveAction, owner.name, closer.name, Visit.checklist_version_id)
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .outerjoin(owner, owner.id == CorrectiveAction.manager_id)
        .outerjoin(closer, closer.id == CorrectiveAction.closed_by_id)
        .where(
            CorrectiveAction.created_at < window.end,
            (CorrectiveAction.verified_at.is_(None))
            | (CorrectiveAction.verified_at >= window.start),
        )
        .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
    )
    return [
        ActionFacts(
            store_id=action.store_id,
            visit_id=action.visit_id,
            version_id=version_id,
            item_id=action.item_id,
            action=action.action,
            due_on=action.due_on,
            due_before_reopen=action.due_before_reopen,
            owner=owner_name,
            created_at=action.created_at,
            done_at=action.done_at,
            closed_note=action.closed_note or "",
            closed_by=closed_by,
            verified_at=action.verified_at,
            reopened_at=action.reopened_at,
        )
        for action, owner_name, closed_by, version_id in session.execute(query)
    ]
