"""Assigned visits: which shopper should visit which store with which checklist, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Assignment,
    AssignmentStatus,
    ChecklistVersion,
    Person,
    Role,
    Store,
    Visit,
)
from storage.picking import fulfilled_by
from storage.roster import RosterError, Row, Table

HEADERS = {
    "store_code": ("store_code", "store", "код магазина", "магазин"),
    "checklist": ("checklist", "чек-лист", "чеклист"),
    "evaluator": ("evaluator", "shopper", "pseudonym", "тайный покупатель", "псевдоним"),
    "from": ("from", "opens", "с", "начало"),
    "to": ("to", "closes", "по", "конец"),
    "note": ("note", "комментарий", "примечание"),
}


@dataclass(frozen=True)
class NewAssignment:
    store_code: str
    checklist_id: str
    evaluator: str
    """The shopper's pseudonym (``E-07``) or Telegram id."""
    opens_on: date
    closes_on: date
    note: str = ""


def create(session: Session, wanted: list[NewAssignment], checklist_ids: set[str]) -> list[int]:
    """Add assignments, all or none: every problem is reported as a RosterError."""
    problems: list[str] = []
    rows: list[Assignment] = []
    for number, item in enumerate(wanted, start=1):
        where = f"assignment {number}" if len(wanted) > 1 else "assignment"
        store = session.scalars(select(Store).where(Store.code == item.store_code)).one_or_none()
        shopper = _evaluator(session, item.evaluator)
        if store is None:
            problems.append(f"{where}: unknown store code '{item.store_code}'")
        if item.checklist_id not in checklist_ids:
            problems.append(
                f"{where}: unknown checklist '{item.checklist_id}' "
                f"(known: {', '.join(sorted(checklist_ids))})"
            )
        if shopper is None:
            problems.append(f"{where}: no active shopper '{item.evaluator}'")
        channel = _channel(session, item.checklist_id)
        if store is not None and channel is not None and not store.offers(channel):
            problems.append(
                f"{where}: store '{store.code}' has no {channel} channel "
                f"(its channels: {store.channels})"
            )
        if item.closes_on < item.opens_on:
            problems.append(
                f"{where}: the window ends ({item.closes_on}) before it opens ({item.opens_on})"
            )
        if store and shopper and not problems:
            rows.append(
                Assignment(
                    store_id=store.id,
                    checklist_id=item.checklist_id,
                    evaluator_id=shopper.id,
                    opens_on=item.opens_on,
                    closes_on=item.closes_on,
                    note=item.note,
                )
            )
    if problems:
        raise RosterError(problems)
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def _channel(session: Session, checklist_id: str) -> str | None:
    """The channel of the newest registered version of a checklist."""
    return session.scalars(
        select(ChecklistVersion.channel)
        .where(ChecklistVersion.checklist_id == checklist_id)
        .order_by(ChecklistVersion.id.desc())
        .limit(1)
    ).first()


def read_file(path: Path) -> list[NewAssignment]:
    """Assignments from ``.xlsx``/``.csv``: store_code, checklist, evaluator, from, to, note."""
    table = Table.read(
        path, HEADERS, required=("store_code", "checklist", "evaluator", "from", "to")
    )
    result: list[NewAssignment] = []
    problems: list[str] = []
    for row in table.rows:
        opens, closes = _date(row, "from"), _date(row, "to")
        fields = [row.cell(name) for name in ("store_code", "checklist", "evaluator")]
        if not all(fields):
            row.problem("store_code, checklist and evaluator are all needed")
        problems.extend(row.problems)
        if opens and closes and not row.problems:
            result.append(
                NewAssignment(fields[0], fields[1], fields[2], opens, closes, row.cell("note"))
            )
    if problems:
        raise RosterError(problems)
    return result


def _date(row: Row, name: str) -> date | None:
    raw = row.cell(name)
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    row.problem(f"{name} '{raw}' is not a date like 2026-11-30 or 30.11.2026")
    return None


def _evaluator(session: Session, name: str) -> Person | None:
    query = select(Person).where(Person.role == Role.EVALUATOR, Person.active)
    if name.isdigit():
        query = query.where(Person.telegram_id == int(name))
    else:
        query = query.where(Person.pseudonym == name.upper())
    return session.scalars(query).one_or_none()


def complete(
    session: Session, visit: Visit, checklist_id: str, today: date, now: datetime
) -> Assignment | None:
    """Link a submitted visit to the open assignment it fulfils, if there is one (the one
    soonest to close)."""
    found = fulfilled_by(session, visit.evaluator_id, visit.store_id, checklist_id, today)
    assignment = None if found is None else session.get(Assignment, found)
    if assignment is None:
        return None
    assignment.status = AssignmentStatus.DONE
    assignment.done_at = now
    visit.assignment_id = assignment.id
    return assignment


def due_reminders(session: Session, today: date) -> list[Assignment]:
    """Open assignments whose window closes tomorrow and whose shopper was not reminded."""
    return list(
        session.scalars(
            select(Assignment)
            .where(
                Assignment.status == AssignmentStatus.OPEN,
                Assignment.closes_on == today + timedelta(days=1),
                Assignment.reminded_at.is_(None),
            )
            .order_by(Assignment.id)
        )
    )


def overdue(session: Session, today: date) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.status == AssignmentStatus.OPEN, Assignment.closes_on < today)
            .order_by(Assignment.closes_on, Assignment.id)
        )
    )


def open_assignments(session: Session) -> list[Assignment]:
    """Every open assignment, the soonest to close first."""
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.status == AssignmentStatus.OPEN)
            .order_by(Assignment.closes_on, Assignment.id)
        )
    )
