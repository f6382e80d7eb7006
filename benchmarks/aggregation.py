"""Aggregation scaling: the weekly report's queries at 10⁴, 10⁵ and 10⁶ answers.

For each size, ``storage.demo`` fills a fresh SQLite file (50 stores, as ``msbot demo-data``
does) until the ``answer`` table holds about that many rows. By default the history grows and
the week does not: about 600 visits a week (12 a store), so 10⁶ answers are some two and a
half years of visits, as a chain that keeps using the product accumulates them; the goal is
that a week's report does not slow down as history grows. ``--spread quarter`` puts every
size into 13 weeks instead, so the reported week itself grows with the database. The same
rows are then copied into a fresh PostgreSQL database (created for the run and dropped after
it). On each, ``exports.aggregate.build_report`` runs for the last week
and all stores, its SQL is captured (a ``before_cursor_execute`` event), and each statement
is re-run alone through the driver (execute + fetch all, the median of several runs) and
explained: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL, summarised as the
indexes the plan uses and the tables it reads whole.

"aggregates" is the sum of the GROUP BY queries (stores, standards, employees, trends): the
figures of one week for all stores. The listings (every visit of the week with its answers,
and its flags, for the Visits sheet) grow with the week's rows by nature. ``build_report`` is
the whole call, Python included. The baseline is the cheapest possible read of the same week:
``COUNT(*)`` of its submitted visits through the (status, submitted_at) index.

Run: ``python -m benchmarks.aggregation [--answers 10000,100000,1000000] [--spread quarter]
[--no-postgres]``.
"""

from __future__ import annotations

import argparse
import inspect
import re
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select

from benchmarks.data import UNTIL, ZONE, fill
from exports.aggregate import build_report
from exports.report_data import Scope
from exports.weeks import Week
from storage import maintenance, migrate
from storage.db import Database
from storage.models import Answer, Base, Visit, VisitStatus
from testkit.databases import LOCAL_POSTGRES, fresh_postgres_url

QUARTER = 13
VISITS_PER_WEEK = 600
STORES = 50
ANSWERS_PER_VISIT = 13.35
"""What ``storage.demo`` gives on the shipped checklists (store, phone and online visits)."""
REPEATS = 5
COPY_CHUNK = 20_000
LISTINGS = frozenset({"_visits"})


@dataclass
class Statement:
    """One SQL statement ``build_report`` ran, with the report function that ran it."""

    caller: str
    sql: str
    parameters: Any
    seconds: float = 0.0
    plan: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.caller in LISTINGS:
            return "listing"
        return "aggregate" if "GROUP BY" in self.sql.upper() else "lookup"


def _caller() -> str:
    """The innermost function of ``exports/week_figures.py`` (where the week is read) on
    the stack."""
    for frame in inspect.stack(context=0):
        if frame.filename.endswith("exports/week_figures.py"):
            return frame.function
    return "?"


@contextmanager
def captured(engine: Engine) -> Iterator[list[Statement]]:
    statements: list[Statement] = []

    def remember(
        _conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append(Statement(_caller(), sql, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", remember)


# -- data --------------------------------------------------------------------------------------


def weeks_for(answers: int, spread: str) -> int:
    if spread == "quarter":
        return QUARTER
    return max(1, round(answers / ANSWERS_PER_VISIT / VISITS_PER_WEEK))


def generate(database: Database, answers: int, weeks: int) -> None:
    """Demo rows, then planner statistics, as ``msbot demo-data`` leaves them."""
    fill(database, visits=max(1, round(answers / ANSWERS_PER_VISIT)), weeks=weeks, stores=STORES)
    maintenance.refresh_statistics(database)


def copy_rows(source: Database, target: Database) -> None:
    """Every row of every table, in dependency order, then fresh planner statistics."""
    migrate.upgrade(target)
    with source.engine.connect() as reading, target.engine.begin() as writing:
        for table in Base.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            writing.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            result = reading.execution_options(yield_per=COPY_CHUNK).execute(table.select())
            for chunk in result.mappings().partitions(COPY_CHUNK):
                writing.execute(table.insert(), [dict(row) for row in chunk])
    maintenance.refresh_statistics(target)


# -- measuring ---------------------------------------------------------------------------------


def _median_seconds(run: Any, repeats: int = REPEATS) -> float:
    run()  # warm: statement caches, pages in memory
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _raw(database: Database, sql: str, parameters: Any) -> list[Any]:
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, parameters)
        rows = list(cursor.fetchall())
        cursor.close()
        return rows
    finally:
        connection.close()


def explain(database: Database, statement: Statement) -> list[str]:
    if database.is_sqlite:
        rows = _raw(database, "EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
        return [str(row[-1]) for row in rows]
    rows = _raw(database, "EXPLAIN " + statement.sql, statement.parameters)
    return [str(row[0]) for row in rows]


_SQLITE_INDEX = re.compile(r"(?:SEARCH|SCAN) (\w+)(?: AS \w+)? USING (?:COVERING )?INDEX (\w+)")
_SQLITE_PK = re.compile(r"SEARCH (\w+)(?: AS \w+)? USING INTEGER PRIMARY KEY")
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)(?: AS \w+)?$")
_PG_INDEX = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:Backward )?(?:using|on) (\w+)"
)
_PG_SCAN = re.compile(r"Seq Scan on (\w+)")


def plan_summary(plan: Sequence[str]) -> str:
    """Indexes used, and tables read whole, in plan order."""
    used: list[str] = []
    for line in plan:
        text_line = line.strip().lstrip("->").strip()
        found = (
            _SQLITE_INDEX.search(text_line)
            or _SQLITE_PK.search(text_line)
            or _PG_INDEX.search(text_line)
        )
        if found:
            name = found.group(found.lastindex or 1)
            label = f"{found.group(1)} by primary key" if found.re is _SQLITE_PK else name
            if label not in used:
                used.append(label)
            continue
        scanned = _SQLITE_SCAN.search(text_line) or _PG_SCAN.search(text_line)
        if scanned and f"full scan of {scanned.group(1)}" not in used:
            used.append(f"full scan of {scanned.group(1)}")
    return ", ".join(used) or "(no table read)"


@dataclass
class Figures:
    engine: str
    answers: int
    week_answers: int
    week_visits: int
    report_seconds: float
    baseline_seconds: float
    statements: list[Statement]

    def seconds(self, kind: str) -> float:
        return sum(s.seconds for s in self.statements if s.kind == kind)


def measure(database: Database, engine_name: str) -> Figures:
    week = Week.containing(UNTIL - timedelta(days=1))
    start, end = week.utc_range(ZONE)
    scope = Scope.parse("all")

    def report() -> None:
        with database.read() as session:
            build_report(session, week, scope, zone=ZONE, language="en")

    report_seconds = _median_seconds(report)
    with captured(database.engine) as statements:
        report()
    for statement in statements:
        statement.seconds = _median_seconds(lambda s=statement: _raw(database, s.sql, s.parameters))
        statement.plan = explain(database, statement)

    in_week = (
        Visit.status == VisitStatus.SUBMITTED,
        Visit.submitted_at >= start,
        Visit.submitted_at < end,
    )

    def baseline() -> None:
        with database.read() as session:
            session.scalar(select(func.count()).select_from(Visit).where(*in_week))

    baseline_seconds = _median_seconds(baseline)
    with database.read() as session:
        answers = session.scalar(select(func.count()).select_from(Answer)) or 0
        week_visits = session.scalar(select(func.count()).select_from(Visit).where(*in_week)) or 0
        week_answers = (
            session.scalar(select(func.count()).select_from(Answer).join(Visit).where(*in_week))
            or 0
        )
    return Figures(
        engine_name,
        int(answers),
        int(week_answers),
        int(week_visits),
        report_seconds,
        baseline_seconds,
        statements,
    )


def print_figures(f: Figures, plans: bool) -> None:
    ms = 1000
    print(
        f"  {f.engine:<10} {f.answers:>9} answers (week: {f.week_visits} visits, "
        f"{f.week_answers} answers)"
    )
    print(
        f"      aggregates {ms * f.seconds('aggregate'):8.1f} ms   listings "
        f"{ms * f.seconds('listing'):8.1f} ms   lookups {ms * f.seconds('lookup'):6.1f} ms   "
        f"build_report {ms * f.report_seconds:8.1f} ms"
    )
    print(
        f"      baseline (COUNT of the week's visits) {ms * f.baseline_seconds:6.2f} ms; "
        f"ratio aggregates / baseline {f.seconds('aggregate') / f.baseline_seconds:6.1f}"
    )
    if plans:
        for s in f.statements:
            if s.kind != "lookup":
                print(f"      {ms * s.seconds:8.2f} ms  {s.caller:<17} {plan_summary(s.plan)}")


def run_size(answers: int, spread: str, postgres_url: str | None, folder: Path) -> list[Figures]:
    sqlite = Database(f"sqlite:///{folder / f'agg-{answers}.sqlite3'}")
    weeks = weeks_for(answers, spread)
    started = time.perf_counter()
    generate(sqlite, answers, weeks)
    generated = time.perf_counter() - started
    results = [measure(sqlite, "SQLite")]
    print(f"  (demo data: {weeks} weeks, {generated:.0f} s)")
    if postgres_url:
        with fresh_postgres_url(postgres_url) as url:
            postgres = Database(url)
            try:
                copy_rows(sqlite, postgres)
                results.append(measure(postgres, "PostgreSQL"))
            finally:
                postgres.dispose()
    sqlite.dispose()
    return results


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.aggregation",
        description="The weekly report's SQL at growing sizes, on SQLite and PostgreSQL.",
    )
    parser.add_argument(
        "--answers",
        default="10000,100000,1000000",
        help="answer rows in the database, comma-separated (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--spread",
        choices=["history", "quarter"],
        default="history",
        help=f"history: about {VISITS_PER_WEEK} visits a week, more weeks for more answers "
        "(default); quarter: every size in 13 weeks",
    )
    parser.add_argument(
        "--postgres", default=LOCAL_POSTGRES, help=f"server (default {LOCAL_POSTGRES})"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-plans", action="store_true", help="do not print each query plan")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    sizes = [int(size) for size in args.answers.split(",")]
    postgres_url = None if args.no_postgres else args.postgres
    spread = (
        f"about {VISITS_PER_WEEK} visits a week, the history growing with the size"
        if args.spread == "history"
        else f"every size spread over {QUARTER} weeks"
    )
    print(
        f"Aggregation: build_report for the last week and all {STORES} stores, {spread}; "
        f"each query re-run alone, median of {REPEATS}"
    )
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="msbot-bench-") as folder:
        for size in sizes:
            for figures in run_size(size, args.spread, postgres_url, Path(folder)):
                print_figures(figures, plans=not args.no_plans)
                results.append(figures)
    largest = max(r.answers for r in results)
    for figures in (r for r in results if r.answers == largest):
        verdict = "met" if figures.seconds("aggregate") < 0.05 else "NOT met"
        print(
            f"  goal (one week, all stores, < 50 ms at {largest} answers) on {figures.engine}: "
            f"aggregates {1000 * figures.seconds('aggregate'):.1f} ms, {verdict}; "
            f"whole build_report {1000 * figures.report_seconds:.0f} ms"
        )


if __name__ == "__main__":
    main()
