"""A shopper's press or typed text inside their draft, read and written with statements
compiled once.

Most updates the bot gets are a shopper answering the question in front of them. Through
the ORM the database work of each cost about 2.6 ms of CPU (a session, an identity map, lazy
loads, a unit of work to flush two rows, a cache key computed for every statement built
anew), as Core statements on a ``Connection`` 0.65 ms; here, in one thread, 0.27 ms against
the bare statements' 0.17 ms (``benchmarks/database_floor.py``). The transaction — the
person and their drafts, the dedup record of the update, the draft's answers and evidence,
the changed visit columns and answer rows, the commit — is five to seven statements
(``storage.prepared``) on the driver's connection.

The draft is handed to ``visits.flow.VisitFlow`` as plain rows (``Loaded``) standing in for
the ORM's ``Visit``, its answers and its related rows, their loaded values in place; what
the flow changed is found by comparing those values afterwards and written with
``UPDATE``/``INSERT`` (an answer the flow adds is the ORM's ``Answer``, in no session).
Anything unusual — a stranger, a repeated update, a returned visit to settle, a button of
another visit — is not handled here: the caller rolls back and takes the full path, which
knows every case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.instrumentation import manager_of_class

from storage.checklist_versions import cached_definition
from storage.drafts import EVIDENCE_COUNTS, LAST_VISIT_TIME, EvidenceCounts, evidence_counts
from storage.models import (
    Answer,
    ChecklistVersion,
    Employee,
    PendingInput,
    Person,
    Store,
    Visit,
    VisitStatus,
    utcnow,
)
from storage.prepared import Statements, update_row
from storage.updates import record_update

VISIT_STATE = (
    "current_item",
    "awaiting",
    "back_to_review",
    "timer_item",
    "timer_started_at",
    "status",
    "employee_id",
    "employee_description",
    "checkin_latitude",
    "checkin_longitude",
    "checkin_at",
    "screen_message_id",
)
"""The visit's columns a shopper's press may change."""
VISIT_READ = (
    "id",
    "store_id",
    "evaluator_id",
    "checklist_version_id",
    "started_at",
    "resubmit_until",
    "asks_employee",
    *VISIT_STATE,
)
ANSWER_READ = ("value_text", "value_number", "na", "comment", "measured")
"""An answer's columns a press reads. ``answered_at`` is only ever written (``visits.flow``
stamps an answer given), so it is not read, nor parsed from SQLite's text, for every answer
of the draft at every press."""
ANSWER_STATE = (*ANSWER_READ, "answered_at")
"""An answer's columns a press may set."""

_visit, _answer = cast(Table, Visit.__table__), cast(Table, Answer.__table__)
_version = cast(Table, ChecklistVersion.__table__)
_store, _employee = cast(Table, Store.__table__), cast(Table, Employee.__table__)
_pending = cast(Table, PendingInput.__table__)

PERSON_AND_DRAFTS = (
    select(
        Person.role,
        Person.active,
        Person.language,
        _pending.c.kind.label("pending"),
        *(_visit.c[name] for name in VISIT_READ),
        _store.c.name.label("store_name"),
        _employee.c.name.label("employee_name"),
        _version.c.checklist_id,
        _version.c.version,
        _version.c.content_hash,
    )
    .select_from(Person.__table__)
    .outerjoin(_pending, _pending.c.person_id == Person.id)
    .outerjoin(
        _visit,
        and_(_visit.c.evaluator_id == Person.id, _visit.c.status == VisitStatus.DRAFT.value),
    )
    .outerjoin(_store, _store.c.id == _visit.c.store_id)
    .outerjoin(_employee, _employee.c.id == _visit.c.employee_id)
    .outerjoin(_version, _version.c.id == _visit.c.checklist_version_id)
    .where(Person.telegram_id == bindparam("telegram_id"))
    .order_by(_visit.c.id.desc())
)
"""The person behind a Telegram id, what their next typed message is awaited for, and each
of their drafts (newest first), in one read."""
PERSON_COLUMNS = [str(column.key) for column in PERSON_AND_DRAFTS.selected_columns]
ANSWERS = select(_answer.c.id, _answer.c.item_id, *(_answer.c[n] for n in ANSWER_READ)).where(
    _answer.c.visit_id == bindparam("visit_id")
)
ANSWER_LOADED = ("id", "item_id", *ANSWER_READ)
"""The columns of ``ANSWERS``, in order."""
ANSWER_COLUMNS = ("visit_id", "item_id", *ANSWER_STATE)
INSERT_ANSWER = insert(_answer).values({name: bindparam(f"new_{name}") for name in ANSWER_COLUMNS})
NEW_VISIT = ("status", "started_at", "asks_employee", "awaiting", "employee_description")
"""A new draft's own columns as ``visits.flow.start_visit`` sets them; the rest are its
related rows' ids, and what ``save`` writes after the flow's first steps."""
NEW_ANSWER = {"na": False, "measured": False}
"""The ORM's defaults for an answer's columns the flow may leave unset (a comment typed
before the answer); ``answered_at`` defaults to now."""
SHOWN = (
    update(_visit)
    .where(_visit.c.id == bindparam("visit_id"), _visit.c.status == VisitStatus.DRAFT.value)
    .values(screen_message_id=bindparam("message_id"))
)
STATEMENTS = Statements()


def _insert_visit(columns: tuple[str, ...]) -> Any:
    return (
        insert(_visit)
        .values({name: bindparam(f"new_{name}") for name in columns})
        .returning(_visit.c.id)
    )


def _changed(state: dict[str, Any], before: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The columns of ``names`` an object holds (in its ``__dict__``) that differ from what
    was loaded; a column not loaded counts as changed once the flow sets it."""
    return {
        name: state[name]
        for name in names
        if name in state and (name not in before or state[name] != before[name])
    }


@dataclass(frozen=True)
class Asker:
    """The person who pressed, as the quick path needs them."""

    language: str | None
    awaited: bool
    """Their next typed message is awaited outside the visit (``PendingInput``)."""


class NotQuick(Exception):
    """This press needs the full path; nothing read or written here counts."""


class QuickDraft:
    """One shopper's press on their draft, inside the caller's transaction."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        """The driver's connection, in a transaction (``Database.write_driver``)."""
        self.dialect = dialect
        self._evidence: EvidenceCounts | None = None
        self._draft_id: int | None = None
        self._before: dict[str, Any] = {}
        self._answers_before: dict[int, tuple[Any, ...]] = {}
        """Each loaded answer's row of ``ANSWERS``, by its id."""

    def load(
        self,
        telegram_id: int,
        update_id: int,
        visit_id: int | None,
        now: datetime,
        roles: Iterable[str],
    ) -> tuple[Asker, Visit]:
        """The person and their draft (``visit_id``, or None: the one they have), the update
        recorded as handled; or ``NotQuick`` when anything needs the full path."""
        found = self._run("person", lambda: PERSON_AND_DRAFTS, telegram_id=telegram_id)
        rows = [dict(zip(PERSON_COLUMNS, row, strict=True)) for row in found]
        if not rows or not rows[0]["active"] or rows[0]["role"] not in roles:
            raise NotQuick("a stranger, or a role that makes no visits")
        latest = rows[0]
        if (
            latest["id"] is None
            or (visit_id is not None and latest["id"] != visit_id)
            or any(
                row["resubmit_until"] is not None and row["resubmit_until"] < now for row in rows
            )
        ):
            raise NotQuick("no such draft, or one to settle first")
        checklist_key = (latest["checklist_id"], latest["version"], latest["content_hash"])
        if cached_definition(checklist_key) is None:
            raise NotQuick("the checklist is not validated in this process yet")
        record_first_time(self.connection, self.dialect, update_id, now)
        asker = Asker(latest["language"], latest["pending"] is not None)
        draft = self._draft(latest)
        counted = self._run("evidence", lambda: EVIDENCE_COUNTS, visit_id=latest["id"])
        self._evidence = evidence_counts(counted)
        return asker, draft

    def _run(self, key: object, statement: Callable[[], Any], **given: Any) -> Any:
        """A statement of this module, prepared once per dialect (``storage.prepared``)."""
        return STATEMENTS.get(self.dialect, key, statement).run(self.connection, given)

    def _draft(self, row: dict[str, Any]) -> Visit:
        self._draft_id = row["id"]
        visit: Visit = loaded({name: row[name] for name in VISIT_READ})
        self._before = {name: row[name] for name in VISIT_STATE}
        visit.__dict__["store"] = loaded({"id": row["store_id"], "name": row["store_name"]})
        visit.__dict__["employee"] = (
            None
            if row["employee_id"] is None
            else loaded({"id": row["employee_id"], "name": row["employee_name"]})
        )
        visit.__dict__["checklist_version"] = loaded(
            {
                "id": row["checklist_version_id"],
                "checklist_id": row["checklist_id"],
                "version": row["version"],
                "content_hash": row["content_hash"],
            }
        )
        answers = []
        for found in self._run("answers", lambda: ANSWERS, visit_id=row["id"]):
            answer = Loaded.__new__(Loaded)
            answer.__dict__.update(zip(ANSWER_LOADED, found, strict=True))
            answers.append(answer)
            self._answers_before[found[0]] = found
        visit.__dict__["answers"] = answers
        return visit

    def evidence_counts(self, visit_id: int) -> EvidenceCounts:
        """Counted when the draft was loaded: nothing a quick press does adds evidence, and
        the flow's work then sends no statement (the meter tells the two apart)."""
        assert self._evidence is not None and visit_id == self._draft_id
        return self._evidence

    def add(self, visit: Visit) -> None:
        """Insert a new draft (``visits.flow.start_visit``'s): its id is known afterwards,
        and what the flow changes next is written by ``save``. Its related objects are the
        quick path's, in no session, so the ids are taken from them."""
        if not self.dialect.insert_returning:
            raise NotQuick("an SQLite older than 3.35 has no RETURNING; the ORM does without")
        row = {name: visit.__dict__.get(name) for name in NEW_VISIT}
        row |= {
            "store_id": visit.store.id,
            "evaluator_id": visit.evaluator.id,
            "checklist_version_id": visit.checklist_version.id,
            "employee_id": visit.employee.id if visit.employee is not None else None,
            "back_to_review": False,
        }
        columns = tuple(row)
        new = {f"new_{name}": value for name, value in row.items()}
        [(visit_id,)] = self._run(("add", columns), lambda: _insert_visit(columns), **new)
        visit.__dict__.update(row, id=visit_id)
        self._draft_id = visit_id
        self._before = {name: visit.__dict__.get(name) for name in VISIT_STATE}
        self._evidence = EvidenceCounts({}, {})

    def last_visit_time(self, evaluator_id: int) -> datetime | None:
        """When the shopper's latest visit ended (``Records.last_visit_time``)."""
        [(ended,)] = self._run("last", lambda: LAST_VISIT_TIME, evaluator_id=evaluator_id)
        return cast(datetime | None, ended)

    def save(self, visit: Visit) -> None:
        """Write what the flow changed: the visit's columns, new and changed answers."""
        self._update(_visit, visit.id, _changed(visit.__dict__, self._before, VISIT_STATE))
        for answer in visit.__dict__["answers"]:
            if answer.id is None:
                values = {name: answer.__dict__.get(name) for name in ANSWER_STATE}
                row = {"visit_id": visit.id, "item_id": answer.item_id, **values}
                for name, default in {**NEW_ANSWER, "answered_at": utcnow()}.items():
                    row[name] = default if row[name] is None else row[name]
                self._run(
                    "insert", lambda: INSERT_ANSWER, **{f"new_{k}": v for k, v in row.items()}
                )
            elif SET in answer.__dict__:  # set since it was loaded, if only to itself
                before = dict(zip(ANSWER_LOADED, self._answers_before[answer.id], strict=True))
                self._update(_answer, answer.id, _changed(answer.__dict__, before, ANSWER_STATE))

    def _update(self, table: Table, row_id: int, changed: dict[str, Any]) -> None:
        """One ``UPDATE`` of the row's changed columns, prepared once per set of them."""
        if not changed:
            return
        columns = tuple(sorted(changed))
        new = {f"new_{name}": value for name, value in changed.items()}
        key = (table.name, columns)
        self._run(key, lambda: update_row(table, columns), row_id=row_id, **new)


def shown(connection: Any, dialect: Dialect, visit_id: int, message_id: int) -> None:
    """Record ``message_id`` as the draft's live question (a visit no longer a draft keeps
    what it had)."""
    given = {"visit_id": visit_id, "message_id": message_id}
    STATEMENTS.get(dialect, "shown", lambda: SHOWN).run(connection, given)


def record_first_time(connection: Any, dialect: Dialect, update_id: int, now: datetime) -> None:
    """Record the update as handled, in the caller's transaction; ``NotQuick`` if it was
    handled before (the full path shows the current screen again)."""
    given = {"update_id": update_id, "handled_at": now}
    prepared = STATEMENTS.get(dialect, "record", lambda: record_update(dialect.name))
    if not prepared.run(connection, given).rowcount:
        raise NotQuick("a repeated update")


class Loaded:
    """A row of the draft as the quick path loaded it, standing in for the ORM's object of
    its class (``Visit``, ``Answer``, ``Store``, ``Employee``, ``ChecklistVersion``) for the
    flow, which only reads and sets their columns (and the visit's related rows, as
    attributes). Reading one is a dictionary look-up, about a tenth of what the ORM's
    instrumented attribute costs, and making one a quarter of making the ORM's object in no
    session: a press makes one for each answer of the draft, and the flow reads them dozens
    of times. Setting an attribute marks the row (``SET``), so that ``QuickDraft.save``
    compares only the rows the flow touched."""

    def __setattr__(self, name: str, value: object) -> None:
        self.__dict__[name] = value
        self.__dict__[SET] = True


SET = "_set_since_loaded"
"""The key a ``Loaded`` row holds once an attribute of it is set."""


def loaded(values: dict[str, Any]) -> Any:
    """A ``Loaded`` row holding ``values``, typed as the ORM's object it stands in for."""
    row = Loaded.__new__(Loaded)
    row.__dict__.update(values)
    return row


def transient(cls: type[Any], values: dict[str, Any]) -> Any:
    """An instance of a mapped class holding ``values`` as loaded, in no session, made
    without ``__init__`` and its events, as the ORM makes the objects it loads: for the rows
    the pickers hand to ``visits.flow.start_visit``, whose new ``Visit`` takes them as its
    related objects (a ``Loaded`` row would not do there)."""
    instance = manager_of_class(cls).new_instance()
    instance.__dict__.update(values)
    return instance
