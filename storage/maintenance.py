"""Operations on a live deployment: consistent backups, voiding visits, planner statistics."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage import actions, cards
from storage.db import Database
from storage.files import private_file
from storage.models import AuditEvent, DisputeOutcome, Visit, VisitStatus, utcnow


class MaintenanceError(Exception):
    """Something an admin asked for that cannot be done; the message says why."""


def backup(database: Database, target: Path) -> Path:
    """A consistent copy of a live SQLite database, taken with SQLite's online backup API.

    The bot may keep writing meanwhile: the copy is of one moment, never half a transaction.
    ``target`` is a file, or a folder (existing, or a name without a suffix) for a dated file.
    """
    if not database.is_sqlite or not database.url.database:
        raise MaintenanceError("msbot backup copies SQLite databases; for PostgreSQL use pg_dump")
    if target.is_dir() or not target.suffix:
        target = target / f"msbot-{utcnow():%Y%m%d-%H%M%S}.sqlite3"
    if target.exists():
        raise MaintenanceError(f"{target} already exists; choose a new file name")
    private_file(target)
    source = sqlite3.connect(database.url.database)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        (result,) = copy.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise MaintenanceError(f"the copy failed its integrity check: {result}")
    finally:
        copy.close()
        source.close()
    return target


def void_visit(
    session: Session, visit_id: int, reason: str, actor: str, now: datetime | None = None
) -> Visit:
    """Exclude a visit from reports without deleting it, and record who did it and why."""
    reason = reason.strip()
    if not reason:
        raise MaintenanceError("a reason is required to void a visit")
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise MaintenanceError(f"there is no visit {visit_id}")
    if visit.status == VisitStatus.VOIDED:
        raise MaintenanceError(f"visit {visit_id} is already void ({visit.void_reason})")
    if visit.status != VisitStatus.SUBMITTED:
        raise MaintenanceError(f"visit {visit_id} is a {visit.status} visit, not a submitted one")
    moment = now or utcnow()
    visit.status = VisitStatus.VOIDED
    visit.voided_at = moment
    visit.void_reason = reason
    actions.withdraw(session, visit)
    cards.settle(session, visit, DisputeOutcome.VOIDED, reason, None, moment, actor)
    session.add(
        AuditEvent(
            at=moment, actor=actor, action="void", target=f"visit:{visit_id}", details=reason
        )
    )
    session.flush()
    return visit


def refresh_statistics(database: Database) -> None:
    """Recount the tables' and indexes' statistics the query planner chooses plans from.

    SQLite keeps none until told (PostgreSQL's autovacuum keeps its own, this refreshes them
    too); without them it guesses, and after a bulk load its guesses can pick an index that
    reads far more than a query needs. It takes about 0.1 s at 100,000 visits; ``msbot
    demo-data`` calls it after filling the database.
    """
    with database.write() as session:
        session.execute(text("ANALYZE"))
