"""The figures of a weekly report, computed from submitted visits.

Counts and averages are GROUP BY queries over ``visit`` and ``answer`` (a week of 10⁶ answers
took 11 ms in SQL with its indexes, against 1.3 s fetching the rows into Python); Python only
combines the few aggregate rows and lays them out. Only the visits sheet lists rows, because
it shows every visit: two queries, one for the visits and one for their answers.

Weeks are half-open UTC ranges computed in Python from the deployment's zone (SQLite has no
ISO week). Every query is limited to the scope's stores, so a manager's report holds nothing
of another store, and HR's holds no shopper pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any, Protocol, SupportsFloat, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from checklists import scoring
from checklists.item_types import Words
from checklists.schema import Channel, Checklist, Item
from exports.report_data import (
    ActionRow,
    EmployeeRow,
    ItemColumn,
    Report,
    Scope,
    StandardRow,
    StoreRow,
    TrendPoint,
    UnmatchedEmployee,
    VisitRow,
    WeakStandard,
)
from exports.weeks import Week
from storage.checklist_versions import definition
from storage.models import (
    ActionStatus,
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
WEAKEST_COUNT = 3
HEADER_LIMIT = 60
STREAM_CHUNK = 2_000
"""Rows fetched at a time by the Visits sheet's query."""
DEFAULT_LABELS = {
    "answer.yes": "yes",
    "answer.no": "no",
    "answer.na": "N/A",
    "ack.seen": "seen by {seen} of {sent}",
    "ack.disputed": "disputed, under review",
    "ack.upheld": "disputed, the visit stands",
    "owner.managers": "store managers",
}

StandardKey = tuple[str, str]
"""(checklist id, item id): a standard is compared across versions by its stable item id."""
T = TypeVar("T")


def build_report(
    session: Session,
    week: Week,
    scope: Scope,
    *,
    zone: ZoneInfo,
    language: str,
    now: datetime | None = None,
    labels: Words | None = None,
) -> Report:
    """Everything one workbook shows for ``week``, limited to what ``scope`` may see."""
    stores = _stores_in_scope(session, scope)
    window = _Window(week, zone, [s.id for s in stores] if scope.restricted else None)
    catalogue = _Catalogue.load(session, language)
    trend_weeks = week.recent(TREND_WEEKS)

    figures = _store_figures(session, window)
    trends = _trends(session, window, trend_weeks)
    rows = [s for s in stores if s.active or s.id in figures]
    codes = {s.id: s.code for s in stores}
    store_rows = [_store_row(s, figures.get(s.id), trends, len(trend_weeks)) for s in rows]
    row_codes = [s.code for s in rows]

    visit_rows, unmatched, item_columns = _visit_sheet(
        session, window, scope, catalogue, codes, labels or _PlainWords(language)
    )
    met_by_store, met_by_employee = _met_counts(session, window)
    trend = [
        TrendPoint(
            week=trend_week,
            average_score=trends.overall.get(n),
            per_store={s.code: trends.by_store.get((n, s.id)) for s in rows},
        )
        for n, trend_week in enumerate(trend_weeks)
    ]
    return Report(
        week=week,
        scope=scope,
        language=language,
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
        stores=store_rows,
        standards=_standards(catalogue, codes, row_codes, met_by_store),
        employees=_employees(session, window, catalogue, codes, trends, met_by_employee),
        unmatched=unmatched,
        item_columns=item_columns,
        visits=visit_rows,
        trend=trend,
        actions=_actions(session, window, catalogue, language, labels or _PlainWords(language)),
    )


@dataclass(frozen=True)
class _PlainWords:
    """Labels for a report built without a catalogue (tests, benchmarks): plain English."""

    language: str

    def __call__(self, key: str, **params: object) -> str:
        return DEFAULT_LABELS.get(key, key.rpartition(".")[2]).format(**params)


def _actions(
    session: Session, window: _Window, catalogue: _Catalogue, language: str, words: Words
) -> list[ActionRow]:
    """The stores' corrective actions of the week: those opened before it ended that were
    not verified before it began, soonest due first. Where each stands is as of now."""
    week_start, week_end = window.week.utc_range(window.zone)
    closer = aliased(Person)
    query = (
        select(CorrectiveAction, Store.code, Person.name, closer.name, Visit.checklist_version_id)
        .join(Store, Store.id == CorrectiveAction.store_id)
        .outerjoin(Person, Person.id == CorrectiveAction.manager_id)
        .outerjoin(closer, closer.id == CorrectiveAction.closed_by_id)
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(
            CorrectiveAction.created_at < week_end,
            or_(CorrectiveAction.verified_at.is_(None), CorrectiveAction.verified_at >= week_start),
        )
        .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
    )
    if window.store_ids is not None:
        query = query.where(CorrectiveAction.store_id.in_(window.store_ids))
    last_day = window.week.monday + timedelta(days=6)
    rows = []
    for action, store_code, manager, closed_by, version_id in session.execute(query):
        checklist = catalogue.by_version[version_id]
        opened = action.created_at.astimezone(window.zone).date()
        closed = action.done_at.astimezone(window.zone).date() if action.done_at else None
        verified = action.verified_at.astimezone(window.zone).date() if action.verified_at else None
        status = str(action.status)
        if action.status == ActionStatus.OPEN and action.due_on < last_day:
            status = "overdue"
        elif action.status == ActionStatus.OPEN and action.reopens:
            status = "reopened"
        rows.append(
            ActionRow(
                store_code,
                action.visit_id,
                checklist.item(action.item_id).standard_name(language),
                action.action,
                action.due_on,
                manager if manager is not None else words("owner.managers"),
                words(f"status.{status}"),
                opened,
                max(0, ((closed or last_day) - opened).days),
                closed,
                action.closed_note or "",
                verified,
                closed_by or "",
            )
        )
    return rows


@dataclass(frozen=True)
class _Store:
    id: int
    code: str
    name: str
    active: bool


def _stores_in_scope(session: Session, scope: Scope) -> list[_Store]:
    query = select(Store.id, Store.code, Store.name, Store.active).order_by(Store.code)
    if scope.restricted:
        query = query.where(Store.code.in_(sorted(scope.store_codes)))
    return [_Store(i, code, name, bool(active)) for i, code, name, active in session.execute(query)]


@dataclass(frozen=True)
class _Window:
    """The week's UTC range and the stores a query may read (None: all of them)."""

    week: Week
    zone: ZoneInfo
    store_ids: list[int] | None

    def submitted(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[ColumnElement[bool]]:
        """Counted submitted visits in [start, end), by default the report's week.

        Status and time first, so the (status, submitted_at) index answers the range.
        """
        week_start, week_end = self.week.utc_range(self.zone)
        conditions = [
            Visit.status == VisitStatus.SUBMITTED,
            Visit.submitted_at >= (start or week_start),
            Visit.submitted_at < (end or week_end),
            counted(),
        ]
        if self.store_ids is not None:
            conditions.append(Visit.store_id.in_(self.store_ids))
        return conditions


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """``COUNT(*) FILTER (WHERE ...)`` spelt so that SQLite and PostgreSQL both run it."""
    return func.sum(case((condition, 1), else_=0))


def _fraction(percent: SupportsFloat | None) -> float | None:
    """A stored percent as a fraction; PostgreSQL may hand AVG back as a Decimal."""
    return None if percent is None else float(percent) / 100


def _share(met: int, counted: int) -> float | None:
    return met / counted if counted else None


# Stores and trend


@dataclass(frozen=True)
class _StoreFigures:
    visits: int
    average: float | None
    passed: int
    critical: int
    promoters: int
    detractors: int
    rated: int


def _store_figures(session: Session, window: _Window) -> dict[int, _StoreFigures]:
    query = (
        select(
            Visit.store_id,
            func.count(),
            func.avg(Visit.score),
            _count_if(Visit.passed.is_(True)),
            _count_if(Visit.critical_failed.is_(True)),
            _count_if(Visit.nps >= 9),
            _count_if(Visit.nps <= 6),
            func.count(Visit.nps),
        )
        .where(*window.submitted())
        .group_by(Visit.store_id)
    )
    return {
        store_id: _StoreFigures(
            int(visits),
            _fraction(average),
            int(passed),
            int(critical),
            int(promoters),
            int(detractors),
            int(rated),
        )
        for store_id, visits, average, passed, critical, promoters, detractors, rated in (
            session.execute(query)
        )
    }


def _store_row(
    store: _Store,
    figures: _StoreFigures | None,
    trends: _Trends,
    weeks: int,
) -> StoreRow:
    if figures is None:
        return StoreRow(store.code, store.name, 0, None, None, 0, None, None)
    previous = trends.by_store.get((weeks - 2, store.id))
    nps = 100 * (figures.promoters - figures.detractors) / figures.rated if figures.rated else None
    return StoreRow(
        store_code=store.code,
        store_name=store.name,
        visits=figures.visits,
        average_score=figures.average,
        pass_rate=figures.passed / figures.visits,
        critical_failures=figures.critical,
        nps=nps,
        change=None if figures.average is None or previous is None else figures.average - previous,
    )


@dataclass(frozen=True)
class _Trends:
    """Average score per trend week (by its index) overall, per store and per employee."""

    overall: dict[int, float]
    by_store: dict[tuple[int, int], float]
    by_employee: dict[tuple[int, int], float]


def _trends(session: Session, window: _Window, weeks: Sequence[Week]) -> _Trends:
    """One query sums the scores of each (week, store, employee) over the whole span; the
    averages above them are those sums added up, divided by the counts added up.

    The week is a CASE over the UTC bounds in a subquery, so GROUP BY names a column rather
    than repeating an expression with bound parameters (PostgreSQL refuses that).
    """
    bounds = [w.utc_range(window.zone) for w in weeks]
    week_index = case(*((Visit.submitted_at < end, n) for n, (_, end) in enumerate(bounds)))
    spans = (
        select(
            week_index.label("week"),
            Visit.store_id.label("store"),
            Visit.employee_id.label("employee"),
            Visit.score.label("score"),
        )
        .where(*window.submitted(bounds[0][0], bounds[-1][1]))
        .subquery()
    )
    week, store, employee = spans.c.week, spans.c.store, spans.c.employee
    query = select(
        week, store, employee, func.sum(spans.c.score), func.count(spans.c.score)
    ).group_by(week, store, employee)
    overall: dict[int, list[float]] = {}
    by_store: dict[tuple[int, int], list[float]] = {}
    by_employee: dict[tuple[int, int], list[float]] = {}
    for n, store_id, employee_id, total, scored in session.execute(query):
        if not scored:
            continue
        _add_sum(overall, n, float(total), scored)
        _add_sum(by_store, (n, store_id), float(total), scored)
        if employee_id is not None:
            _add_sum(by_employee, (n, employee_id), float(total), scored)
    return _Trends(_means(overall), _means(by_store), _means(by_employee))


def _add_sum(sums: dict[T, list[float]], key: T, total: float, count: int) -> None:
    pair = sums.setdefault(key, [0.0, 0])
    pair[0] += total
    pair[1] += count


def _means(sums: Mapping[T, list[float]]) -> dict[T, float]:
    """Percent sums and counts as average fractions."""
    return {key: total / count / 100 for key, (total, count) in sums.items()}


# Standards and employees


@dataclass(frozen=True)
class _ItemInfo:
    checklist_title: str
    section_title: str
    standard: str
    position: int
    channel_rank: int


class _Catalogue:
    """Checklist texts by (checklist, item), from the newest version that has the item.

    Visits keep the version they were answered on; reports compare a standard across
    versions by item id and word it as the newest version does.
    """

    def __init__(self, versions: Iterable[ChecklistVersion], language: str) -> None:
        self.by_version: dict[int, Checklist] = {}
        self.items: dict[StandardKey, _ItemInfo] = {}
        newest: dict[str, Checklist] = {}
        positions: dict[str, int] = {}
        channels = list(Channel)
        for version in sorted(versions, key=lambda v: (v.checklist_id, -v.version)):
            checklist = definition(version)
            self.by_version[version.id] = checklist
            latest = newest.setdefault(checklist.id, checklist)
            for section in checklist.sections:
                for item in section.items:
                    key = (checklist.id, item.id)
                    if key in self.items:
                        continue
                    position = positions.get(checklist.id, 0)
                    positions[checklist.id] = position + 1
                    self.items[key] = _ItemInfo(
                        checklist_title=latest.title.get(language),
                        section_title=section.title.get(language),
                        standard=item.standard_name(language),
                        position=position,
                        channel_rank=channels.index(latest.channel),
                    )

    @classmethod
    def load(cls, session: Session, language: str) -> _Catalogue:
        return cls(session.scalars(select(ChecklistVersion)).all(), language)

    def info(self, key: StandardKey) -> _ItemInfo:
        found = self.items.get(key)
        if found is None:
            return _ItemInfo(key[0], "", key[1], len(self.items), len(Channel))
        return found

    def order(self, key: StandardKey) -> tuple[str, int]:
        """Checklist id, then the item's place in the checklist."""
        return key[0], self.info(key).position


MetCounts = dict[tuple[str, str, int], tuple[int, int]]
"""(checklist, item, store or employee id) → (visits that met it fully, visits where it
counted)."""


def _met_counts(session: Session, window: _Window) -> tuple[MetCounts, MetCounts]:
    """Per store and per employee, in one pass over the week's answers.

    One answer per item per visit (unique index), so counting answers counts visits.
    """
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
        .where(*window.submitted(), Answer.score.is_not(None))
        .group_by(ChecklistVersion.checklist_id, Answer.item_id, Visit.store_id, Visit.employee_id)
    )
    by_store: MetCounts = {}
    by_employee: MetCounts = {}
    for checklist_id, item_id, store_id, employee_id, met, rated in session.execute(query):
        _add(by_store, (checklist_id, item_id, int(store_id)), int(met), int(rated))
        if employee_id is not None:
            # An employee who moved has visits under two stores: their counts add up.
            _add(by_employee, (checklist_id, item_id, int(employee_id)), int(met), int(rated))
    return by_store, by_employee


def _add(counts: MetCounts, key: tuple[str, str, int], met: int, counted: int) -> None:
    before_met, before_counted = counts.get(key, (0, 0))
    counts[key] = (before_met + met, before_counted + counted)


def _standards(
    catalogue: _Catalogue,
    codes: Mapping[int, str],
    row_codes: Sequence[str],
    met_by_store: MetCounts,
) -> list[StandardRow]:
    per_store: dict[StandardKey, dict[str, tuple[int, int]]] = {}
    for (checklist_id, item_id, store_id), pair in met_by_store.items():
        per_store.setdefault((checklist_id, item_id), {})[codes[store_id]] = pair
    rows = []
    for key in sorted(per_store, key=catalogue.order):
        counts = per_store[key]
        info = catalogue.info(key)
        rows.append(
            StandardRow(
                checklist_title=info.checklist_title,
                section_title=info.section_title,
                item_id=key[1],
                standard=info.standard,
                met_share={code: _share(*counts.get(code, (0, 0))) for code in row_codes},
                overall=_share(
                    sum(m for m, _ in counts.values()), sum(c for _, c in counts.values())
                ),
            )
        )
    return rows


def _employees(
    session: Session,
    window: _Window,
    catalogue: _Catalogue,
    codes: Mapping[int, str],
    trends: _Trends,
    met_by_employee: MetCounts,
) -> list[EmployeeRow]:
    query = (
        select(
            Employee.id,
            Employee.code,
            Employee.name,
            Employee.store_id,
            func.count(),
            func.avg(Visit.score),
            func.min(Visit.store_id),
        )
        .select_from(Visit)
        .join(Employee, Employee.id == Visit.employee_id)
        .where(*window.submitted())
        .group_by(Employee.id, Employee.code, Employee.name, Employee.store_id)
    )
    standards: dict[int, dict[StandardKey, tuple[int, int]]] = {}
    for (checklist_id, item_id, employee_id), pair in met_by_employee.items():
        standards.setdefault(employee_id, {})[(checklist_id, item_id)] = pair
    rows = []
    for employee_id, code, name, home_id, visits, average, visit_store_id in session.execute(query):
        rows.append(
            EmployeeRow(
                employee_code=code,
                employee_name=name,
                # The roster's store, unless a manager's scope does not include it (the
                # employee moved): then the store of the visits, which the scope does hold.
                store_code=codes.get(home_id) or codes[visit_store_id],
                visits=int(visits),
                average_score=_fraction(average),
                weakest=_weakest(standards.get(employee_id, {}), catalogue),
                trend=tuple(trends.by_employee.get((n, employee_id)) for n in range(TREND_WEEKS)),
            )
        )
    return sorted(rows, key=lambda r: (r.store_code, r.employee_code))


def _weakest(
    counts: Mapping[StandardKey, tuple[int, int]], catalogue: _Catalogue
) -> tuple[WeakStandard, ...]:
    """What to coach first: the lowest shares below 100 %, ties in checklist order."""
    shares = [(met / counted, key) for key, (met, counted) in counts.items() if met < counted]
    shares.sort(key=lambda pair: (pair[0], catalogue.order(pair[1])))
    return tuple(
        WeakStandard(catalogue.info(key).standard, share) for share, key in shares[:WEAKEST_COUNT]
    )


# Every visit


class _AnswerRow(Protocol):
    """A row of the answers query."""

    visit_id: int
    item_id: str
    value_text: str | None
    value_number: float | None
    na: bool
    comment: str | None


class _Shown:
    """What showing a visit of one checklist version takes, worked out once per report."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.items = {item.id: item for item in checklist.items}
        self.order = {item.id: n for n, item in enumerate(checklist.items)}
        self.conditions = frozenset(
            leaf.item
            for item in checklist.items
            if item.show_if is not None
            for leaf in item.show_if.leaves()
            if leaf.item is not None
        )
        """Items some ``show_if`` reads: the only answers visibility depends on."""
        self.name = f"{checklist.id} v{checklist.version}"
        """The checklist's name in the sheet: one string for all its visits."""


def _visit_sheet(
    session: Session,
    window: _Window,
    scope: Scope,
    catalogue: _Catalogue,
    codes: Mapping[int, str],
    words: Words,
) -> tuple[list[VisitRow], list[UnmatchedEmployee], list[ItemColumn]]:
    """Every visit of the week with its answers as shown.

    Two streamed queries in the same order, the visits and their answers, merged here: the
    answers of a large week are never all in memory at once, and no visit column is read
    again for each of its answers.
    """
    evaluator = Person.pseudonym if scope.shows_evaluators else None
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
            *([evaluator.label("evaluator")] if evaluator is not None else []),
        )
        .outerjoin(Employee, Employee.id == Visit.employee_id)
        .where(*window.submitted())
        .order_by(Visit.submitted_at, Visit.id)
        .execution_options(yield_per=STREAM_CHUNK)
    )
    if evaluator is not None:
        visits = visits.join(Person, Person.id == Visit.evaluator_id)
    answers = (
        select(
            Answer.visit_id,
            Answer.item_id,
            Answer.value_text,
            Answer.value_number,
            Answer.na,
            Answer.comment,
        )
        .join(Visit, Visit.id == Answer.visit_id)
        .where(*window.submitted())
        .order_by(Visit.submitted_at, Visit.id, Answer.id)
        .execution_options(yield_per=STREAM_CHUNK)
    )
    flags: dict[int, list[str]] = {}
    flag_query = (
        select(VisitFlag.visit_id, VisitFlag.kind)
        .join(Visit, Visit.id == VisitFlag.visit_id)
        .where(*window.submitted())
        .order_by(VisitFlag.visit_id, VisitFlag.id)
    )
    connection = session.connection()
    for visit_id, kind in connection.execute(flag_query):
        flags.setdefault(visit_id, []).append(words(f"flag.{kind}"))
    is_photo = Photo.kind == AttachmentKind.PHOTO
    evidence_query = (
        select(
            Photo.visit_id,
            func.count().filter(is_photo),
            func.count().filter(~is_photo),
        )
        .join(Visit, Visit.id == Photo.visit_id)
        .where(*window.submitted())
        .group_by(Photo.visit_id)
    )
    evidence = {v: (p, r) for v, p, r in connection.execute(evidence_query)}
    acknowledged = _acknowledgements(connection, window, words)

    visit_rows = []
    unmatched = []
    answered: set[StandardKey] = set()
    shown_by_version: dict[int, _Shown] = {}
    answers_by_visit = groupby(connection.execute(answers), key=lambda answer: answer.visit_id)
    pending = next(answers_by_visit, None)
    for row in connection.execute(visits):
        rows: list[_AnswerRow] = []
        if pending is not None and pending[0] == row.id:
            rows = list(pending[1])
            pending = next(answers_by_visit, None)
        version = row.checklist_version_id
        if (shown := shown_by_version.get(version)) is None:
            shown = shown_by_version[version] = _Shown(catalogue.by_version[version])
        values, comments = _shown_answers(shown, rows, words)
        answered.update((shown.checklist.id, item_id) for item_id in values)
        visited_at = row.submitted_at.astimezone(window.zone).replace(tzinfo=None)
        store_code = codes[row.store_id]
        visit_rows.append(
            VisitRow(
                visit_id=row.id,
                visited_at=visited_at,
                store_code=store_code,
                employee_code=row.employee_code or "",
                evaluator=row.evaluator if evaluator is not None else None,
                checklist=shown.name,
                score=_fraction(row.score),
                passed=bool(row.passed),
                critical_failed=bool(row.critical_failed),
                answers=values,
                comments=comments,
                flags="; ".join(flags.get(row.id, [])),
                photos=evidence.get(row.id, (0, 0))[0],
                recordings=evidence.get(row.id, (0, 0))[1],
                acknowledged=acknowledged.get(row.id, ""),
            )
        )
        description = (row.employee_description or "").strip()
        if row.employee_id is None and description:
            unmatched.append(UnmatchedEmployee(row.id, visited_at, store_code, description))
    columns = _item_columns(answered, catalogue)
    return visit_rows, unmatched, columns


def _acknowledgements(connection: Connection, window: _Window, words: Words) -> dict[int, str]:
    """What the store's managers did with each visit's card: how many of those who got it
    saw it, or that one disputed it and where the dispute stands (no card: no entry)."""
    query = (
        select(
            VisitCard.visit_id,
            func.count(VisitCard.sent_at),
            func.count(VisitCard.seen_at),
            func.count(VisitCard.disputed_at),
            func.count(VisitCard.disputed_at).filter(VisitCard.dispute_outcome.is_(None)),
        )
        .join(Visit, Visit.id == VisitCard.visit_id)
        .where(*window.submitted())
        .group_by(VisitCard.visit_id)
    )
    shown = {}
    for visit_id, sent, seen, disputed, waiting in connection.execute(query):
        parts = [words("ack.seen", seen=seen, sent=sent)] if sent else []
        if disputed:
            parts.append(words("ack.disputed" if waiting else "ack.upheld"))
        if parts:
            shown[visit_id] = "; ".join(parts)
    return shown


def _shown_answers(
    shown: _Shown,
    rows: list[_AnswerRow],
    words: Words,
) -> tuple[dict[str, str | float], str]:
    """Answers as the shopper gave them, none for an item left empty; an item hidden by
    ``show_if`` was not asked.

    An answer left behind when an earlier answer changed and hid its item stays in the
    database but did not count, so it is not shown either.
    """
    known = shown.items
    visible = (
        scoring.visible_items(
            shown.checklist,
            {r.item_id: answer_value(r) for r in rows if r.item_id in shown.conditions},
        )
        if shown.conditions
        else known
    )
    values: dict[str, str | float] = {}
    for row in rows:
        item = known.get(row.item_id)
        if item is None or row.item_id in visible:
            value = _shown_value(item, row, words)
            if value is not None:
                # The checklist's own id string: one object for every visit, not one per row.
                values[item.id if item is not None else row.item_id] = value
    commented = sorted((r for r in rows if r.comment), key=lambda r: shown.order.get(r.item_id, -1))
    return values, "\n".join(
        f"{_named(known.get(r.item_id), r.item_id, words.language)}: {r.comment}" for r in commented
    )


def _named(item: Item | None, item_id: str, language: str) -> str:
    """A standard by its short name, as the manager knows it; an item no longer in the
    checklist by its id."""
    return item.standard_name(language) if item is not None else item_id


def _shown_value(item: Item | None, row: _AnswerRow, words: Words) -> str | float | None:
    """The answer as its item type shows it in a workbook; an answer to an item the
    checklist no longer has, as stored."""
    if row.na:
        return words("answer.na")
    value = answer_value(row).value
    if value is None or item is None:
        return float(value) if isinstance(value, int) else value
    return item.kind.cell(item, value, words)


def _item_columns(answered: set[StandardKey], catalogue: _Catalogue) -> list[ItemColumn]:
    """One column per item id, store checklists first, then in checklist order.

    Checklists share some ids (``greeted``, ``nps``); such a column takes the header of the
    first checklist that has it.
    """
    columns: dict[str, ItemColumn] = {}
    for key in sorted(
        answered, key=lambda k: (catalogue.info(k).channel_rank, *catalogue.order(k))
    ):
        if key[1] not in columns:
            columns[key[1]] = ItemColumn(key[1], _short(catalogue.info(key).standard, HEADER_LIMIT))
    return list(columns.values())


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
