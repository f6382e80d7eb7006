"""The database's floor for one update: the quick press's transaction with nothing of ours
around it, for ``python -m benchmarks conversation`` to set beside our figure in the same run.

The issue's goal (database CPU ≤ 0.5 ms per update) is judged in the flat-out run, where three
busy processes share two cores. What part of that is the database's own price, and what part
is ours, is told by doing the same durable work with no SQLAlchemy and no objects at all: the
driver (``sqlite3``) on the same migrated database, the same pragmas (WAL,
``synchronous=FULL``), and for each update the statements of a quick press as our compiled
SQL: ``BEGIN IMMEDIATE``, the person with their drafts, the update's dedup record, the draft's
answers and evidence, the visit's update, the answer's insert, ``COMMIT``; a shopper's first
update inserts their draft instead. Values are given as the driver stores them, with no
conversion. Its thread CPU per update is the floor any form of our per-update path can reach
on this machine under this load.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from storage.drafts import EVIDENCE_COUNTS
from storage.models import ChecklistVersion, Employee, Person, Store, Visit
from storage.prepared import update_row
from storage.quick_drafts import (
    ANSWERS,
    INSERT_ANSWER,
    PERSON_AND_DRAFTS,
    _insert_visit,
)
from storage.updates import record_update

NEW_VISIT = (
    "status",
    "started_at",
    "asks_employee",
    "store_id",
    "evaluator_id",
    "checklist_version_id",
    "employee_id",
    "back_to_review",
)
STORED_TIME = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's ``DateTime`` stores a time in SQLite."""


class Raw:
    """One of our statements compiled for SQLite, run with values as the driver takes them."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=sqlite.dialect()))
        self.sql = compiled.string
        fixed = {n: b.value for n, b in compiled.binds.items() if not b.required}
        self.order = [(name, fixed.get(name)) for name in compiled.positiontup or ()]

    def values(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(given.get(name, value) for name, value in self.order)


PERSON_ID = select(cast(Table, Person.__table__).c.id).where(
    Person.telegram_id == bindparam("telegram_id")
)


class DatabaseFloor:
    """Each update's transaction, bare, and the thread CPU it took."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.person = Raw(PERSON_AND_DRAFTS)
        self.person_id = Raw(PERSON_ID)
        self.record = Raw(record_update("sqlite"))
        self.answers = Raw(ANSWERS)
        self.evidence = Raw(EVIDENCE_COUNTS)
        self.move_on = Raw(update_row(cast(Table, Visit.__table__), ("current_item",)))
        self.insert_answer = Raw(INSERT_ANSWER)
        self.insert_visit = Raw(_insert_visit(NEW_VISIT))
        self.world = self._world()
        self.answered: dict[int, int] = {}
        self.seconds = 0.0
        """Thread CPU of every transaction, whole."""
        self.commits = 0.0
        """Of which the ``COMMIT``s: the WAL's write and its fsync."""
        self.count = 0

    def _world(self) -> dict[str, int]:
        """The store, checklist version and employee every benchmark visit is of."""
        one = self.connection.execute

        def first(table: Any) -> int:
            return int(one(f"SELECT min(id) FROM {table.__tablename__}").fetchone()[0])

        return {
            "new_store_id": first(Store),
            "new_checklist_version_id": first(ChecklistVersion),
            "new_employee_id": first(Employee),
        }

    def handle(self, telegram_id: int, update_id: int) -> None:
        started = time.thread_time()
        run = self.connection.execute
        now = datetime.now(UTC).strftime(STORED_TIME)
        run("BEGIN IMMEDIATE")
        drafts = run(self.person.sql, self.person.values({"telegram_id": telegram_id})).fetchall()
        run(self.record.sql, self.record.values({"update_id": update_id, "handled_at": now}))
        draft = drafts[0][4] if drafts else None  # the visit's id, after the person's columns
        if draft is None:
            person = run(self.person_id.sql, (telegram_id,)).fetchone()[0]
            given = {
                **self.world,
                "new_status": "draft",
                "new_started_at": now,
                "new_asks_employee": 1,
                "new_evaluator_id": person,
                "new_back_to_review": 0,
            }
            run(self.insert_visit.sql, self.insert_visit.values(given)).fetchall()
        else:
            run(self.answers.sql, (draft,)).fetchall()
            run(self.evidence.sql, self.evidence.values({"visit_id": draft})).fetchall()
            answered = self.answered[draft] = self.answered.get(draft, 0) + 1
            item = f"item_{answered}"
            moved = {"new_current_item": item, "row_id": draft}
            run(self.move_on.sql, self.move_on.values(moved))
            answer = {
                "new_visit_id": draft,
                "new_item_id": item,
                "new_value_text": "yes",
                "new_na": 0,
                "new_measured": 0,
                "new_answered_at": now,
            }
            run(self.insert_answer.sql, self.insert_answer.values(answer))
        committing = time.thread_time()
        run("COMMIT")
        ended = time.thread_time()
        self.seconds += ended - started
        self.commits += ended - committing
        self.count += 1
