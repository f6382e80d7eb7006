"""Report build: time and peak memory to write every weekly workbook of one week.

For each size, ``storage.demo`` fills a fresh SQLite file with that many visits (as
``msbot demo-data --visits N`` does), either all in one week or spread over a quarter
(13 weeks); then a child process builds, through ``ReportService.build`` with one
``WeekCache`` as a delivery run does (the week read once, then each scope's figures derived
and written with XlsxWriter), every workbook the run would send for the last of those weeks:
the full one (admins), HR's, and one per store (as if every store had a manager).

The baseline, in its own child process, writes the same number of workbooks, sheets, rows
and non-empty cells (the same share of strings, as many distinct strings of the same mean
length, numbers for the rest) with raw openpyxl in write-only mode: the cost of the cells
alone. Cells are counted by reading our workbooks back with python-calamine.

Peak memory is each child's peak resident set (``VmHWM`` in /proc/self/status), so builds do
not share memory; "at start" is the child's RSS after its imports.

The goal: ours at most 1.5 × the baseline at 1,000, 10,000 and 100,000 visits in the week,
time growing linearly, and a peak RSS of at most 200 MB at 100,000; each is printed with
"ok" or "MISSED".

Run: ``python -m benchmarks reports`` (the goal's sizes, in a week: about 6 minutes, most of
it making the demo data), ``--sizes 1000,3000 --periods week,quarter`` for a quick look.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.data import UNTIL, ZONE, fill

LANGUAGE = "en"
PERIODS = {"week": 1, "quarter": 13}
RATIO_GOAL = 1.5
PEAK_GOAL_MB = 200
PEAK_GOAL_VISITS = 100_000
LINEAR_SLACK = 1.25
"""Time per visit may grow this much from one size to the next and still count as linear
(fixed costs shrink per visit as sizes grow; noise does not)."""


# -- in the child processes --------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build_ours(spec: dict[str, Any]) -> dict[str, Any]:
    """Every workbook of the week, one after the other, as the delivery run builds them."""
    import exports.build
    from bot.reports import ReportService
    from exports.build import WeekCache
    from exports.report_data import Scope
    from exports.weeks import Week
    from storage.db import Database

    rss_start = _status_kb("VmRSS")
    database = Database(spec["database"])
    service = ReportService(
        database=database,
        zone=ZONE,
        language=LANGUAGE,
        export_dir=Path(spec["out"]),
        schedule="mon 09:00",
    )
    spent = {"query": 0.0}
    read_week = exports.build.read_week

    def timed_read(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return read_week(*args, **kwargs)
        finally:
            spent["query"] += time.perf_counter() - started

    week = Week.parse(spec["week"])
    paths, seconds = [], []
    started = time.perf_counter()
    cache = WeekCache(database, ZONE)
    with mock.patch.object(exports.build, "read_week", timed_read):
        for text in spec["scopes"]:
            one = time.perf_counter()
            paths.append(str(service.build(week, Scope.parse(text), LANGUAGE, cache=cache).path))
            seconds.append(time.perf_counter() - one)
    total = time.perf_counter() - started
    database.dispose()
    return {
        "seconds": total,
        "query_seconds": spent["query"],
        "per_workbook": seconds,
        "paths": paths,
        "rss_start_kb": rss_start,
        "peak_kb": _status_kb("VmHWM"),
    }


def build_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """The same cells with raw openpyxl in write-only mode."""
    from openpyxl import Workbook

    rss_start = _status_kb("VmRSS")
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for n, sheets in enumerate(spec["workbooks"]):
        workbook = Workbook(write_only=True)
        for number, shape in enumerate(sheets):
            sheet = workbook.create_sheet(f"Sheet{number + 1}")
            for row in _rows(SheetShape(**shape)):
                sheet.append(row)
        workbook.save(out / f"baseline-{n}.xlsx")
    return {
        "seconds": time.perf_counter() - started,
        "rss_start_kb": rss_start,
        "peak_kb": _status_kb("VmHWM"),
    }


def _rows(shape: SheetShape) -> Iterator[list[object]]:
    """``shape.cells`` values in ``shape.rows`` rows: strings first in each row, then numbers."""
    if not shape.rows or not shape.cells:
        return
    width = math.ceil(shape.cells / shape.rows)
    text_width = round(width * shape.strings / shape.cells)
    pool = [
        (f"{k} " + "x" * max(0, shape.string_length - 1 - len(str(k))))
        for k in range(max(1, shape.distinct))
    ]
    left, picked = shape.cells, 0
    for r in range(shape.rows):
        count = min(width, left)
        left -= count
        row: list[object] = []
        for c in range(count):
            if c < text_width:
                row.append(pool[picked % len(pool)])
                picked += 1
            else:
                row.append(r + c / 100)
        yield row


def child(kind: str, spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    result = build_ours(spec) if kind == "ours" else build_baseline(spec)
    print(json.dumps(result))


# -- in the parent -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetShape:
    rows: int
    cells: int
    """Non-empty cells."""
    strings: int
    distinct: int
    string_length: int
    """Mean length of the string cells."""


def shape_of(path: Path) -> list[SheetShape]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    shapes = []
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        strings = [v for row in rows for v in row if isinstance(v, str) and v != ""]
        cells = sum(1 for row in rows for v in row if v != "")
        length = round(sum(map(len, strings)) / len(strings)) if strings else 0
        shapes.append(SheetShape(len(rows), cells, len(strings), len(set(strings)), length))
    workbook.close()
    return shapes


def generate(database_url: str, visits: int, weeks: int, stores: int) -> str:
    """Demo data as ``msbot demo-data`` makes it; returns its summary line."""
    from storage.db import Database

    database = Database(database_url)
    summary = fill(database, visits=visits, weeks=weeks, stores=stores)
    database.dispose()
    return summary


def week_counts(database_url: str, week_label: str) -> tuple[int, int]:
    """Visits and answers in the reported week."""
    from sqlalchemy import func, select

    from exports.weeks import Week
    from storage.db import Database
    from storage.models import Answer, Visit

    start, end = Week.parse(week_label).utc_range(ZONE)
    database = Database(database_url)
    in_week = (Visit.submitted_at >= start, Visit.submitted_at < end)
    with database.read() as session:
        visits = session.scalar(select(func.count()).select_from(Visit).where(*in_week)) or 0
        answers = (
            session.scalar(select(func.count()).select_from(Answer).join(Visit).where(*in_week))
            or 0
        )
    database.dispose()
    return int(visits), int(answers)


def run_child(kind: str, spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    spec_path = folder / f"{kind}-spec.json"
    spec_path.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.reports", "--child", kind, str(spec_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} build failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclass(frozen=True)
class Result:
    visits: int
    period: str
    week_visits: int
    week_answers: int
    workbooks: int
    cells: int
    ours_seconds: float
    query_seconds: float
    """Reading the week (the one aggregation)."""
    largest_seconds: float
    ours_peak_mb: float
    ours_start_mb: float
    baseline_seconds: float
    baseline_peak_mb: float
    baseline_start_mb: float
    megabytes: float
    generate_seconds: float

    @property
    def ratio(self) -> float:
        return self.ours_seconds / self.baseline_seconds


def measure(visits: int, period: str, stores: int, folder: Path) -> Result:
    from exports.weeks import Week

    here = folder / f"{visits}-{period}"
    here.mkdir()
    database_url = f"sqlite:///{here / 'demo.sqlite3'}"
    started = time.perf_counter()
    generate(database_url, visits, PERIODS[period], stores)
    generated = time.perf_counter() - started
    week = Week.containing(UNTIL - timedelta(days=1)).label
    scopes = ["all", "hr", *(f"store:D{n:03d}" for n in range(1, stores + 1))]
    ours = run_child(
        "ours",
        {"database": database_url, "week": week, "scopes": scopes, "out": str(here / "ours")},
        here,
    )
    paths = [Path(p) for p in ours["paths"]]
    shapes = [shape_of(path) for path in paths]
    baseline = run_child(
        "baseline",
        {"workbooks": [[asdict(s) for s in sheets] for sheets in shapes], "out": str(here / "raw")},
        here,
    )
    week_visits, week_answers = week_counts(database_url, week)
    return Result(
        visits=visits,
        period=period,
        week_visits=week_visits,
        week_answers=week_answers,
        workbooks=len(paths),
        cells=sum(s.cells for sheets in shapes for s in sheets),
        ours_seconds=ours["seconds"],
        query_seconds=ours["query_seconds"],
        largest_seconds=max(ours["per_workbook"]),
        ours_peak_mb=ours["peak_kb"] / 1024,
        ours_start_mb=ours["rss_start_kb"] / 1024,
        baseline_seconds=baseline["seconds"],
        baseline_peak_mb=baseline["peak_kb"] / 1024,
        baseline_start_mb=baseline["rss_start_kb"] / 1024,
        megabytes=sum(p.stat().st_size for p in paths) / 2**20,
        generate_seconds=generated,
    )


def print_result(r: Result) -> None:
    print(
        f"  {r.visits:>7} visits, {r.period:<7}: week {r.week_visits:>6} visits "
        f"{r.week_answers:>8} answers → {r.workbooks} workbooks, {r.cells:>9} cells, "
        f"{r.megabytes:6.1f} MB   (demo data {r.generate_seconds:.0f} s)"
    )
    print(
        f"      ours      {r.ours_seconds:7.2f} s (SQL {r.query_seconds:6.2f} s, largest workbook "
        f"{r.largest_seconds:6.2f} s)   peak RSS {r.ours_peak_mb:6.0f} MB "
        f"(at start {r.ours_start_mb:.0f})"
    )
    print(
        f"      baseline  {r.baseline_seconds:7.2f} s{'':43}peak RSS {r.baseline_peak_mb:6.0f} MB "
        f"(at start {r.baseline_start_mb:.0f})"
    )
    writing = (r.ours_seconds - r.query_seconds) / r.baseline_seconds
    verdict = "ok" if r.ratio <= RATIO_GOAL else "MISSED"
    print(
        f"      ratio ours / baseline: time {r.ratio:.2f} (goal ≤ {RATIO_GOAL}: {verdict}); "
        f"without reading the week {writing:.2f}"
    )
    if r.period == "week" and r.visits >= PEAK_GOAL_VISITS:
        verdict = "ok" if r.ours_peak_mb <= PEAK_GOAL_MB else "MISSED"
        print(f"      peak RSS {r.ours_peak_mb:.0f} MB (goal ≤ {PEAK_GOAL_MB} MB: {verdict})")


def growth(results: Sequence[Result]) -> None:
    """Time per visit of the week between consecutive sizes: flat or falling is linear."""
    weeks = sorted((r for r in results if r.period == "week"), key=lambda r: r.visits)
    for small, large in itertools.pairwise(weeks):
        scale = large.week_visits / small.week_visits
        per_visit = (large.ours_seconds / large.week_visits) / (
            small.ours_seconds / small.week_visits
        )
        verdict = "linear" if per_visit <= LINEAR_SLACK else "MISSED: grows faster than linear"
        print(
            f"  {small.visits} → {large.visits} visits in the week (×{scale:.0f}): "
            f"time ×{large.ours_seconds / small.ours_seconds:.1f} "
            f"(per visit ×{per_visit:.2f}: {verdict}), "
            f"baseline ×{large.baseline_seconds / small.baseline_seconds:.1f}, "
            f"peak RSS ×{large.ours_peak_mb / small.ours_peak_mb:.1f}"
        )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reports",
        description="Time and peak RSS to build a week's workbooks, against raw write-only "
        "openpyxl writing the same cells.",
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="visits in the database, comma-separated (default 1000,10000,100000)",
    )
    parser.add_argument("--stores", type=int, default=50, help="stores (default 50)")
    parser.add_argument(
        "--periods",
        default="week",
        help="week: every visit in the reported week (default); quarter: spread over 13 "
        "weeks; or both, comma-separated",
    )
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.child:
        child(args.child, args.spec)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    periods = [p for p in args.periods.split(",") if p]
    print(
        f"Reports: every workbook of one week (all, hr and one per store, {args.stores} stores) "
        f"through ReportService.build from one reading of the week, in a child process; "
        f"baseline = raw write-only openpyxl, same cells"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="msbot-bench-") as folder:
        for size in sizes:
            for period in periods:
                result = measure(size, period, args.stores, Path(folder))
                print_result(result)
                results.append(result)
    growth(results)


if __name__ == "__main__":
    main()
