"""A workbook made from demo data opens in LibreOffice headless, as managers' tools would,
and gives LibreOffice the row heights it needs (it does not grow a row to fit wrapped text:
without a height the text prints over the rows below)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from bot.i18n import Translator
from exports.build import build_workbook
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.db import Database
from testkit.bot_harness import ZONE, demo_visits

SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (.ci/run installs it)")
def test_a_demo_workbook_converts_to_pdf_in_libreoffice_without_errors(
    database: Database, tmp_path: Path
) -> None:
    week = Week(2026, 47)
    demo_visits(database, stores=4, visits=120, weeks=3, seed=3, until=week.next().monday)
    path = build_workbook(
        database,
        week,
        Scope(ScopeKind.ALL),
        zone=ZONE,
        language="ru",
        export_dir=tmp_path,
        t=Translator("ru", "reports"),
    ).path
    assert SOFFICE is not None
    result = subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Error" not in output and "repair" not in output.lower(), output
    pdf = tmp_path / (path.stem + ".pdf")
    assert pdf.exists() and pdf.stat().st_size > 10_000

    wrapped_rows = 0
    for sheet in openpyxl.load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            # At least one line per 50 characters (the widest column) of each line of text.
            lines = max(
                (
                    sum(max(1, -(-len(line) // 50)) for line in str(cell.value).split("\n"))
                    for cell in row
                    if cell.alignment.wrap_text and cell.value is not None
                ),
                default=1,
            )
            if lines > 1:
                wrapped_rows += 1
                height = sheet.row_dimensions[row[0].row].height
                assert height is not None, (sheet.title, row[0].row)
                assert height >= min(15 * lines, 409) - 1, (sheet.title, row[0].row)
    assert wrapped_rows > 10  # the demo's comments, weakest standards and long headers
