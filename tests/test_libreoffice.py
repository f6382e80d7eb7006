"""A workbook made from demo data opens in LibreOffice headless, as managers' tools would."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from checklists.loader import SHIPPED_DIR, load_all
from exports.build import build_workbook
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage import checklist_versions, demo
from storage.db import Database

SOFFICE = shutil.which("soffice")
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (.ci/run installs it)")
def test_a_demo_workbook_converts_to_pdf_in_libreoffice_without_errors(
    database: Database, tmp_path: Path
) -> None:
    loaded = load_all([SHIPPED_DIR])
    week = Week(2026, 47)
    with database.write() as session:
        checklist_versions.register(session, loaded)
        demo.generate(
            session,
            [item.checklist for item in loaded],
            stores=4,
            visits=120,
            weeks=3,
            seed=3,
            zone=MOSCOW,
            until=week.next().monday,
        )
    path = build_workbook(
        database,
        week,
        Scope(ScopeKind.ALL),
        zone=MOSCOW,
        language="ru",
        export_dir=tmp_path,
        t=Translator("ru", "reports"),
    )
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
