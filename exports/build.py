"""Building one workbook file: aggregate in SQL, then write it with openpyxl."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from exports.aggregate import build_report
from exports.delivery import workbook_path
from exports.report_data import Scope
from exports.weeks import Week
from exports.workbook import write_workbook
from storage.db import Database


def build_workbook(
    database: Database,
    week: Week,
    scope: Scope,
    *,
    zone: ZoneInfo,
    language: str,
    export_dir: Path,
    t: Callable[..., str],
    now: datetime | None = None,
) -> Path:
    """The workbook for ``week`` and ``scope`` in the export folder (written atomically)."""
    with database.read() as session:
        report = build_report(session, week, scope, zone=zone, language=language, now=now, labels=t)
    path = workbook_path(export_dir, week, scope)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_workbook(report, path, t)
