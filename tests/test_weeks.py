"""ISO weeks in the deployment's zone and when each week's report falls due."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.settings import report_trigger
from exports.delivery import due_week
from exports.weeks import Week

MOSCOW = ZoneInfo("Europe/Moscow")


def test_a_week_runs_from_monday_midnight_local_to_the_next_monday() -> None:
    start, end = Week.parse("2026-W47").utc_range(MOSCOW)
    assert start == datetime(2026, 11, 15, 21, 0, tzinfo=UTC)  # Mon 16 Nov 00:00 MSK
    assert end == datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # Mon 23 Nov 00:00 MSK


def test_iso_week_1_can_start_in_the_previous_year() -> None:
    assert Week.parse("2026-W01").monday.isoformat() == "2025-12-29"
    assert Week.containing(datetime(2027, 1, 1).date()) == Week(2026, 53)
    assert Week(2026, 53).next() == Week(2027, 1)
    assert Week(2027, 1).previous() == Week(2026, 53)


@pytest.mark.parametrize("text", ["2026-47", "2026-W54", "2025-W53", "W47", ""])
def test_a_malformed_or_impossible_week_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Week.parse(text)


def test_the_last_complete_week_follows_local_midnight_not_utc() -> None:
    sunday_late_utc = datetime(2026, 11, 22, 20, 59, tzinfo=UTC)  # Sun 23:59 MSK
    monday_utc = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # Mon 00:00 MSK
    assert Week.last_complete(sunday_late_utc, MOSCOW) == Week(2026, 46)
    assert Week.last_complete(monday_utc, MOSCOW) == Week(2026, 47)


def test_recent_weeks_are_listed_oldest_first() -> None:
    assert [w.label for w in Week(2026, 2).recent(3)] == ["2025-W52", "2026-W01", "2026-W02"]


def test_a_weeks_report_is_due_at_the_first_scheduled_time_after_it_ends() -> None:
    trigger = report_trigger("mon 09:00", "Europe/Moscow")
    before = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)  # Mon 08:59 MSK
    at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Mon 09:00 MSK
    assert due_week(before, trigger, MOSCOW) == Week(2026, 46)
    assert due_week(at, trigger, MOSCOW) == Week(2026, 47)
    assert due_week(datetime(2026, 11, 27, 12, 0, tzinfo=UTC), trigger, MOSCOW) == Week(2026, 47)


def test_the_default_schedule_fires_on_monday_not_tuesday() -> None:
    trigger = report_trigger("mon 09:00", "Europe/Moscow")
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 20, tzinfo=MOSCOW))
    assert fire.weekday() == 0 and (fire.hour, fire.minute) == (9, 0)
    cron = report_trigger("0 9 * * mon", "Europe/Moscow")
    assert cron.get_next_fire_time(None, datetime(2026, 11, 20, tzinfo=MOSCOW)) == fire
