"""Building one workbook file: aggregate in SQL, write it, check it opens, keep it.

What is sent is the bytes that were checked, not whatever the kept path holds when the
upload starts: another process building the same scope may replace that file meanwhile.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from checklists.item_types import Words
from exports.aggregate import build_report
from exports.delivery import digest, workbook_path
from exports.report_data import Scope
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
) -> BuiltWorkbook:
    """The workbook for ``week``, ``scope`` and ``language``, kept in the export folder."""
    with database.read() as session:
        report = build_report(session, week, scope, zone=zone, language=language, now=now, labels=t)
    path = workbook_path(export_dir, week, scope, language)
    data = replace_atomically(
        path, lambda handle: save_workbook(report, handle, t), check=check_workbook
    )
    return BuiltWorkbook(path, data)
