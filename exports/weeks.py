"""ISO weeks in the deployment's time zone, as half-open UTC ranges for queries.

A week runs Monday 00:00 to the next Monday 00:00 *local* time. SQLite has no ISO week
(``%W`` is not ISO and ``%V`` is NULL), so bounds are computed here and queries use
``start <= submitted_at < end`` in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W47``; anything else, or a week the year does not have, is a ValueError."""
        match = _WEEK.match(text.strip())
        if match is None:
            raise ValueError(f"not an ISO week: {text!r}; use the form 2026-W47")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {number}") from None
        return cls(year, number)

    @classmethod
    def containing(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: datetime, zone: ZoneInfo) -> Week:
        """The latest week that has fully ended at ``now`` in ``zone``."""
        return cls.containing(now.astimezone(zone).date()).previous()

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def previous(self, weeks: int = 1) -> Week:
        return Week.containing(self.monday - timedelta(weeks=weeks))

    def next(self) -> Week:
        return Week.containing(self.monday + timedelta(weeks=1))

    def local_start(self, zone: ZoneInfo) -> datetime:
        return datetime.combine(self.monday, time(0), zone)

    def local_end(self, zone: ZoneInfo) -> datetime:
        return datetime.combine(self.monday + timedelta(weeks=1), time(0), zone)

    def utc_range(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return self.local_start(zone).astimezone(UTC), self.local_end(zone).astimezone(UTC)

    def recent(self, count: int) -> list[Week]:
        """The ``count`` weeks ending with this one, oldest first."""
        return [self.previous(n) for n in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return self.label
