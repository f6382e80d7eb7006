"""Weekly report figures from hand-made visits, each expected figure worked out by hand.

The world: Moscow time (UTC+3), report week 2026-W10 (Mon 2 March – Sun 8 March local).
Stores S1 (active), S2 (inactive but visited), S3 (active, never visited), S4 (inactive,
never visited). Employees S1-01 Anna and S1-02 Boris at S1, S2-01 Vera at S2. Shoppers E-01
and E-02. Store visits answer a few items of the shipped ``store_visit`` checklist (skipped
items drop out of the score); V2 uses version 2 of it, which rewords ``smiled``.

Item weights used: greet_time 2 (≤30 s → 1, ≤60 s → 0.5, else 0), greeted 2 (critical),
smiled 1, named_self 1 (asked only when greeted = yes), three_yes 2 (≥3 → 1, N/A allowed),
tidiness 1 (clean 1, minor_issues 0.5, untidy 0); phone_call: answer_time 2 (≤15 s → 1),
greeted 2 (critical), named_self 1 (critical). Pass mark 80 %.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, func, select, update

from bot.i18n import Translator
from checklists.loader import load_all
from checklists.scoring import Answer as Given
from exports import aggregate, week_figures
from exports.aggregate import build_report
from exports.build import read_week
from exports.report_data import (
    EmployeeRow,
    ItemColumn,
    Report,
    Scope,
    ScopeKind,
    StandardRow,
    StoreRow,
    TrendPoint,
    UnmatchedEmployee,
    VisitRow,
    WeakStandard,
)
from exports.weeks import Week
from storage import cards, checklist_versions, ledger, visits
from storage.db import Database
from storage.models import (
    ActionStatus,
    Answer,
    ChecklistVersion,
    CorrectiveAction,
    DisputeOutcome,
    Employee,
    Role,
    Store,
    Visit,
    VisitCard,
    VisitStatus,
)
from storage.people import add_person
from testkit.bot_harness import demo_visits
from tests.figures import same

MOSCOW = ZoneInfo("Europe/Moscow")
WEEK = Week(2026, 10)
NOW = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
ALL = Scope(ScopeKind.ALL)
NA = Given(na=True)
CHECKLISTS = Path(__file__).parent / "fixtures" / "checklists"
"""The checklists these figures were worked out on: a copy of the shipped ones as they were,
so that the shipped checklists may change without changing what is computed here."""
SHIPPED = {c.checklist.id: c.checklist.version for c in load_all([CHECKLISTS])}
STORE_V1, STORE_V2 = (
    f"store_visit v{SHIPPED['store_visit']}",
    f"store_visit v{SHIPPED['store_visit'] + 1}",
)
PHONE_V1 = f"phone_call v{SHIPPED['phone_call']}"
"""The names the Visits sheet gives the shipped versions, and the test's next one."""


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Moscow wall-clock time as the aware UTC time the database keeps."""
    return datetime(2026, month, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


def naive(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute)


@dataclass
class World:
    database: Database
    ids: dict[str, int] = field(default_factory=dict)

    def report(self, week: Week = WEEK, scope: Scope = ALL, **options: Any) -> Report:
        options.setdefault("language", "en")
        with self.database.read() as session:
            return build_report(session, week, scope, zone=MOSCOW, now=NOW, **options)


def _store_visit_v2(folder: Path) -> Path:
    """Version 2 of store_visit: a new title and a reworded ``smiled``, same item ids."""
    path = folder / "store_visit.yaml"
    shutil.copy(CHECKLISTS / "store_visit.yaml", path)
    text = path.read_text(encoding="utf-8")
    for old, new in (
        (f"version: {SHIPPED['store_visit']}\n", f"version: {SHIPPED['store_visit'] + 1}\n"),
        ('en: "Store visit"', 'en: "Store visit (2026)"'),
        ('en: "Did the employee smile at you?"', 'en: "Did the employee smile at you warmly?"'),
        ('en: "A smile"', 'en: "A warm smile"'),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    built = World(database)
    with database.write() as session:
        v1 = checklist_versions.register(session, load_all([CHECKLISTS]))
        v2 = checklist_versions.register(session, load_all([_store_visit_v2(tmp_path)]))
        versions = {
            "store_visit v1": v1["store_visit"],
            "store_visit v2": v2["store_visit"],
            "phone_call v1": v1["phone_call"],
        }
        stores = {
            code: Store(code=code, name=name, active=active)
            for code, name, active in (
                ("S1", "Tverskaya", True),
                ("S2", "Arbat", False),
                ("S3", "Empty", True),
                ("S4", "Closed", False),
            )
        }
        session.add_all(stores.values())
        session.flush()
        staff = {
            code: Employee(code=code, name=name, store_id=stores[store].id)
            for code, name, store in (
                ("S1-01", "Anna Ivanova", "S1"),
                ("S1-02", "Boris Petrov", "S1"),
                ("S2-01", "Vera Smirnova", "S2"),
            )
        }
        session.add_all(staff.values())
        shoppers = {
            "E-01": add_person(session, Role.EVALUATOR, "Eva"),
            "E-02": add_person(session, Role.EVALUATOR, "Egor"),
        }
        assert sorted(p.pseudonym for p in shoppers.values()) == ["E-01", "E-02"]

        def visit(
            name: str,
            store: str,
            employee: str | None,
            shopper: str,
            at: datetime,
            answers: dict[str, Given],
            *,
            checklist: str = "store_visit v1",
            comments: dict[str, str] | None = None,
            description: str | None = None,
            status: VisitStatus = VisitStatus.SUBMITTED,
        ) -> None:
            version: ChecklistVersion = versions[checklist]
            row = Visit(
                store_id=stores[store].id,
                employee_id=staff[employee].id if employee else None,
                employee_description=description,
                evaluator_id=shoppers[shopper].id,
                checklist_version_id=version.id,
                started_at=at,
            )
            session.add(row)
            session.flush()
            definition = checklist_versions.definition(version)
            comments = comments or {}
            for item_id in [*answers, *(c for c in comments if c not in answers)]:
                answer = Answer(visit_id=row.id, item_id=item_id, comment=comments.get(item_id))
                if item_id in answers:
                    visits.set_answer_value(answer, definition, answers[item_id])
                session.add(answer)
            session.flush()
            assert visits.submit(session, row.id, now=at)
            if status != VisitStatus.SUBMITTED:
                # Still carries submitted_at inside the week: only the status excludes it.
                session.execute(update(Visit).where(Visit.id == row.id).values(status=status))
            built.ids[name] = row.id

        yes, no = Given("yes"), Given("no")
        # --- 2026-W10 ---
        # V1 at Monday 00:00 local (Sunday 21:00 UTC), the first instant of W10:
        # greet_time 20 s → 1×2, greeted 2, smiled 1, named_self 1, tidiness clean 1
        # = 7 of 7 = 100 %; passed. NPS 10 (promoter).
        visit("V1", "S1", "S1-01", "E-01", local(3, 2, 0), {
            "greet_time": Given(20), "greeted": yes, "smiled": yes, "named_self": yes,
            "tidiness": Given("clean"), "nps": Given(10),
        })  # fmt: skip
        # V2 on version 2: greet_time 45 s → 0.5×2 = 1, greeted 2, smiled 0, named_self 0,
        # tidiness minor 0.5, three_yes N/A drops out = 3.5 of 7 = 50 %. NPS 9 (promoter).
        visit("V2", "S1", "S1-01", "E-02", local(3, 4, 15), {
            "greet_time": Given(45), "greeted": yes, "smiled": no, "named_self": no,
            "tidiness": Given("minor_issues"), "three_yes": NA, "nps": Given(9),
        }, checklist="store_visit v2",
           comments={"smiled": "Looked tired", "greet_time": "Waited by the door"})  # fmt: skip
        # V3 at Sunday 23:59 local, the last minute of W10: greet_time 90 s → 0, greeted no
        # → 0 (critical), smiled 1, named_self hidden (greeted = no) so its stale "yes" does
        # not count, tidiness untidy 0 = 1 of 6 = 16.67 %; critical failure. NPS 3.
        visit("V3", "S1", "S1-02", "E-01", local(3, 8, 23, 59), {
            "greet_time": Given(90), "greeted": no, "smiled": yes, "named_self": yes,
            "tidiness": Given("untidy"), "nps": Given(3),
            "comment": Given('=HYPERLINK("http://x")'),
        })  # fmt: skip
        # V7: greet_time 25 s → 2, greeted 2, smiled 0, named_self 0, tidiness untidy 0,
        # three_yes 5 → 1×2 = 6 of 9 = 66.67 %; no NPS.
        visit("V7", "S1", "S1-02", "E-02", local(3, 3, 9), {
            "greet_time": Given(25), "greeted": yes, "smiled": no, "named_self": no,
            "tidiness": Given("untidy"), "three_yes": Given(5),
        })  # fmt: skip
        # V4: greet_time 30 s → 2, greeted 2, smiled 1, tidiness minor 0.5, three_yes 4 → 2
        # = 7.5 of 8 = 93.75 %; passed. NPS 9. A comment on the photo item, no answer.
        visit("V4", "S2", "S2-01", "E-02", local(3, 3, 12), {
            "greet_time": Given(30), "greeted": yes, "smiled": yes,
            "tidiness": Given("minor_issues"), "three_yes": Given(4), "nps": Given(9),
        }, comments={"storefront_photo": "Window dirty"})  # fmt: skip
        # V5, employee not in the list: greet_time 60 s → 0.5×2 = 1, greeted 2, smiled 0,
        # tidiness clean 1, three_yes 2 → 0 = 4 of 8 = 50 %; no NPS.
        visit("V5", "S2", None, "E-01", local(3, 5, 18, 30), {
            "greet_time": Given(60), "greeted": yes, "smiled": no, "tidiness": Given("clean"),
            "three_yes": Given(2),
        }, description="Girl at the till, glasses")  # fmt: skip
        # V6, a phone call: answer_time 10 s → 1×2, greeted 2, named_self no → 0 (critical)
        # = 4 of 5 = 80 %, but a critical failure, so not passed. NPS 8 (passive).
        visit("V6", "S2", "S2-01", "E-01", local(3, 6, 11), {
            "answer_time": Given(10), "greeted": yes, "named_self": no, "nps": Given(8),
        }, checklist="phone_call v1")  # fmt: skip
        # Not submitted, though stamped inside W10: all-"no" visits that would drag S1 down.
        for name, status in (
            ("draft", VisitStatus.DRAFT),
            ("cancelled", VisitStatus.CANCELLED),
            ("voided", VisitStatus.VOIDED),
        ):
            visit(name, "S1", "S1-01", "E-01", local(3, 4, 10), {
                "greeted": no, "smiled": no, "nps": Given(0),
            }, status=status)  # fmt: skip
        # --- other weeks ---
        # P1, Sunday 1 March 23:59 local = W09: greet_time 45 → 1, greeted 2, smiled 1,
        # tidiness untidy 0 = 4 of 6 = 66.67 %.
        visit("P1", "S1", "S1-01", "E-01", local(3, 1, 23, 59), {
            "greet_time": Given(45), "greeted": yes, "smiled": yes, "tidiness": Given("untidy"),
        })  # fmt: skip
        # P2 in W08: greeted only = 2 of 2 = 100 %.
        visit("P2", "S2", "S2-01", "E-02", local(2, 18, 10), {"greeted": yes})
        # P3 at Monday 12 January 00:00 local, the first instant of W03 (the oldest of the
        # eight trend weeks): greeted 2, smiled 0 = 2 of 3 = 66.67 %.
        visit("P3", "S1", "S1-02", "E-01", local(1, 12, 0), {"greeted": yes, "smiled": no})
        # P4 one minute earlier, Sunday of W02: outside the trend. 0 %.
        visit("P4", "S1", "S1-02", "E-01", local(1, 11, 23, 59), {"greeted": no})
        # N1 at Monday 9 March 00:00 local (Sunday 21:00 UTC) = W11: 100 %.
        visit("N1", "S1", "S1-01", "E-02", local(3, 9, 0), {"greeted": yes})
    return built


# Visit scores as fractions, from the comments above.
V1, V2, V3, V4, V5, V6, V7 = 1.0, 3.5 / 7, 1 / 6, 7.5 / 8, 4 / 8, 4 / 5, 6 / 9
P1, P2, P3 = 4 / 6, 1.0, 2 / 3
S1_AVERAGE = (V1 + V2 + V3 + V7) / 4  # (100 + 50 + 16.67 + 66.67) / 4 = 58.33 % = 7/12
S2_AVERAGE = (V4 + V5 + V6) / 3  # (93.75 + 50 + 80) / 3 = 74.58 % = 179/240
NONE_8: tuple[None, ...] = (None,) * 8


def test_store_rows_count_visits_scores_passes_critical_failures_nps_and_change(
    world: World,
) -> None:
    report = world.report()
    assert same([S1_AVERAGE, S2_AVERAGE], [7 / 12, 179 / 240])
    expected = [
        # S1: V1, V2, V3, V7. Passed: V1 only → 1/4. Critical: V3. NPS ratings 10, 9, 3:
        # 2 promoters − 1 detractor over 3 = 33.33. Change: 7/12 − P1 (8/12) = −1/12.
        StoreRow("S1", "Tverskaya", 4, S1_AVERAGE, 1 / 4, 1, 100 * (2 - 1) / 3, -1 / 12, 0.8),
        # S2 (inactive, but visited): V4, V5, V6. Passed: V4 → 1/3. Critical: V6. NPS 9, 8:
        # 1 promoter − 0 detractors over 2 = 50. No visit in W09 → no change.
        StoreRow("S2", "Arbat", 3, S2_AVERAGE, 1 / 3, 1, 50.0, None, 0.8),
        # S3: active, no visits: a row of empty cells. S4: inactive and unvisited → no row.
        StoreRow("S3", "Empty", 0, None, None, 0, None, None),
    ]
    assert same(report.stores, expected)
    assert report.week == WEEK and report.scope == ALL and report.language == "en"
    assert report.generated_at == NOW


def test_change_is_against_the_previous_week_and_a_week_without_visits_is_empty(
    world: World,
) -> None:
    # W11 holds only N1 (100 %): S1's change is 1 − 7/12 = 5/12.
    (s1, s3) = world.report(Week(2026, 11)).stores
    assert same(s1, StoreRow("S1", "Tverskaya", 1, 1.0, 1.0, 0, None, 5 / 12, 0.8))
    assert s3.visits == 0 and s3.change is None
    empty = world.report(Week(2026, 5))
    assert [s.store_code for s in empty.stores] == ["S1", "S3"]
    assert all(s.visits == 0 and s.average_score is None for s in empty.stores)
    assert empty.standards == empty.employees == empty.unmatched == list(empty.visits) == []
    assert empty.item_columns == []
    # Its trend (2025-W50 … 2026-W05) still shows P4 (0 %, a real zero) and P3 (2/3).
    assert str(empty.trend_weeks[0]) == "2025-W50"
    assert same(
        [p.average_score for p in empty.trend], [None, None, None, None, 0.0, P3, None, None]
    )


def test_standards_give_the_share_of_visits_that_met_each_item_per_store(world: World) -> None:
    store, phone = "Store visit (2026)", "Phone call"
    # The n beside each share: visits where the standard counted, per store and overall.
    N_PHONE, N_ALL = {"S1": 0, "S2": 1, "S3": 0}, {"S1": 4, "S2": 2, "S3": 0}
    expected = [
        # Checklists by id (phone_call before store_visit), items in checklist order. Only
        # V6 is a call: answer_time 10 s met, greeted met, named_self not met.
        StandardRow(phone, "Answering", "answer_time", "Answered within 15 s",
                    {"S1": None, "S2": 1.0, "S3": None}, 1.0, N_PHONE, 1),
        StandardRow(phone, "Answering", "greeted", "Greeting with the company name",
                    {"S1": None, "S2": 1.0, "S3": None}, 1.0, N_PHONE, 1),
        StandardRow(phone, "Answering", "named_self", "Introduced by name",
                    {"S1": None, "S2": 0.0, "S3": None}, 0.0, N_PHONE, 1),
        # greet_time met (score 1) in S1: V1 20 s, V7 25 s of V1, V2, V3, V7 → 2/4;
        # S2: V4 30 s of V4, V5 → 1/2; overall 3/6.
        StandardRow(store, "Greeting", "greet_time", "Approached within 30 s",
                    {"S1": 2 / 4, "S2": 1 / 2, "S3": None}, 3 / 6, N_ALL, 6),
        # greeted: S1 V1, V2, V7 of 4 → 3/4; S2 2/2; overall 5/6.
        StandardRow(store, "Greeting", "greeted", "Greeting",
                    {"S1": 3 / 4, "S2": 1.0, "S3": None}, 5 / 6, N_ALL, 6),
        # smiled, compared across v1 and v2 by item id and worded as v2: S1 V1, V3 of 4;
        # S2 V4 of 2; overall 3/6.
        StandardRow(store, "Greeting", "smiled", "A warm smile",
                    {"S1": 2 / 4, "S2": 1 / 2, "S3": None}, 3 / 6, N_ALL, 6),
        # named_self counted in V1 (yes), V2 (no), V7 (no); V3's is hidden → S1 1/3;
        # S2 never asked.
        StandardRow(store, "Greeting", "named_self", "Introduced by name",
                    {"S1": 1 / 3, "S2": None, "S3": None}, 1 / 3,
                    {"S1": 3, "S2": 0, "S3": 0}, 3),
        # three_yes: V2 N/A drops out; S1 V7 met → 1/1; S2 V4 met, V5 not → 1/2; 2/3.
        StandardRow(store, "Needs discovery", "three_yes", "Three “yes” before the offer",
                    {"S1": 1.0, "S2": 1 / 2, "S3": None}, 2 / 3,
                    {"S1": 1, "S2": 2, "S3": 0}, 3),
        # tidiness met only when clean: S1 V1 of 4 → 1/4; S2 V5 of 2 → 1/2; overall 2/6.
        StandardRow(store, "Service and store", "tidiness", "A tidy sales floor",
                    {"S1": 1 / 4, "S2": 1 / 2, "S3": None}, 2 / 6, N_ALL, 6),
    ]  # fmt: skip
    assert same(world.report().standards, expected)


def test_employee_rows_show_average_weakest_standards_and_an_eight_week_trend(
    world: World,
) -> None:
    greet_time = "Approached within 30 s"
    expected = [
        # Anna: V1, V2 → (100 + 50) / 2 = 75 %. Met shares: greet_time 1/2, greeted 2/2,
        # smiled 1/2, named_self 1/2, tidiness 1/2: four ties at 0.5, so the first three
        # in checklist order (smiled comes before named_self, though not alphabetically).
        # Trend W03…W10: P1 in W09, this week.
        EmployeeRow("S1-01", "Anna Ivanova", "S1", 2, (V1 + V2) / 2,
                    (WeakStandard(greet_time, 0.5, 1, 2),
                     WeakStandard("A warm smile", 0.5, 1, 2),
                     WeakStandard("Introduced by name", 0.5, 1, 2)),
                    (None, None, None, None, None, None, P1, (V1 + V2) / 2)),
        # Boris: V3, V7 → (16.67 + 66.67) / 2 = 41.67 %. Shares: greet_time 1/2, greeted
        # 1/2, smiled 1/2, named_self 0/1 (V3's hidden), three_yes 1/1, tidiness 0/2.
        # Lowest three: named_self 0, tidiness 0, then greet_time first of the 0.5 ties.
        # Trend: P3 in W03 (P4 in W02 is outside the eight weeks).
        EmployeeRow("S1-02", "Boris Petrov", "S1", 2, (V3 + V7) / 2,
                    (WeakStandard("Introduced by name", 0.0, 0, 1),
                     WeakStandard("A tidy sales floor", 0.0, 0, 2),
                     WeakStandard(greet_time, 0.5, 1, 2)),
                    (P3, None, None, None, None, None, None, (V3 + V7) / 2)),
        # Vera: V4 (store), V6 (phone) → (93.75 + 80) / 2 = 86.875 %. Below 1: the phone
        # named_self 0/1 and tidiness 0/1 (minor issues). Trend: P2 in W08.
        EmployeeRow("S2-01", "Vera Smirnova", "S2", 2, (V4 + V6) / 2,
                    (WeakStandard("Introduced by name", 0.0, 0, 1),
                     WeakStandard("A tidy sales floor", 0.0, 0, 1)),
                    (None, None, None, None, None, P2, None, (V4 + V6) / 2)),
    ]  # fmt: skip
    assert same((V4 + V6) / 2, 0.86875)
    employees = world.report().employees
    # Vera's tidiness was "minor issues" (0.5), which is not "met": 0 of 1 met fully.
    assert same(employees, expected)


def test_a_described_employee_is_listed_for_matching_with_the_local_time(world: World) -> None:
    assert world.report().unmatched == [
        UnmatchedEmployee(world.ids["V5"], naive(3, 5, 18, 30), "S2", "Girl at the till, glasses")
    ]


def test_every_visit_is_listed_with_its_answers_as_given_and_its_comments(world: World) -> None:
    report = world.report()
    # Headers are the standards' short names (never over 60 characters).
    greet_time = "Approached within 30 s"
    assert report.item_columns == [
        # store_visit items first (the store checklist), in checklist order, then the
        # phone call's own items; shared ids (greeted, named_self, nps) take one column.
        ItemColumn("greet_time", greet_time),
        ItemColumn("greeted", "Greeting"),
        ItemColumn("smiled", "A warm smile"),
        ItemColumn("named_self", "Introduced by name"),
        ItemColumn("three_yes", "Three “yes” before the offer"),
        ItemColumn("tidiness", "A tidy sales floor"),
        ItemColumn("nps", "Would recommend (NPS)"),
        ItemColumn("comment", "Comment"),
        ItemColumn("answer_time", "Answered within 15 s"),
    ]
    assert all(len(c.header) <= 60 for c in report.item_columns)
    columns = [c.item_id for c in report.item_columns]

    def answers(**given: str | float) -> dict[str, str | float]:
        assert set(given) <= set(columns)
        return dict(given)

    ids = world.ids
    expected = [
        # Ordered by submission time; times are Moscow wall-clock without a zone.
        VisitRow(ids["V1"], naive(3, 2, 0), "S1", "S1-01", "E-01", STORE_V1, V1,
                 True, False,
                 answers(greet_time=20.0, greeted="yes", smiled="yes", named_self="yes",
                         tidiness="Clean and tidy", nps=10.0), ""),
        VisitRow(ids["V7"], naive(3, 3, 9), "S1", "S1-02", "E-02", STORE_V1, V7,
                 False, False,
                 answers(greet_time=25.0, greeted="yes", smiled="no", named_self="no",
                         three_yes=5.0, tidiness="Untidy"), ""),
        VisitRow(ids["V4"], naive(3, 3, 12), "S2", "S2-01", "E-02", STORE_V1, V4,
                 True, False,
                 answers(greet_time=30.0, greeted="yes", smiled="yes", three_yes=4.0,
                         tidiness="Minor issues", nps=9.0),
                 "Storefront photo: Window dirty"),
        # Comments in checklist order, whatever order they were typed in.
        VisitRow(ids["V2"], naive(3, 4, 15), "S1", "S1-01", "E-02", STORE_V2, V2,
                 False, False,
                 answers(greet_time=45.0, greeted="yes", smiled="no", named_self="no",
                         three_yes="N/A",
                         tidiness="Minor issues", nps=9.0),
                 "Approached within 30 s: Waited by the door\nA warm smile: Looked tired"),
        VisitRow(ids["V5"], naive(3, 5, 18, 30), "S2", "", "E-01", STORE_V1, V5,
                 False, False,
                 answers(greet_time=60.0, greeted="yes", smiled="no", three_yes=2.0,
                         tidiness="Clean and tidy"), ""),
        VisitRow(ids["V6"], naive(3, 6, 11), "S2", "S2-01", "E-01", PHONE_V1, V6,
                 False, True,
                 answers(answer_time=10.0, greeted="yes", named_self="no", nps=8.0), ""),
        # named_self was answered, then hidden by greeted = no: not shown. The text answer
        # is kept exactly as typed (the workbook writer defuses formulas).
        VisitRow(ids["V3"], naive(3, 8, 23, 59), "S1", "S1-02", "E-01", STORE_V1, V3,
                 False, True,
                 answers(greet_time=90.0, greeted="no", smiled="yes", tidiness="Untidy",
                         nps=3.0, comment='=HYPERLINK("http://x")'), ""),
    ]  # fmt: skip
    assert same(list(report.visits), expected)


def test_the_visits_sheet_is_the_same_read_in_chunks_of_any_size(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # V5 loses its answers: a visit without any sits between visits with some.
    with world.database.write() as session:
        session.execute(delete(Answer).where(Answer.visit_id == world.ids["V5"]))
    whole = list(world.report().visits)
    assert [row.answers for row in whole if row.visit_id == world.ids["V5"]] == [{}]
    assert all(row.answers for row in whole if row.visit_id != world.ids["V5"])
    for chunk in (1, 2, 3):
        monkeypatch.setattr(week_figures, "STREAM_CHUNK", chunk)
        assert list(world.report().visits) == whole, f"read {chunk} rows at a time"


def test_drafts_cancelled_and_voided_visits_are_left_out(world: World) -> None:
    report = world.report()
    listed = {row.visit_id for row in report.visits}
    assert listed == {world.ids[name] for name in ("V1", "V2", "V3", "V4", "V5", "V6", "V7")}
    assert not listed & {world.ids[n] for n in ("draft", "cancelled", "voided")}
    assert report.stores[0].visits == 4 and report.stores[0].nps == pytest.approx(100 / 3)


def test_iso_weeks_run_from_monday_midnight_to_monday_midnight_moscow_time(world: World) -> None:
    # Sunday 21:00 UTC is Monday 00:00 in Moscow: V1 opens W10 and N1 opens W11, while
    # P1 (Sunday 23:59 local, 20:59 UTC) closes W09 and V3 (Sunday 23:59) closes W10.
    assert local(3, 9, 0) == datetime(2026, 3, 8, 21, 0, tzinfo=UTC)
    ids = {name: world.ids[name] for name in ("V1", "V3", "P1", "N1")}

    def listed(week: Week) -> set[int]:
        return {row.visit_id for row in world.report(week).visits} & set(ids.values())

    assert listed(Week(2026, 9)) == {ids["P1"]}
    assert listed(Week(2026, 10)) == {ids["V1"], ids["V3"]}
    assert listed(Week(2026, 11)) == {ids["N1"]}


def test_the_trend_covers_eight_weeks_overall_and_per_store(world: World) -> None:
    # This week over all 7 visits: (100 + 50 + 16.67 + 66.67 + 93.75 + 50 + 80) / 7
    # = (700/3 + 895/4) / 7 % = 5485/84 % = 65.30 %.
    overall = (V1 + V2 + V3 + V7 + V4 + V5 + V6) / 7
    assert same(overall, 5485 / 8400)
    empty = {"S1": None, "S2": None, "S3": None}
    weeks = [Week(2026, n) for n in range(3, 11)]
    expected = [
        # P3 at the first instant of W03; every checklist's pass mark is 80 %.
        TrendPoint(weeks[0], P3, {**empty, "S1": P3}, pass_mark=0.8),
        *(TrendPoint(w, None, empty) for w in weeks[1:5]),
        TrendPoint(weeks[5], P2, {**empty, "S2": P2}, pass_mark=0.8),
        TrendPoint(weeks[6], P1, {**empty, "S1": P1}, pass_mark=0.8),
        TrendPoint(
            weeks[7], overall, {"S1": S1_AVERAGE, "S2": S2_AVERAGE, "S3": None}, pass_mark=0.8
        ),
    ]
    report = world.report()
    assert same(report.trend, expected)
    assert report.trend_weeks == weeks


def test_a_managers_report_holds_nothing_of_another_store(world: World) -> None:
    scope = Scope(ScopeKind.STORES, frozenset({"S2", "S9"}))  # S9 does not exist
    report = world.report(scope=scope)
    full = world.report()
    assert report.stores == [full.stores[1]]
    # Only standards that counted in S2 (store_visit named_self did not), S2 shares only.
    assert [(r.item_id, r.met_share, r.overall) for r in report.standards] == [
        (r.item_id, {"S2": r.met_share["S2"]}, r.met_share["S2"])
        for r in full.standards
        if r.met_share["S2"] is not None
    ]
    assert report.employees == [full.employees[2]]
    assert report.unmatched == full.unmatched
    assert [c.item_id for c in report.item_columns] == [
        "greet_time", "greeted", "smiled", "three_yes", "tidiness", "nps",
        "answer_time", "named_self",
    ]  # fmt: skip
    assert [r.visit_id for r in report.visits] == [world.ids[n] for n in ("V4", "V5", "V6")]
    assert [r.evaluator for r in report.visits] == ["E-02", "E-01", "E-01"]
    # Trend: S2 alone, overall included (P2 in W08; this week S2's 179/240).
    assert all(set(p.per_store) == {"S2"} for p in report.trend)
    assert [p.average_score for p in report.trend] == pytest.approx(
        [None, None, None, None, None, P2, None, S2_AVERAGE]
    )
    text = repr(report)
    for other in ("S1", "S3", "S4", "Tverskaya", "Anna", "Boris"):
        assert other not in text


def test_a_manager_of_a_store_without_visits_gets_empty_sheets(world: World) -> None:
    report = world.report(scope=Scope(ScopeKind.STORES, frozenset({"S3"})))
    assert [s.store_code for s in report.stores] == ["S3"]
    assert report.standards == report.employees == list(report.visits) == report.unmatched == []
    assert [p.per_store for p in report.trend] == [{"S3": None}] * 8
    assert [p.average_score for p in report.trend] == [None] * 8


def test_hr_sees_everything_but_who_the_shopper_was(world: World) -> None:
    full = world.report()
    hr = world.report(scope=Scope(ScopeKind.HR))
    assert [row.evaluator for row in hr.visits] == [None] * 7
    assert "E-0" not in repr(hr)
    assert list(hr.visits) == [dataclasses.replace(row, evaluator=None) for row in full.visits]
    assert (hr.stores, hr.standards, hr.employees, hr.unmatched, hr.trend) == (
        full.stores,
        full.standards,
        full.employees,
        full.unmatched,
        full.trend,
    )


def test_russian_reports_use_russian_texts_and_the_given_answer_labels(world: World) -> None:
    t = Translator("ru", "reports")
    report = world.report(language="ru", labels=t)
    v2 = next(row for row in report.visits if row.visit_id == world.ids["V2"])
    assert v2.answers["greeted"] == t("answer.yes") and v2.answers["smiled"] == t("answer.no")
    assert v2.answers["three_yes"] == t("answer.na")
    assert v2.answers["tidiness"] == "Есть мелкие недочёты"
    greeted = report.standards[4]
    assert (greeted.checklist_title, greeted.section_title, greeted.standard) == (
        "Визит в магазин",
        "Встреча",
        "Приветствие",
    )
    assert report.item_columns[1] == ItemColumn("greeted", "Приветствие")


def test_the_number_of_queries_does_not_grow_with_the_visits(world: World) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(world.database.engine, "before_cursor_execute", count)
    try:
        counts = []
        for week in (Week(2026, 5), Week(2026, 11), WEEK):  # 0, 1 and 7 visits
            statements.clear()
            world.report(week)
            counts.append(len(statements))
    finally:
        event.remove(world.database.engine, "before_cursor_execute", count)
    assert counts[0] == counts[1] == counts[2] <= 14  # with the flags and actions queries


def test_generated_at_is_kept_in_utc(world: World) -> None:
    # 09:00 in Moscow is 06:00 UTC.
    with world.database.read() as session:
        report = build_report(
            session,
            WEEK,
            ALL,
            zone=MOSCOW,
            language="en",
            now=datetime(2026, 3, 9, 9, 0, tzinfo=MOSCOW),
        )
    assert report.generated_at == NOW and report.generated_at.tzinfo == UTC


def test_the_visits_sheet_says_what_the_managers_did_with_each_card(world: World) -> None:
    """V1's card reached both S1 managers and one saw it; V2 is disputed; V4's dispute was
    decided (the visit stands); V7's cards are not sent yet; the others have none."""
    with world.database.write() as session:
        s1, s2 = (session.scalars(select(Store).where(Store.code == c)).one() for c in ("S1", "S2"))
        first, second = (add_person(session, Role.MANAGER, n, [s1]) for n in ("M1", "M2"))
        third = add_person(session, Role.MANAGER, "M3", [s2])
        admin = add_person(session, Role.ADMIN, "A")
        for number, person in enumerate((first, second, third)):
            person.telegram_id = 800 + number
        sent: dict[tuple[str, int], VisitCard] = {}
        for name in ("V1", "V2", "V4", "V7"):
            visit = session.get(Visit, world.ids[name])
            assert visit is not None
            cards.due(session, visit)
            session.flush()
            if name == "V7":
                continue
            for card in session.scalars(select(VisitCard).where(VisitCard.visit_id == visit.id)):
                claimed = cards.claim(session, card.id, "test", NOW)
                assert claimed is not None
                ledger.mark_sent(session, VisitCard, card.id, claimed.token, NOW)
                sent[name, card.manager_id] = card
        cards.see(sent["V1", first.id], NOW)
        cards.dispute(session, sent["V2", second.id], "It was a trainee's first day", NOW)
        cards.dispute(session, sent["V4", third.id], "Wrong store", NOW)
        v4 = session.get(Visit, world.ids["V4"])
        assert v4 is not None
        cards.settle(session, v4, DisputeOutcome.UPHELD, "", admin.id, NOW)
    for language, expected in (
        (
            "en",
            [
                "seen by 1 of 2",
                "seen by 1 of 2; disputed, under review",
                "seen by 1 of 1; disputed, the visit stands",
            ],
        ),
        (
            "ru",
            [
                "просмотрели 1 из 2",
                "просмотрели 1 из 2; оспорен, на проверке",
                "просмотрели 1 из 1; оспорен, оставлен в силе",
            ],
        ),
    ):
        report = world.report(language=language, labels=Translator(language, "reports"))
        shown = {row.visit_id: row.acknowledged for row in report.visits}
        assert [shown[world.ids[v]] for v in ("V1", "V2", "V4")] == expected
        assert {shown[world.ids[v]] for v in ("V3", "V5", "V6", "V7")} == {""}


# --- Totals, the network, like-for-like change, coaching, actions as of the week's end ---

ALL_SCORES = (V1, V2, V3, V7, V4, V5, V6)


def test_the_total_row_sums_the_scopes_stores_and_a_manager_sees_the_network_anonymously(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # All seven visits: passed V1 and V4 (2 of 7 scored), critical V3 and V6, NPS ratings
    # 10, 9, 3, 9, 8 → 3 promoters − 1 detractor over 5 = 40. Change like for like, store
    # by store: only S1 was visited in W09 (P1, store_visit), so the change is S1's, −1/12;
    # S2 (nothing last week) is never compared with S1's last week.
    network = StoreRow("", "", 7, sum(ALL_SCORES) / 7, 2 / 7, 2, 100 * (3 - 1) / 5, -1 / 12, 0.8)
    admin = world.report()
    assert same(admin.total, network) and admin.network is None and admin.network_stores == 0
    # Beside S2 the network would be S1 alone (the only other store visited): not shown.
    hidden = world.report(scope=Scope(ScopeKind.STORES, frozenset({"S2"})))
    assert hidden.network is None and [p.network for p in hidden.trend] == [None] * 8
    assert hidden.network_stores == 0
    # With enough other stores (here: one is enough) the network is every store together.
    monkeypatch.setattr(aggregate, "MIN_OTHER_STORES", 1)
    manager = world.report(scope=Scope(ScopeKind.STORES, frozenset({"S2"})))
    # S2 alone: V4, V5, V6; W09 had no S2 visit, so no change.
    assert same(manager.total, StoreRow("", "", 3, S2_AVERAGE, 1 / 3, 1, 50.0, None, 0.8))
    assert same(manager.network, network)
    assert manager.network_stores == 3  # S1 and S3 active, S2 visited; S4 neither
    # The trend's network line is every store's average, in the weeks another was visited
    # (W08 had only S2's P2: nothing to hide S2's own figures among).
    expected = [p.average_score for p in admin.trend]
    expected[5] = None
    assert same([p.network for p in manager.trend], expected)
    assert [p.network for p in admin.trend] == [None] * 8


def test_change_compares_only_visits_of_the_same_checklist_and_items(
    world: World, tmp_path: Path
) -> None:
    # S1 this week on store_visit v1/v2 (same items) against P1 last week: −1/12 (as before).
    # Were V2's version to have other items, it would drop out: V1, V3, V7 against P1.
    with world.database.write() as session:
        v2 = session.get(Visit, world.ids["V2"])
        assert v2 is not None
        old = v2.checklist_version
        content = copy.deepcopy(old.definition)
        items = content["sections"][0]["items"]
        items.append({**items[-1], "id": "eye_contact"})
        content["version"] = old.version + 1
        newer = ChecklistVersion(
            checklist_id=old.checklist_id,
            version=old.version + 1,
            content_hash="eye-contact",
            channel=old.channel,
            definition=content,
        )
        session.add(newer)
        session.flush()
        v2.checklist_version_id = newer.id
    s1 = world.report().stores[0]
    assert same(s1.change, (V1 + V3 + V7) / 3 - P1)


def test_pass_rate_is_blank_where_no_visit_of_the_store_was_scored(world: World) -> None:
    with world.database.write() as session:
        s3 = session.scalars(select(Store).where(Store.code == "S3")).one()
        first = session.scalars(select(Visit).where(Visit.id == world.ids["V1"])).one()
        version = checklist_versions.definition(first.checklist_version)
        row = Visit(
            store_id=s3.id,
            evaluator_id=first.evaluator_id,
            checklist_version_id=first.checklist_version_id,
            started_at=local(3, 4, 10),
        )
        session.add(row)
        session.flush()
        for item_id in ("greeted", "smiled"):
            answer = Answer(visit_id=row.id, item_id=item_id)
            visits.set_answer_value(answer, version, NA)
            session.add(answer)
        session.flush()
        assert visits.submit(session, row.id, now=local(3, 4, 10))
        assert row.score is None
    s3_row = next(s for s in world.report().stores if s.store_code == "S3")
    # One visit, nothing scored: no average, no pass rate (not "0 %"), no pass mark.
    assert (s3_row.visits, s3_row.average_score, s3_row.pass_rate) == (1, None, None)
    assert s3_row.pass_mark is None


def test_coaching_lists_each_standard_not_fully_met_with_the_answer_and_comment(
    world: World,
) -> None:
    report = world.report()
    anna = [
        (r.visit_id, r.standard, r.result, r.answer, r.comment)
        for r in report.coaching
        if r.employee_code == "S1-01"
    ]
    # V1 met everything; V2: greet_time 45 s (0.5), smiled no, named_self no, tidiness
    # minor issues (0.5); three_yes was N/A and counts for nothing.
    v2 = world.ids["V2"]
    assert anna == [
        (v2, "Approached within 30 s", "partly met", "45 s", "Waited by the door"),
        (v2, "A warm smile", "not met", "no", "Looked tired"),
        (v2, "Introduced by name", "not met", "no", ""),
        (v2, "A tidy sales floor", "partly met", "Minor issues", ""),
    ]
    first = next(r for r in report.coaching if r.employee_code == "S1-01")
    assert (first.employee_name, first.store_code, first.checklist) == (
        "Anna Ivanova",
        "S1",
        "Store visit (2026)",
    )
    assert first.visited_at == naive(3, 4, 15)
    # Boris's V3: named_self was hidden (not asked), so it is not a shortfall.
    v3 = [r.standard for r in report.coaching if r.visit_id == world.ids["V3"]]
    assert "Introduced by name" not in v3 and "Greeting" in v3
    # V5's employee was described, not picked: no one to coach by name.
    assert world.ids["V5"] not in {r.visit_id for r in report.coaching}
    # Sorted by store, employee and time; a manager sees only their store's; HR sees it all.
    assert [(r.store_code, r.employee_code) for r in report.coaching] == sorted(
        (r.store_code, r.employee_code) for r in report.coaching
    )
    s2 = world.report(scope=Scope(ScopeKind.STORES, frozenset({"S2"})))
    assert {r.employee_code for r in s2.coaching} == {"S2-01"}
    assert world.report(scope=Scope(ScopeKind.HR)).coaching == report.coaching


def test_an_employee_no_longer_on_the_staff_list_is_marked(world: World) -> None:
    with world.database.write() as session:
        session.execute(update(Employee).where(Employee.code == "S1-02").values(active=False))
    active = {e.employee_code: e.active for e in world.report().employees}
    assert active == {"S1-01": True, "S1-02": False, "S2-01": True}


def test_actions_are_shown_as_they_stood_when_the_week_ended(world: World) -> None:
    def action(name: str, opened: datetime, due: date, **changes: Any) -> None:
        with world.database.write() as session:
            v3 = session.get(Visit, world.ids["V3"])
            assert v3 is not None
            session.add(
                CorrectiveAction(
                    visit_id=v3.id, store_id=v3.store_id, checklist_id="store_visit",
                    item_id="greeted", action=name, due_on=due, created_at=opened, **changes,
                )
            )  # fmt: skip

    closed, verified, open_ = ActionStatus.CLOSED, ActionStatus.VERIFIED, ActionStatus.OPEN
    # W10 runs from Monday 2 March to Sunday 8 March; everything after is not yet known.
    action(
        "closed after the week",
        local(3, 4, 10),
        date(2026, 3, 11),
        status=closed,
        done_at=local(3, 10, 9),
    )
    action(
        "overdue at the end",
        local(3, 2, 10),
        date(2026, 3, 5),
        status=closed,
        done_at=local(3, 9, 9),
    )
    action(
        "verified after the week",
        local(3, 2, 10),
        date(2026, 3, 9),
        status=verified,
        done_at=local(3, 3, 9),
        verified_at=local(3, 10, 9),
    )
    action(
        "reopened after the week",
        local(3, 2, 10),
        date(2026, 3, 16),
        status=open_,
        done_at=local(3, 3, 9),
        reopened_at=local(3, 9, 9),
        reopens=1,
        due_before_reopen=date(2026, 3, 6),
    )
    action(
        "verified in the week",
        local(2, 20, 10),
        date(2026, 2, 27),
        status=verified,
        done_at=local(2, 21, 9),
        verified_at=local(3, 3, 9),
    )
    action(
        "verified before the week",
        local(2, 20, 10),
        date(2026, 2, 27),
        status=verified,
        done_at=local(2, 21, 9),
        verified_at=local(3, 1, 9),
    )
    action("reopened in the week", local(3, 2, 10), date(2026, 3, 12), status=open_,
           done_at=local(3, 3, 9), reopened_at=local(3, 5, 9), reopens=1,
           due_before_reopen=date(2026, 3, 6))  # fmt: skip

    rows = {
        row.action: (row.status, row.due_on, row.closed_on, row.verified_on, row.days_open)
        for row in world.report().actions
    }
    day = partial(date, 2026)
    assert rows == {
        # Open at Monday 00:00, five days from Wednesday; overdue when due before it.
        "closed after the week": ("open", day(3, 11), None, None, 5),
        "overdue at the end": ("overdue", day(3, 5), None, None, 7),
        "verified after the week": ("closed", day(3, 9), day(3, 3), None, 1),
        # Reopened only later: closed at the end, due as it was then.
        "reopened after the week": ("closed", day(3, 6), day(3, 3), None, 1),
        "verified in the week": ("verified", day(2, 27), day(2, 21), day(3, 3), 1),
        "reopened in the week": ("reopened", day(3, 12), None, None, 7),
    }


def test_a_question_that_only_decides_what_is_asked_next_is_not_a_standard(
    database: Database,
) -> None:
    # The shipped store visit asks "An offer made" (weight 0) only to decide whether the
    # "three yes" rule applies: a "no" there is no shortfall, and no standard to meet.
    week = Week(2026, 46)
    demo_visits(database, stores=3, visits=150, weeks=1, seed=4, until=week.next().monday)
    with database.read() as session:
        answered_no = session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(Answer.item_id == "offer_made", Answer.value_text == "no")
        )
        report = build_report(session, week, ALL, zone=MOSCOW, language="en")
    assert answered_no, "the demo data has offers not made"
    assert "An offer made" not in {row.standard for row in report.standards}
    assert "An offer made" not in {row.standard for row in report.coaching}
    assert all("An offer made" not in w.standard for e in report.employees for w in e.weakest)
    assert report.coaching and report.standards  # the rest is still there


def test_the_week_is_read_in_one_snapshot_while_an_admin_voids_a_visit(world: World) -> None:
    # The visits' listing runs after the week's sums: a visit voided in between must be in
    # both or in neither, and every visit keeps its own answers.
    voided = world.ids["V2"]

    def void_once(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "employee_description" in statement and not done:
            done.append(True)
            with world.database.write() as session:
                session.execute(
                    update(Visit).where(Visit.id == voided).values(status=VisitStatus.VOIDED)
                )

    done: list[bool] = []
    event.listen(world.database.engine, "before_cursor_execute", void_once)
    try:
        figures = read_week(world.database, WEEK, MOSCOW, NOW)
    finally:
        event.remove(world.database.engine, "before_cursor_execute", void_once)
    assert done, "the void happened while the week was read"
    report = aggregate.report_for(figures, ALL, "en")
    assert sum(s.visits for s in report.stores) == len(report.visits) == 7
    assert all(row.answers for row in report.visits)
    # The next reading sees the void.
    assert (
        len(aggregate.report_for(read_week(world.database, WEEK, MOSCOW, NOW), ALL, "en").visits)
        == 6
    )


def test_a_visit_kept_in_the_weeks_columns_reads_back_as_it_was() -> None:
    visit = week_figures.VisitFacts(
        id=70_001, visited_at=datetime(2026, 3, 4, 15, 30, 12, 345_678), store_id=3,
        employee_id=None, employee_code="", evaluator="E-02", version_id=2, score=None,
        passed=False, critical=True, answers=(None, "yes", week_figures.NA, 45, 2.5),
        shortfalls=(0, 9), description="tall, glasses",
        extra=(("gone", "x"),), comments=(("greeted", "late"), ("smiled", "=no")),
        flags=("too_fast",), photos=2, recordings=1, cards=(2, 1, 1, 0),
    )  # fmt: skip
    plain = dataclasses.replace(
        visit, id=70_002, employee_id=9, employee_code="S1-01", score=0.5, passed=True,
        critical=False, answers=(), shortfalls=(), description="", extra=(), comments=(),
        flags=(), photos=0, recordings=0, cards=None,
    )  # fmt: skip
    table = week_figures.VisitTable()
    table.append(visit)
    table.append(plain)
    assert list(table) == [visit, plain] and table[-1] == plain
    assert table.shape(0) == (False, True, True, True, True) and table.shortfall_count(0) == 2
    assert list(week_figures.Subset(table, [1]).having("description")) == []
