"""One workbook's figures, derived from the week read once (``exports.week_figures``).

A scope is a filter on store ids: a manager's report is made of their stores' sums, visits
and actions only, with the network beside them as anonymous totals; HR's holds no shopper
pseudonym. A language is a choice of texts: standard names, answers, flags and statuses are
worded here, each distinct one once per language.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any, TypeVar, overload
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from checklists.item_types import Words
from checklists.schema import Channel, Checklist, Item
from exports.report_data import (
    ActionRow,
    CoachingRow,
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
from exports.week_figures import (
    NA,
    ActionFacts,
    Subset,
    Sums,
    VisitFacts,
    WeekFigures,
    compute_week,
)
from exports.weeks import Week

WEAKEST_COUNT = 3
MIN_OTHER_STORES = 3
"""Stores besides a manager's own that must have been visited for the network's figures
to be shown to them: fewer, and the difference would name them."""
HEADER_LIMIT = 60
MEMO_TEXT = 40
"""Answers up to this long (options, numbers, short words) are worded once per language."""
DEFAULT_LABELS = {
    "answer.yes": "yes",
    "answer.no": "no",
    "answer.na": "N/A",
    "answer.seconds": "{seconds} s",
    "answer.none_chosen": "none of these",
    "ack.seen": "seen by {seen} of {sent}",
    "ack.disputed": "disputed, under review",
    "ack.upheld": "disputed, the visit stands",
    "owner.managers": "store managers",
    "result.not_met": "not met",
    "result.partly_met": "partly met",
    "result.critical": "critical",
}

R = TypeVar("R")
T = TypeVar("T")
StandardKey = tuple[str, str]
"""(checklist id, item id): a standard is compared across versions by its stable item id."""


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
    return report_for(compute_week(session, week, zone, now), scope, language, labels)


def report_for(
    figures: WeekFigures, scope: Scope, language: str, labels: Words | None = None
) -> Report:
    """The workbook of ``scope`` in ``language``, from the week read once."""
    words = labels or _PlainWords(language)
    texts = _Texts.of(figures, language, words)
    stores = [s for s in figures.stores if not scope.restricted or s.code in scope.store_codes]
    store_ids = {s.id for s in stores}
    sums = _StoreSums(figures)
    this = figures.this_week
    rows = [s for s in stores if s.active or sums.get(this, [s.id]).visits]
    codes = {s.id: s.code for s in figures.stores}
    store_rows = [_store_row(s.code, s.name, sums, [s.id]) for s in rows]
    all_ids = [s.id for s in figures.stores]
    network_stores = [s for s in figures.stores if s.active or sums.get(this, [s.id]).visits]
    others = [s.id for s in figures.stores if s.id not in store_ids]

    def anonymous(week: int) -> bool:
        """The network beside a manager's stores hides the others only when there are
        enough of them: with one other store, network minus own stores would be that
        store."""
        return scope.restricted and sums.visited(week, others) >= MIN_OTHER_STORES

    total = _store_row("", "", sums, [s.id for s in rows]) if rows else None
    network = _store_row("", "", sums, all_ids) if anonymous(this) else None
    trend = [
        TrendPoint(
            week=trend_week,
            average_score=sums.get(n, store_ids).average,
            per_store={s.code: sums.get(n, [s.id]).average for s in rows},
            network=sums.get(n, all_ids).average if anonymous(n) else None,
            pass_mark=sums.get(n, store_ids).pass_mark,
        )
        for n, trend_week in enumerate(figures.trend_weeks)
    ]
    visits = _scope_visits(figures, store_ids)
    evaluators = scope.shows_evaluators
    return Report(
        week=figures.week,
        scope=scope,
        language=language,
        generated_at=figures.generated_at,
        generated_local=figures.generated_at.astimezone(figures.zone).replace(tzinfo=None),
        stores=store_rows,
        total=total,
        network=network,
        network_stores=len(network_stores) if network is not None else 0,
        standards=_standards(figures, texts, codes, store_ids, [s.code for s in rows]),
        employees=_employees(figures, texts, codes, store_ids),
        unmatched=[
            UnmatchedEmployee(v.id, v.visited_at, codes[v.store_id], v.description)
            for v in visits.having("description")
            if v.employee_id is None
        ],
        item_columns=_item_columns(figures, texts, visits),
        visits=_Made(visits, _VisitRows(texts, codes, evaluators), len(visits)),
        trend=trend,
        actions=_actions(figures, texts, codes, store_ids),
        coaching=_coaching(figures, texts, codes, visits),
    )


@dataclass(frozen=True)
class _PlainWords:
    """Labels for a report built without a catalogue (tests, benchmarks): plain English."""

    language: str

    def __call__(self, key: str, **params: object) -> str:
        return DEFAULT_LABELS.get(key, key.rpartition(".")[2]).format(**params)


# Sums of stores


class _StoreSums:
    """The week's cells summed per (week, store), and over any set of stores."""

    def __init__(self, figures: WeekFigures) -> None:
        memo = figures.memo.get("store sums")
        if memo is None:
            memo = figures.memo["store sums"] = _by_store_version(figures)
        self.by_version: dict[tuple[int, int], dict[int, Sums]] = memo[0]
        self.keys: dict[int, tuple[str, frozenset[str]]] = memo[1]
        self.this_week = figures.this_week

    def get(self, week: int, store_ids: Iterable[int]) -> Sums:
        total = Sums()
        for store_id in store_ids:
            for sums in self.by_version.get((week, store_id), {}).values():
                total.add(sums)
        return total

    def change(self, week: int, store_ids: Sequence[int]) -> float | None:
        """This week's average minus the week before's, like for like: per store and per
        checklist and item set scored in both weeks, weighted by this week's scored visits.
        Stores are never compared with each other: one visited only last week and another
        only this week make no change."""
        weighted, weight = 0.0, 0
        for store_id in store_ids:
            before = self._by_key(week - 1, store_id)
            for key, sums in self._by_key(week, store_id).items():
                earlier = before.get(key)
                if earlier is None or sums.average is None or earlier.average is None:
                    continue
                weighted += sums.scored * (sums.average - earlier.average)
                weight += sums.scored
        return weighted / weight if weight else None

    def _by_key(self, week: int, store_id: int) -> dict[tuple[str, frozenset[str]], Sums]:
        sums: dict[tuple[str, frozenset[str]], Sums] = {}
        for version, part in self.by_version.get((week, store_id), {}).items():
            sums.setdefault(self.keys[version], Sums()).add(part)
        return sums

    def visited(self, week: int, store_ids: Iterable[int]) -> int:
        """How many of ``store_ids`` had a counted visit in ``week``."""
        return sum(1 for store_id in store_ids if (week, store_id) in self.by_version)


def _by_store_version(
    figures: WeekFigures,
) -> tuple[dict[tuple[int, int], dict[int, Sums]], dict[int, tuple[str, frozenset[str]]]]:
    by_version: dict[tuple[int, int], dict[int, Sums]] = {}
    for (week, store, _, version), sums in figures.cells.items():
        by_version.setdefault((week, store), {}).setdefault(version, Sums()).add(sums)
    keys = {
        version_id: (checklist.id, frozenset(item.id for item in checklist.items))
        for version_id, checklist in figures.versions.items()
    }
    return by_version, keys


def _store_row(code: str, name: str, sums: _StoreSums, store_ids: Sequence[int]) -> StoreRow:
    this = sums.this_week
    week = sums.get(this, store_ids)
    return StoreRow(
        store_code=code,
        store_name=name,
        visits=week.visits,
        average_score=week.average,
        pass_rate=week.pass_rate,
        critical_failures=week.critical,
        nps=week.nps,
        change=sums.change(this, store_ids),
        pass_mark=week.pass_mark,
    )


# Texts of one language


@dataclass(frozen=True)
class _ItemInfo:
    checklist_title: str
    section_title: str
    standard: str
    position: int
    channel_rank: int
    scored: bool = True
    """Weighs in the score: a weight-0 item (a question that only decides what is asked
    next) is not a standard to meet."""


class _Texts:
    """The week's texts in one language, worked out once and shared by its workbooks.

    Standards are worded as the newest version that has them (visits keep the version they
    were answered on; reports compare a standard across versions by item id).
    """

    def __init__(self, figures: WeekFigures, language: str, words: Words) -> None:
        self.language, self.words = language, words
        self.versions = figures.versions
        self.items: dict[StandardKey, _ItemInfo] = {}
        self.names: dict[int, str] = {}
        """A version's name in the Visits sheet: one string for all its visits."""
        self.titles: dict[int, str] = {}
        self.answers: dict[tuple[int, int, object], str | float] = {}
        newest: dict[str, Checklist] = {}
        positions: dict[str, int] = {}
        channels = list(Channel)
        ordered = sorted(figures.versions.items(), key=lambda p: (p[1].id, -p[1].version))
        for version_id, checklist in ordered:
            self.names[version_id] = f"{checklist.id} v{checklist.version}"
            self.titles[version_id] = checklist.title.get(language)
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
                        scored=(_item(latest, item.id) or item).scored,
                    )
        self.na = words("answer.na")
        self.flags: dict[str, str] = {}
        self.shown_of: dict[int, Callable[[VisitFacts], dict[str, str | float]]] = {}

    @classmethod
    def of(cls, figures: WeekFigures, language: str, words: Words) -> _Texts:
        key = ("texts", language)
        texts = figures.memo.get(key)
        if texts is None:
            texts = figures.memo[key] = cls(figures, language, words)
        assert isinstance(texts, _Texts)
        return texts

    def info(self, key: StandardKey) -> _ItemInfo:
        found = self.items.get(key)
        if found is None:
            return _ItemInfo(key[0], "", key[1], len(self.items), len(Channel))
        return found

    def order(self, key: StandardKey) -> tuple[str, int]:
        """Checklist id, then the item's place in the checklist."""
        return key[0], self.info(key).position

    def answer(self, version_id: int, position: int, value: object) -> str | float:
        """An answer as its item type shows it in a workbook cell."""
        if value.__class__ is str and len(value) > MEMO_TEXT:
            # Free text is seldom repeated: worked out each time rather than kept.
            return self._cell(version_id, position, value)
        key = (version_id, position, value)
        shown = self.answers.get(key)
        if shown is None:
            shown = self.answers[key] = self._cell(version_id, position, value)
        return shown

    def _cell(self, version_id: int, position: int, value: object) -> str | float:
        if value is NA:
            return self.na
        item = self.versions[version_id].items[position]
        return item.kind.cell(item, value, self.words)  # type: ignore[arg-type]

    def said(self, version_id: int, position: int, value: object) -> str:
        """An answer as the shopper saw it in the chat ("45 s"), for reading in a sentence."""
        if value is NA:
            return self.na
        item = self.versions[version_id].items[position]
        return item.kind.shown(item, value, self.words)  # type: ignore[arg-type]

    def shown(self, visit: VisitFacts) -> dict[str, str | float]:
        """Per item id, the visit's answers as shown; none for an item not asked."""
        values: dict[str, str | float] = {}
        items = self.versions[visit.version_id].items
        for position, value in enumerate(visit.answers):
            if value is not None:
                values[items[position].id] = self.answer(visit.version_id, position, value)
        for item_id, value in visit.extra:
            values[item_id] = float(value) if isinstance(value, int) else value  # type: ignore[assignment]
        return values

    def comments(self, visit: VisitFacts) -> str:
        """Every comment, each after its standard's short name, as the manager knows it."""
        if not visit.comments:
            return ""
        checklist = self.versions[visit.version_id]
        return "\n".join(
            f"{self.standard(checklist, item_id)}: {comment}" for item_id, comment in visit.comments
        )

    def standard(self, checklist: Checklist, item_id: str) -> str:
        """An item no longer in the checklist is named by its id."""
        item = _item(checklist, item_id)
        return item.standard_name(self.language) if item is not None else item_id

    def flag(self, kind: str) -> str:
        text = self.flags.get(kind)
        if text is None:
            text = self.flags[kind] = self.words(f"flag.{kind}")
        return text

    def cards(self, counts: tuple[int, int, int, int] | None) -> str:
        """How many managers who got the card saw it, or that one disputed it and where the
        dispute stands."""
        if counts is None:
            return ""
        sent, seen, disputed, waiting = counts
        parts = [self.words("ack.seen", seen=seen, sent=sent)] if sent else []
        if disputed:
            parts.append(self.words("ack.disputed" if waiting else "ack.upheld"))
        return "; ".join(parts)


# Visits


def _scope_visits(figures: WeekFigures, store_ids: set[int]) -> Subset:
    """The scope's visits in time order: every visit, one store's, or a merge of stores'."""
    table = figures.visits
    if len(store_ids) >= len(figures.stores):
        return Subset(table, range(len(table)))
    lists = [figures.by_store.get(store_id, []) for store_id in sorted(store_ids)]
    lists = [indexes for indexes in lists if indexes]
    indexes = lists[0] if len(lists) == 1 else list(heapq.merge(*lists))
    return Subset(table, indexes)


class _Made(Sequence[R]):
    """Rows made from the week's records as they are read, not kept: the long sheets of a
    large week (every visit, every shortfall) would otherwise be held once per workbook."""

    def __init__(self, records: Sequence[T], make: Callable[[T], Iterable[R]], count: int) -> None:
        self.records, self.make, self.size = records, make, count

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[R]:
        return chain.from_iterable(map(self.make, self.records))

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[R]: ...

    def __getitem__(self, index: int | slice) -> R | Sequence[R]:
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        """Equal to a list of the same rows, as the list it stands for would be."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class _VisitRows:
    """A visit as the Visits sheet shows it."""

    def __init__(self, texts: _Texts, codes: Mapping[int, str], evaluators: bool) -> None:
        self.texts, self.codes, self.evaluators = texts, codes, evaluators

    def __call__(self, visit: VisitFacts) -> tuple[VisitRow]:
        return (self._row(visit),)

    def _row(self, visit: VisitFacts) -> VisitRow:
        texts = self.texts
        return VisitRow(
            visit_id=visit.id,
            visited_at=visit.visited_at,
            store_code=self.codes[visit.store_id],
            employee_code=visit.employee_code,
            evaluator=visit.evaluator if self.evaluators else None,
            checklist=texts.names[visit.version_id],
            score=visit.score,
            passed=visit.passed,
            critical_failed=visit.critical,
            answers=texts.shown(visit),
            comments=texts.comments(visit),
            flags="; ".join(map(texts.flag, visit.flags)),
            photos=visit.photos,
            recordings=visit.recordings,
            acknowledged=texts.cards(visit.cards),
        )


def _item_columns(figures: WeekFigures, texts: _Texts, visits: Subset) -> list[ItemColumn]:
    """One column per item id answered in the scope, store checklists first, then in
    checklist order. Checklists share some ids (``greeted``, ``nps``); such a column takes
    the header of the first checklist that has it."""
    answered: set[StandardKey] = set()
    table = visits.table
    # Which items each version's visits answered: each pattern once.
    shapes = {(table.versions[n], table.shape(n)) for n in visits.indexes}
    for version_id, shape in shapes:
        checklist = figures.versions[version_id]
        answered.update(
            (checklist.id, item.id)
            for item, shown in zip(checklist.items, shape, strict=True)
            if shown
        )
    for visit in visits.having("extra"):
        checklist = figures.versions[visit.version_id]
        answered.update((checklist.id, item_id) for item_id, _ in visit.extra)
    columns: dict[str, ItemColumn] = {}
    for key in sorted(answered, key=lambda k: (texts.info(k).channel_rank, *texts.order(k))):
        if key[1] not in columns:
            columns[key[1]] = ItemColumn(key[1], _short(texts.info(key).standard, HEADER_LIMIT))
    return list(columns.values())


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Standards, employees, coaching


def _share(met: int, counted: int) -> float | None:
    return met / counted if counted else None


def _standards(
    figures: WeekFigures,
    texts: _Texts,
    codes: Mapping[int, str],
    store_ids: set[int],
    row_codes: Sequence[str],
) -> list[StandardRow]:
    per_store: dict[StandardKey, dict[str, tuple[int, int]]] = {}
    for (checklist_id, item_id, store_id, _), (met, rated) in figures.met.items():
        if store_id in store_ids:
            counts = per_store.setdefault((checklist_id, item_id), {})
            before = counts.get(codes[store_id], (0, 0))
            counts[codes[store_id]] = (before[0] + met, before[1] + rated)
    rows = []
    for key in sorted(per_store, key=texts.order):
        counts = per_store[key]
        info = texts.info(key)
        if not info.scored:
            continue
        met = sum(m for m, _ in counts.values())
        rated = sum(c for _, c in counts.values())
        rows.append(
            StandardRow(
                checklist_title=info.checklist_title,
                section_title=info.section_title,
                item_id=key[1],
                standard=info.standard,
                met_share={code: _share(*counts.get(code, (0, 0))) for code in row_codes},
                overall=_share(met, rated),
                counted={code: counts.get(code, (0, 0))[1] for code in row_codes},
                overall_counted=rated,
            )
        )
    return rows


def _employees(
    figures: WeekFigures, texts: _Texts, codes: Mapping[int, str], store_ids: set[int]
) -> list[EmployeeRow]:
    """The week's employees of the scope's stores, each with their trend in those stores."""
    this = figures.this_week
    weekly: dict[tuple[int, int], Sums] = {}
    visit_stores: dict[int, int] = {}
    for (week, store_id, employee_id, _), sums in figures.cells.items():
        if employee_id is None or store_id not in store_ids:
            continue
        weekly.setdefault((week, employee_id), Sums()).add(sums)
        if week == this:
            visit_stores[employee_id] = min(store_id, visit_stores.get(employee_id, store_id))
    standards: dict[int, dict[StandardKey, tuple[int, int]]] = {}
    for (checklist_id, item_id, store_id, employee_id), (met, rated) in figures.met.items():
        if employee_id is not None and store_id in store_ids:
            # An employee who moved has visits under two stores: their counts add up.
            counts = standards.setdefault(employee_id, {})
            before = counts.get((checklist_id, item_id), (0, 0))
            counts[(checklist_id, item_id)] = (before[0] + met, before[1] + rated)
    rows = []
    for employee_id, visit_store in visit_stores.items():
        employee = figures.employees[employee_id]
        this_week = weekly[(this, employee_id)]
        rows.append(
            EmployeeRow(
                employee_code=employee.code,
                employee_name=employee.name,
                # The roster's store, unless the scope does not include it (the employee
                # moved): then the store of the visits, which the scope does hold.
                store_code=codes[employee.store_id]
                if employee.store_id in store_ids
                else codes[visit_store],
                visits=this_week.visits,
                average_score=this_week.average,
                weakest=_weakest(standards.get(employee_id, {}), texts),
                trend=tuple(
                    weekly[(n, employee_id)].average if (n, employee_id) in weekly else None
                    for n in range(len(figures.trend_weeks))
                ),
                active=employee.active,
            )
        )
    return sorted(rows, key=lambda r: (r.store_code, r.employee_code))


def _weakest(
    counts: Mapping[StandardKey, tuple[int, int]], texts: _Texts
) -> tuple[WeakStandard, ...]:
    """What to coach first: the lowest shares below 100 %, ties in checklist order."""
    shares = [
        (met / rated, key)
        for key, (met, rated) in counts.items()
        if met < rated and texts.info(key).scored
    ]
    shares.sort(key=lambda pair: (pair[0], texts.order(pair[1])))
    return tuple(
        WeakStandard(texts.info(key).standard, share, *counts[key])
        for share, key in shares[:WEAKEST_COUNT]
    )


def _coaching(
    figures: WeekFigures, texts: _Texts, codes: Mapping[int, str], visits: Subset
) -> Sequence[CoachingRow]:
    """Per employee, each standard a visit found not fully met, with the shopper's comment;
    by store, employee and time (the table's order is time's)."""
    table = visits.table
    # One int per visit to sort by, not a tuple: a large week has 100,000 of them.
    store_rank = {store_id: n for n, store_id in enumerate(sorted(codes, key=codes.__getitem__))}
    by_code = sorted(figures.employees.values(), key=lambda e: e.code)
    employee_rank = {employee.id: n for n, employee in enumerate(by_code)}
    coached, count = [], 0
    for n in visits.indexes:
        employee_id, shortfalls = table.employees[n], table.shortfall_count(n)
        if employee_id and shortfalls:
            coached.append(n)
            count += shortfalls
    width = len(employee_rank) + 1
    # Stable: within an employee, the table's order, which is time's.
    coached.sort(
        key=lambda n: store_rank[table.stores[n]] * width + employee_rank[table.employees[n]]
    )
    return _Made(Subset(table, coached), _Shortfalls(figures, texts, codes), count)


class _Shortfalls:
    """A visit's shortfalls as the Coaching sheet's rows."""

    def __init__(self, figures: WeekFigures, texts: _Texts, codes: Mapping[int, str]) -> None:
        self.figures, self.texts, self.codes = figures, texts, codes
        words = texts.words
        self.not_met, self.partly = words("result.not_met"), words("result.partly_met")
        self.critical = f"{self.not_met} ({words('result.critical')})"

    def __call__(self, visit: VisitFacts) -> list[CoachingRow]:
        texts = self.texts
        assert visit.employee_id is not None
        employee = self.figures.employees[visit.employee_id]
        checklist = self.figures.versions[visit.version_id]
        comments = dict(visit.comments)
        rows = []
        for code in visit.shortfalls:
            position, partly = divmod(code, 2)
            item = checklist.items[position]
            rows.append(
                CoachingRow(
                    employee_code=employee.code,
                    employee_name=employee.name,
                    store_code=self.codes[visit.store_id],
                    visited_at=visit.visited_at,
                    visit_id=visit.id,
                    checklist=texts.titles[visit.version_id],
                    # Worded as the Standards sheet words it: the newest version's name.
                    standard=texts.info((checklist.id, item.id)).standard,
                    result=self.partly
                    if partly
                    else (self.critical if item.critical else self.not_met),
                    answer=texts.said(visit.version_id, position, visit.answers[position]),
                    comment=comments.get(item.id, ""),
                )
            )
        return rows


# Actions


def _actions(
    figures: WeekFigures, texts: _Texts, codes: Mapping[int, str], store_ids: set[int]
) -> list[ActionRow]:
    """The stores' corrective actions of the week, each as it stood when the week ended."""
    return [
        _action_row(action, figures, texts, codes[action.store_id])
        for action in figures.actions
        if action.store_id in store_ids
    ]


def _action_row(
    action: ActionFacts, figures: WeekFigures, texts: _Texts, store_code: str
) -> ActionRow:
    """Where an action stood at the week's end, from the times it was closed, reopened and
    verified: a closing or verification after the week is not yet there; a reopening after
    it leaves the action closed, due as it was before."""
    _, end = figures.week.utc_range(figures.zone)
    next_monday = figures.week.monday + timedelta(days=7)

    def by_end(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and moment < end else None

    def local(moment: datetime | None) -> Any:
        return moment.astimezone(figures.zone).date() if moment is not None else None

    done, verified, reopened = (
        by_end(action.done_at),
        by_end(action.verified_at),
        by_end(action.reopened_at),
    )
    due = action.due_on
    if action.reopened_at is not None and reopened is None and action.due_before_reopen:
        due = action.due_before_reopen
    if reopened is not None and done is not None and done < reopened:
        done = None
    if verified is not None:
        status = "verified"
    elif done is not None:
        status = "closed"
    elif due < next_monday:
        # Due by Sunday at the latest and still open when Monday began, as the bot's own
        # reminders count it on that Monday.
        status = "overdue"
    else:
        status = "reopened" if reopened is not None else "open"
    opened = local(action.created_at)
    closed = local(done) if status in ("closed", "verified") else None
    checklist = figures.versions[action.version_id]
    return ActionRow(
        store_code=store_code,
        visit_id=action.visit_id,
        standard=texts.standard(checklist, action.item_id),
        action=action.action,
        due_on=due,
        owner=action.owner if action.owner is not None else texts.words("owner.managers"),
        status=texts.words(f"status.{status}"),
        opened_on=opened,
        days_open=max(0, ((closed or next_monday) - opened).days),
        closed_on=closed,
        closed_note=action.closed_note if closed is not None else "",
        verified_on=local(verified),
        closed_by=(action.closed_by or "") if closed is not None else "",
    )


def _item(checklist: Checklist, item_id: str) -> Item | None:
    return next((item for item in checklist.items if item.id == item_id), None)
