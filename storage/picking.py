"""What the pickers of a new visit read: the stores, the shopper's assigned stores and open
assignments, the checklist versions, the store's employees.

Two shelves answer the same questions: ``SessionShelf`` through the ORM inside the full
path's session, and ``storage.quick_pickers.QuickShelf`` with statements compiled once, for a
shopper who has no draft (most of a visit's first updates). The pickers
(``bot.service.pickers``) build their screens from either the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session, defer

from storage.models import (
    Assignment,
    AssignmentStatus,
    ChecklistVersion,
    Employee,
    Store,
    person_store,
)
from storage.prepared import in_session

NO_DEFINITION = defer(ChecklistVersion.definition)
"""A version's definition (its whole checklist) stays out of a picker's query:
``storage.checklist_versions.definition`` has it validated already, and loads it if not."""


def open_assignments_of(person_id: Any, today: Any) -> tuple[ColumnElement[bool], ...]:
    """The shopper's open assignments whose window has begun on ``today`` (values, or bound
    parameters of a statement built once)."""
    return (
        Assignment.evaluator_id == person_id,
        Assignment.status == AssignmentStatus.OPEN,
        Assignment.opens_on <= today,
        Assignment.closes_on >= today,
    )


OPEN_FIRST_TO_CLOSE = (Assignment.closes_on, Assignment.id)


OPEN_FOR = (
    select(Assignment)
    .where(*open_assignments_of(bindparam("person_id"), bindparam("today")))
    .order_by(*OPEN_FIRST_TO_CLOSE)
)


def fulfilled_by(
    session: Session, evaluator_id: int, store_id: int, checklist_id: str, today: date
) -> int | None:
    """The id of the shopper's open assignment a visit of ``checklist_id`` to ``store_id``
    fulfils on ``today``, the soonest to close; None if there is none. Every submission
    asks: one statement prepared once (``storage.prepared``), no objects."""
    prepared, driver = in_session(session, FULFILLED_BY)
    given = {"person_id": evaluator_id, "today": today}
    found = prepared.run(driver, given | {"store_id": store_id, "checklist_id": checklist_id})
    return int(found[0][0]) if found else None


FULFILLED_BY = (
    select(Assignment.id)
    .where(
        *open_assignments_of(bindparam("person_id"), bindparam("today")),
        Assignment.store_id == bindparam("store_id"),
        Assignment.checklist_id == bindparam("checklist_id"),
    )
    .order_by(*OPEN_FIRST_TO_CLOSE)
    .limit(1)
)


def open_for(session: Session, evaluator_id: int, today: date) -> list[Assignment]:
    """A shopper's open assignments whose window has begun, the soonest to close first."""
    return list(session.scalars(OPEN_FOR, {"person_id": evaluator_id, "today": today}))


@dataclass(frozen=True)
class OpenAssignment:
    """An assignment as the store picker offers it: where, what, until when."""

    store: Store
    checklist_id: str
    closes_on: date


class Shelf(Protocol):
    def active_stores(self) -> list[Store]:
        """Every active store, by name."""
        ...

    def assigned_store_ids(self, person_id: int) -> set[int]: ...

    def open_assignments(self, person_id: int, today: date) -> list[OpenAssignment]:
        """The shopper's open assignments whose window has begun, the soonest to close
        first (``open_for``)."""
        ...

    def store(self, store_id: int) -> Store | None: ...

    def version(self, version_id: int) -> ChecklistVersion | None: ...

    def versions(self, version_ids: Collection[int]) -> list[ChecklistVersion]:
        """These versions, by checklist id."""
        ...

    def employees(self, store_id: int) -> list[Employee]:
        """The store's active employees, by name."""
        ...

    def employee(self, employee_id: int) -> Employee | None: ...


@dataclass(frozen=True)
class SessionShelf:
    """The pickers' reads through the ORM: the objects are the session's, so a visit
    started from them refers to them."""

    session: Session

    def active_stores(self) -> list[Store]:
        return list(self.session.scalars(select(Store).where(Store.active).order_by(Store.name)))

    def assigned_store_ids(self, person_id: int) -> set[int]:
        found = select(person_store.c.store_id).where(person_store.c.person_id == person_id)
        return set(self.session.scalars(found))

    def open_assignments(self, person_id: int, today: date) -> list[OpenAssignment]:
        return [
            OpenAssignment(a.store, a.checklist_id, a.closes_on)
            for a in open_for(self.session, person_id, today)
        ]

    def store(self, store_id: int) -> Store | None:
        return self.session.get(Store, store_id)

    def version(self, version_id: int) -> ChecklistVersion | None:
        return self.session.get(ChecklistVersion, version_id, options=[NO_DEFINITION])

    def versions(self, version_ids: Collection[int]) -> list[ChecklistVersion]:
        return list(
            self.session.scalars(
                select(ChecklistVersion)
                .options(NO_DEFINITION)
                .where(ChecklistVersion.id.in_(version_ids))
                .order_by(ChecklistVersion.checklist_id)
            )
        )

    def employees(self, store_id: int) -> list[Employee]:
        return list(
            self.session.scalars(
                select(Employee)
                .where(Employee.store_id == store_id, Employee.active)
                .order_by(Employee.name)
            )
        )

    def employee(self, employee_id: int) -> Employee | None:
        return self.session.get(Employee, employee_id)
