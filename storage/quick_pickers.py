"""The pickers of a new visit for a shopper with no draft, read with statements compiled
once.

``/visit`` and the store, checklist and employee-list presses are four of a visit's first
updates, and all 200 shoppers of the conversation benchmark send them at once. Through the
ORM each cost 1.9–2.9 ms of CPU (the person, the drafts to settle, the draft, the dedup
record, the pages' queries, each a statement built anew and objects made for every row);
here they are a few statements on the driver's connection (``storage.prepared``), the rows
handed to the pickers as the ORM's own ``Store``, ``ChecklistVersion`` and ``Employee``
objects in no session (``storage.quick_drafts.transient``), so the screens are built by the
same code from either path.

Anything else — a stranger, a draft or a returned visit to look at first, a repeated update,
a checklist not validated in this process yet — is ``NotQuick``: the caller rolls back and
the full path, which knows every case, answers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Date, Table, bindparam, exists, select
from sqlalchemy.engine import Dialect

from storage.checklist_versions import cached_definition
from storage.drafts import to_settle
from storage.models import (
    Assignment,
    ChecklistVersion,
    Employee,
    Person,
    Store,
    Visit,
    person_store,
)
from storage.picking import OPEN_FIRST_TO_CLOSE, OpenAssignment, open_assignments_of
from storage.prepared import Statements
from storage.quick_drafts import NotQuick, record_first_time, transient

_store, _employee = cast(Table, Store.__table__), cast(Table, Employee.__table__)
_version = cast(Table, ChecklistVersion.__table__)

STORE_COLUMNS = ("id", "name", "active", "channels", "latitude", "longitude")
VERSION_COLUMNS = ("id", "checklist_id", "version", "content_hash", "channel")
EMPLOYEE_COLUMNS = ("id", "name", "position", "store_id", "active")

TO_LOOK_AT_FIRST = exists().where(Visit.evaluator_id == Person.id, to_settle(bindparam("now")))
"""A draft, or a returned visit still open to resubmit (``visits.drafts.settle``): either
makes the pickers' answer the full path's."""
PERSON_COLUMNS = (
    "id",
    "role",
    "active",
    "language",
    "last_latitude",
    "last_longitude",
    "last_location_at",
)
"""What the pickers and a new visit's check-in need of the shopper."""
_person = cast(Table, Person.__table__)
PERSON = select(*(_person.c[n] for n in PERSON_COLUMNS), TO_LOOK_AT_FIRST.label("busy")).where(
    _person.c.telegram_id == bindparam("telegram_id")
)
_stores = select(*(_store.c[n] for n in STORE_COLUMNS))
STORES = _stores.where(_store.c.active).order_by(_store.c.name)
STORE = _stores.where(_store.c.id == bindparam("store_id"))
ASSIGNED = select(person_store.c.store_id).where(person_store.c.person_id == bindparam("person_id"))
OPEN_ASSIGNMENTS = (
    select(
        Assignment.checklist_id,
        Assignment.closes_on,
        *(_store.c[n] for n in STORE_COLUMNS),
    )
    .join(_store, _store.c.id == Assignment.store_id)
    .where(*open_assignments_of(bindparam("person_id"), bindparam("today", type_=Date)))
    .order_by(*OPEN_FIRST_TO_CLOSE)
)
VERSIONS = select(*(_version.c[n] for n in VERSION_COLUMNS)).order_by(_version.c.checklist_id)
"""Every version, without its definition: a handful of rows, fewer statements than one per
version and no ``IN`` list to prepare for each count."""
_employees = select(*(_employee.c[n] for n in EMPLOYEE_COLUMNS))
EMPLOYEES = _employees.where(
    _employee.c.store_id == bindparam("store_id"), _employee.c.active
).order_by(_employee.c.name)
EMPLOYEE = _employees.where(_employee.c.id == bindparam("employee_id"))
STATEMENTS = Statements()


class QuickShelf:
    """The pickers' reads (``storage.picking.Shelf``) inside the caller's transaction on the
    driver's connection (``Database.write_driver``)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect

    def load(
        self, telegram_id: int, update_id: int | None, now: datetime, roles: Iterable[str]
    ) -> Person:
        """The shopper (in no session), with nothing to look at first and the update (if
        any) recorded as handled; or ``NotQuick``."""
        found = self._run("person", lambda: PERSON, telegram_id=telegram_id, now=now)
        if not found:
            raise NotQuick("a stranger")
        *columns, busy = found[0]
        person: Person = _row(Person, PERSON_COLUMNS, columns)
        if not person.active or person.role not in roles or busy:
            raise NotQuick("a role that makes no visits, or a draft to look at first")
        if update_id is not None:
            record_first_time(self.connection, self.dialect, update_id, now)
        return person

    def _run(self, key: str, statement: Callable[[], Any], **given: Any) -> Any:
        return STATEMENTS.get(self.dialect, key, statement).run(self.connection, given)

    def active_stores(self) -> list[Store]:
        return [_row(Store, STORE_COLUMNS, row) for row in self._run("stores", lambda: STORES)]

    def assigned_store_ids(self, person_id: int) -> set[int]:
        return {row[0] for row in self._run("assigned", lambda: ASSIGNED, person_id=person_id)}

    def open_assignments(self, person_id: int, today: date) -> list[OpenAssignment]:
        found = self._run("assignments", lambda: OPEN_ASSIGNMENTS, person_id=person_id, today=today)
        return [
            OpenAssignment(_row(Store, STORE_COLUMNS, store), checklist_id, closes_on)
            for checklist_id, closes_on, *store in found
        ]

    def store(self, store_id: int) -> Store | None:
        found = self._run("store", lambda: STORE, store_id=store_id)
        return _row(Store, STORE_COLUMNS, found[0]) if found else None

    def version(self, version_id: int) -> ChecklistVersion | None:
        found = self.versions([version_id])
        return found[0] if found else None

    def versions(self, version_ids: Collection[int]) -> list[ChecklistVersion]:
        """``NotQuick`` for a version whose checklist this process has not validated: the
        full path loads and validates its definition."""
        found = []
        for row in self._run("versions", lambda: VERSIONS):
            if row[0] in version_ids:
                version = _row(ChecklistVersion, VERSION_COLUMNS, row)
                key = (version.checklist_id, version.version, version.content_hash)
                if cached_definition(key) is None:
                    raise NotQuick("a checklist not validated in this process yet")
                found.append(version)
        return found

    def employees(self, store_id: int) -> list[Employee]:
        found = self._run("employees", lambda: EMPLOYEES, store_id=store_id)
        return [_row(Employee, EMPLOYEE_COLUMNS, row) for row in found]

    def employee(self, employee_id: int) -> Employee | None:
        found = self._run("employee", lambda: EMPLOYEE, employee_id=employee_id)
        return _row(Employee, EMPLOYEE_COLUMNS, found[0]) if found else None


def _row(cls: type[Any], columns: tuple[str, ...], row: Iterable[Any]) -> Any:
    return transient(cls, dict(zip(columns, row, strict=True)))
