"""Building one workbook file: derive its figures from the week, write it, check it opens,
keep it.

What is sent is the bytes that were checked, not whatever the kept path holds when the
upload starts: another process building the same scope may replace that file meanwhile.

A delivery run builds many workbooks of one week; a ``WeekCache`` reads the week once for all
of them (one aggregation of the whole week instead of one per scope), and every recipient of
the run gets figures of the same moment.
"""

from __future__ import annotations

import io
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from checklists.item_types import Words
from exports.aggregate import report_for
from exports.delivery import digest, workbook_path
from exports.report_data import Scope
from exports.week_figures import WeekFigures, compute_week
from exports.weeks import Week
from exports.workbook import save_workbook
from storage.db import Database
from storage.files import replace_atomically

REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


class BrokenWorkbook(ValueError):
    """A written workbook failed its check: it would not open."""


@dataclass(frozen=True)
class BuiltWorkbook:
    path: Path
    """Where the workbook is kept."""
    data: bytes
    """Its bytes, checked to open."""

    @property
    def digest(self) -> str:
        return digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)


def check_workbook(data: bytes) -> None:
    """Refuse bytes that are not a whole .xlsx: not a zip, a member failing its CRC, or the
    parts every spreadsheet program needs missing."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise BrokenWorkbook(f"the workbook is not a valid .xlsx file: {exc}") from exc
    if damaged is not None:
        raise BrokenWorkbook(f"the workbook's part {damaged} is damaged")
    missing = [part for part in REQUIRED_PARTS if part not in names]
    if missing:
        raise BrokenWorkbook(f"the workbook lacks {', '.join(missing)}")


@dataclass
class WeekCache:
    """Weeks read once and kept while a delivery run builds their workbooks."""

    database: Database
    zone: ZoneInfo
    weeks: dict[Week, WeekFigures] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, week: Week, now: datetime | None = None) -> WeekFigures:
        with self.lock:
            figures = self.weeks.get(week)
            if figures is None:
                figures = self.weeks[week] = read_week(self.database, week, self.zone, now)
            return figures


def read_week(
    database: Database, week: Week, zone: ZoneInfo, now: datetime | None = None
) -> WeekFigures:
    with database.snapshot() as session:
        return compute_week(session, week, zone, now)


def build_workbook(
    database: Database,
    week: Week,
    scope: Scope,
    *,
    zone: ZoneInfo,
    language: str,
    export_dir: Path,
    t: Words,
    now: datetime | None = None,
    cache: WeekCache | None = None,
) -> BuiltWorkbook:
    """The workbook for ``week``, ``scope`` and ``language``, kept in the export folder;
    from the week in ``cache`` when one is given, else read now."""
    figures = cache.get(week, now) if cache is not None else read_week(database, week, zone, now)
    report = report_for(figures, scope, language, t)
    path = workbook_path(export_dir, week, scope, language)
    data = replace_atomically(
        path, lambda handle: save_workbook(report, handle, t), check=check_workbook
    )
    return BuiltWorkbook(path, data)
