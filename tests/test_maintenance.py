"""Backups of a live database, voiding a visit without losing it, planner statistics."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from checklists.scoring import Answer as A
from exports.aggregate import build_report
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.db import Database
from storage.maintenance import MaintenanceError, backup, refresh_statistics, void_visit
from storage.models import AuditEvent, Role, Store, Visit, VisitStatus
from testkit.bot_harness import ZONE, add_person, demo_visits, make_world, submitted_visit
from tests.figures import same

WHEN = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def test_a_backup_of_a_live_database_is_consistent_while_writes_go_on(
    database: Database, tmp_path: Path
) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite only; PostgreSQL deployments use pg_dump")
    make_world(database)
    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with database.write() as session:
                session.add(Store(code=f"W{n}", name=f"Written {n}"))

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copies = [backup(database, tmp_path / f"copy{n}.sqlite3") for n in range(3)]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        connection = sqlite3.connect(copy)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        codes = {row[0] for row in connection.execute("SELECT code FROM store")}
        connection.close()
        assert {"S1", "S2"} <= codes
        written = sorted(int(c[1:]) for c in codes if c.startswith("W"))
        assert written == list(range(1, len(written) + 1)), "no transaction is half there"


def test_a_backup_never_overwrites_a_file(database: Database, tmp_path: Path) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    target = tmp_path / "copy.sqlite3"
    target.write_text("keep me")
    with pytest.raises(MaintenanceError, match="already exists"):
        backup(database, target)
    assert target.read_text() == "keep me"
    assert backup(database, tmp_path).name.startswith("msbot-")


def test_a_void_visit_leaves_the_reports_but_stays_with_an_audit_record(
    database: Database,
) -> None:
    world = make_world(database)
    shopper = add_person(database, 501, Role.EVALUATOR)
    answers = {"greet_time": A(10), "greeted": A("yes"), "smiled": A("no")}
    kept = submitted_visit(world, shopper, world.anna_id, answers, WHEN)
    voided = submitted_visit(world, shopper, world.anna_id, answers, WHEN)
    with database.write() as session:
        void_visit(session, voided, "the shopper knew the employee", "cli:tester")
    with database.read() as session:
        report = build_report(
            session, Week(2026, 47), Scope(ScopeKind.ALL), zone=ZONE, language="en"
        )
        assert [v.visit_id for v in report.visits] == [kept]
        visit = session.get(Visit, voided)
        assert visit is not None and visit.status == VisitStatus.VOIDED
        assert visit.void_reason == "the shopper knew the employee" and visit.answers
        [event] = session.scalars(select(AuditEvent)).all()
        assert (event.actor, event.action, event.target) == (
            "cli:tester",
            "void",
            f"visit:{voided}",
        )


@pytest.mark.parametrize(
    ("visit", "reason", "message"),
    [
        (999, "x", "there is no visit 999"),
        (None, "  ", "a reason is required"),
    ],
)
def test_voiding_refuses_what_cannot_be_done(
    database: Database, visit: int | None, reason: str, message: str
) -> None:
    world = make_world(database)
    shopper = add_person(database, 501, Role.EVALUATOR)
    real = submitted_visit(world, shopper, None, {"greeted": A("yes")}, WHEN)
    with pytest.raises(MaintenanceError, match=message), database.write() as session:
        void_visit(session, visit or real, reason, "cli:tester")
    with database.read() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_refreshing_statistics_changes_no_figure(database: Database) -> None:
    week = Week(2026, 46)
    demo_visits(database, stores=5, visits=200, weeks=3, seed=2, until=week.next().monday)
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    scopes = [Scope(ScopeKind.ALL), Scope(ScopeKind.STORES, frozenset({"D002"}))]

    def reports() -> list[object]:
        with database.read() as session:
            return [
                build_report(session, week, scope, zone=ZONE, language="en", now=moment)
                for scope in scopes
            ]

    before = reports()
    refresh_statistics(database)
    assert same(reports(), before)
