"""What a weekly workbook shows: computed by ``exports.aggregate``, written by ``exports.workbook``.

Shares and scores are fractions (0.873 is 87.3 %), so the workbook can store numbers with a
percent format; ``None`` means "no data" (an empty cell), never zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from exports.weeks import Week


class ScopeKind(StrEnum):
    ALL = "all"
    HR = "hr"
    STORES = "stores"


@dataclass(frozen=True)
class Scope:
    """Whose data a workbook may hold: everything (admin), all but shopper identities (HR),
    or only some stores (a manager)."""

    kind: ScopeKind
    store_codes: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``all``, ``hr`` or ``store:CODE[,CODE...]``."""
        if text in (ScopeKind.ALL, ScopeKind.HR):
            return cls(ScopeKind(text))
        if text.startswith("store:") and text[6:].strip(","):
            return cls(ScopeKind.STORES, frozenset(c for c in text[6:].split(",") if c))
        raise ValueError(f"not a scope: {text!r}; use all, hr or store:CODE")

    @property
    def label(self) -> str:
        stores = "store:" + ",".join(sorted(self.store_codes))
        if self.kind == ScopeKind.STORES:
            return stores
        return f"{self.kind.value}-{stores}" if self.store_codes else self.kind.value

    @property
    def restricted(self) -> bool:
        """Limited to ``store_codes``: a manager's scope, or a part of a split workbook."""
        return self.kind == ScopeKind.STORES or bool(self.store_codes)

    def only(self, store_code: str) -> Scope:
        """The same audience's view of one store, for splitting an oversized workbook."""
        return Scope(self.kind, frozenset({store_code}))

    @property
    def shows_evaluators(self) -> bool:
        """HR sees nothing about who the shopper was, not even the pseudonym."""
        return self.kind != ScopeKind.HR


@dataclass(frozen=True)
class StoreRow:
    store_code: str
    store_name: str
    visits: int
    average_score: float | None
    pass_rate: float | None
    critical_failures: int
    nps: float | None
    """Net Promoter Score, −100..100 (not a fraction)."""
    change: float | None
    """Average score minus the previous week's, like for like (visits of the same checklist
    and item set both weeks), as a fraction: 0.02 is +2 percentage points."""
    pass_mark: float | None = None
    """The pass mark of the visits' checklists (their mean when they differ), a fraction."""


@dataclass(frozen=True)
class StandardRow:
    checklist_title: str
    section_title: str
    item_id: str
    standard: str
    met_share: dict[str, float | None]
    """Per store code: the share of visits, among those where it counted, that met it fully."""
    overall: float | None
    counted: dict[str, int] = field(default_factory=dict)
    """Per store code: the visits where it counted (the share's n)."""
    overall_counted: int = 0


@dataclass(frozen=True)
class WeakStandard:
    standard: str
    met_share: float
    met: int = 0
    counted: int = 0
    """Visits where it counted (the share's n)."""


@dataclass(frozen=True)
class EmployeeRow:
    employee_code: str
    employee_name: str
    store_code: str
    visits: int
    average_score: float | None
    weakest: tuple[WeakStandard, ...]
    trend: tuple[float | None, ...]
    """Average score in each of ``Report.trend_weeks``, oldest first."""
    active: bool = True
    """Still on the staff list."""


@dataclass(frozen=True)
class UnmatchedEmployee:
    """A visit whose employee was described, not picked: the manager matches it by hand."""

    visit_id: int
    visited_at: datetime
    store_code: str
    description: str


@dataclass(frozen=True)
class ItemColumn:
    item_id: str
    header: str


@dataclass(frozen=True, slots=True)
class VisitRow:
    visit_id: int
    visited_at: datetime
    """Local time of the deployment, without tzinfo (Excel has no zones)."""
    store_code: str
    employee_code: str
    evaluator: str | None
    checklist: str
    score: float | None
    passed: bool
    critical_failed: bool
    answers: dict[str, str | float]
    """Per item id: the answer as shown (text, number, "N/A"); absent when not asked."""
    comments: str
    """Every comment of the visit, each prefixed with its standard's short name, one per line."""
    flags: str = ""
    """Integrity checks the visit failed before an admin accepted it, named in the language."""
    photos: int = 0
    recordings: int = 0
    """Voice notes, audio files and video notes the shopper sent."""
    acknowledged: str = ""
    """What the store's managers did with the visit's card (seen by how many, disputed)."""


@dataclass(frozen=True)
class ActionRow:
    """A corrective action of the week: opened by then, and not verified before it began."""

    store_code: str
    visit_id: int
    standard: str
    action: str
    """What a manager promised (their own ``/followup``); empty for one a visit opened."""
    due_on: date
    owner: str
    """The manager who promised it, or the store's managers (in the report's language)."""
    status: str
    """Open, overdue, reopened, closed or verified, in the report's language."""
    opened_on: date
    days_open: int
    """Local days from opening to closing (to the week's end while still open)."""
    closed_on: date | None = None
    closed_note: str = ""
    verified_on: date | None = None
    closed_by: str = ""
    """The manager who closed it last."""


@dataclass(frozen=True)
class CoachingRow:
    """A standard an employee did not fully meet on a visit of the week: one line of a
    one-to-one."""

    employee_code: str
    employee_name: str
    store_code: str
    visited_at: datetime
    visit_id: int
    checklist: str
    standard: str
    result: str
    """Not met, or partly met, in the report's language."""
    answer: str
    """As the shopper gave it: "No", "45 s"."""
    comment: str


@dataclass(frozen=True)
class TrendPoint:
    week: Week
    average_score: float | None
    per_store: dict[str, float | None] = field(default_factory=dict)
    network: float | None = None
    """The whole network's average, where the report is a manager's (else None)."""
    pass_mark: float | None = None


@dataclass(frozen=True)
class Report:
    week: Week
    scope: Scope
    language: str
    generated_at: datetime
    stores: list[StoreRow]
    standards: list[StandardRow]
    employees: list[EmployeeRow]
    unmatched: list[UnmatchedEmployee]
    item_columns: list[ItemColumn]
    visits: Sequence[VisitRow]
    trend: list[TrendPoint]
    """The last eight weeks, oldest first, ending with ``week``."""
    actions: list[ActionRow] = field(default_factory=list)
    total: StoreRow | None = None
    """The scope's stores together (all stores, for an admin or HR)."""
    network: StoreRow | None = None
    """Every store together, anonymous: a manager's yardstick (None for admins and HR)."""
    network_stores: int = 0
    """How many stores the network's figures cover."""
    coaching: Sequence[CoachingRow] = field(default_factory=list)
    generated_local: datetime | None = None
    """``generated_at`` in the deployment's zone, without tzinfo."""

    @property
    def empty(self) -> bool:
        """No visit of the scope counted this week."""
        return not any(store.visits for store in self.stores)

    @property
    def trend_weeks(self) -> list[Week]:
        return [point.week for point in self.trend]
