"""The one source of "now": the bot, the command line and the tests each give theirs.

Every rule that depends on the time (a stopwatch, a lapsed draft, "today" for a date or an
assignment window, the last complete week) reads it here, so a test can set the moment
and a whole visit sees one consistent clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def system_time() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    zone: ZoneInfo
    """The deployment's time zone: local dates ("today") are dates there."""
    read: Callable[[], datetime] = field(default=system_time)
    """Returns the current moment, timezone-aware."""

    def now(self) -> datetime:
        """The current moment in UTC."""
        moment = self.read()
        if moment.tzinfo is None:
            raise ValueError("a clock must give timezone-aware times")
        return moment.astimezone(UTC)

    def today(self) -> date:
        """The local date in the deployment's zone."""
        return self.now().astimezone(self.zone).date()

    @classmethod
    def fixed(cls, moment: datetime, zone: ZoneInfo) -> Clock:
        """A clock that always reads ``moment`` (a test's, or one run's)."""
        return cls(zone, lambda: moment)
