"""The benchmarks' data: ``storage.demo`` visits in a fresh database, as ``msbot demo-data``
makes them, always the same for the same sizes."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from storage.db import Database

ZONE = ZoneInfo("Europe/Moscow")
UNTIL = date(2026, 11, 16)
"""A Monday: the last week of data, and the reported one, is the week before it."""


def fill(database: Database, *, visits: int, weeks: int, stores: int) -> str:
    """Migrate ``database`` and fill it; returns ``storage.demo``'s summary line.

    The project is imported here, not with this module: the reports benchmark's baseline
    process imports the constants and must weigh only what raw openpyxl weighs.
    """
    from checklists.loader import SHIPPED_DIR, load_all
    from storage import checklist_versions, demo, migrate

    migrate.upgrade(database)
    loaded = load_all([SHIPPED_DIR])
    with database.write() as session:
        checklist_versions.register(session, loaded)
        return demo.generate(
            session,
            [item.checklist for item in loaded],
            stores=stores,
            visits=visits,
            weeks=weeks,
            seed=1,
            zone=ZONE,
            until=UNTIL,
        )
