"""Field operations in storage: integrity flags, review decisions, assignments, follow-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from checklists.scoring import Answer as A
from storage import actions, checklist_versions, followups, reviews, visits
from storage.db import Database
from storage.drafts import Records
from storage.models import (
    Answer,
    AuditEvent,
    ChecklistVersion,
    Decision,
    Person,
    Photo,
    ReviewDecision,
    ReviewStatus,
    Role,
    Store,
    Visit,
    VisitStatus,
)
from storage.picking import open_for
from storage.roster import RosterError
from testkit.bot_harness import ZONE, World, add_person, make_world, submitted_visit
from visits import assignments, integrity
from visits.clock import Clock
from visits.drafts import open_draft, settle
from visits.submission import submit_visit

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 18)
RULES = integrity.IntegrityRules()
GOOD = {"greet_time": A(12), "greeted": A("yes"), "smiled": A("yes"), "named_self": A("yes")}


@pytest.fixture
def world(database: Database) -> World:
    return make_world(database)


@pytest.fixture
def shopper(world: World) -> int:
    return add_person(world.database, 501, Role.EVALUATOR)


def draft(
    world: World,
    shopper: int,
    answers: dict[str, A],
    *,
    started: datetime,
    measured: bool = True,
    checkin: tuple[float, float] | None = None,
    photos: list[str] = (),
) -> int:  # type: ignore[assignment]
    """A draft visit with answers, as the conversation leaves it before Submit."""
    with world.database.write() as session:
        version = session.get(ChecklistVersion, world.versions["store_visit"])
        assert version is not None
        visit = Visit(
            store_id=world.store_id,
            evaluator_id=shopper,
            employee_id=world.anna_id,
            checklist_version_id=version.id,
            started_at=started,
        )
        if checkin:
            visit.checkin_latitude, visit.checkin_longitude = checkin
            visit.checkin_at = started
        session.add(visit)
        session.flush()
        checklist = checklist_versions.definition(version)
        for item_id, value in answers.items():
            row = Answer(visit_id=visit.id, item_id=item_id, measured=measured)
            visits.set_answer_value(row, checklist, value)
            session.add(row)
        for unique in photos:
            session.add(
                Photo(
                    visit_id=visit.id,
                    item_id="storefront_photo",
                    file_id=unique,
                    file_unique_id=unique,
                )
            )
        return visit.id


def submit(world: World, visit_id: int, now: datetime = NOW) -> list[str]:
    with world.database.write() as session:
        result = submit_visit(session, visit_id, RULES, Clock.fixed(now, ZONE))
        assert result is not None
        return [f.kind for f in result.flags]


def test_a_visit_that_passes_every_check_counts_without_review(world: World, shopper: int) -> None:
    visit = draft(
        world, shopper, GOOD, started=NOW - timedelta(minutes=15), checkin=(55.7601, 37.6101)
    )
    assert submit(world, visit) == []
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None and stored.review_status is None


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("far_from_store", {"checkin": (55.80, 37.61)}),  # about 4.4 km north of Tverskaya
        ("too_fast", {"started": NOW - timedelta(seconds=20)}),  # 4 questions need 32 s
        ("typed_timer", {"measured": False}),
    ],
)
def test_each_integrity_check_flags_the_visit_for_review(
    world: World, shopper: int, kind: str, options: dict[str, object]
) -> None:
    settings: dict[str, object] = {"started": NOW - timedelta(minutes=15), **options}
    visit = draft(world, shopper, GOOD, **settings)  # type: ignore[arg-type]
    assert submit(world, visit) == [kind]
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None and stored.review_status == ReviewStatus.PENDING
        [flag] = reviews.flags_of(session, visit)
        assert flag.kind == kind and flag.details


@pytest.mark.parametrize("returning", [True, False], ids=["delete-returning", "older-sqlite"])
def test_a_fresh_check_leaves_none_of_the_earlier_flags_in_the_session(
    world: World, shopper: int, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flags read earlier in the same transaction go with the rows a fresh check replaces:
    none lingers as if it were still stored (touching one would fail at the flush); also
    where the database has no ``DELETE … RETURNING`` (SQLite before 3.35)."""
    dialect = world.database.engine.dialect
    monkeypatch.setattr(dialect, "delete_returning", returning and dialect.delete_returning)
    visit = draft(world, shopper, GOOD, started=NOW - timedelta(seconds=20))
    assert submit(world, visit) == ["too_fast"]
    with world.database.write() as session:
        earlier = reviews.flags_of(session, visit)
        stored = session.get(Visit, visit)
        assert stored is not None
        fresh = integrity.flag(session, stored, RULES)
        assert [inspect(f).persistent for f in earlier] == [False]
        session.flush()
        assert [f.kind for f in reviews.flags_of(session, visit)] == [f.kind for f in fresh]


def test_a_photo_used_in_another_visit_is_flagged(world: World, shopper: int) -> None:
    """Only a photo another visit has counts (one sent twice within a visit does not), and
    a cancelled visit's photos are not another visit's."""
    first = draft(world, shopper, GOOD, started=NOW - timedelta(days=30), photos=["same"])
    with world.database.write() as session:
        cancelled = session.get(Visit, draft(world, shopper, {}, started=NOW, photos=["gone"]))
        assert cancelled is not None
        cancelled.status = VisitStatus.CANCELLED
    assert submit(world, first, NOW - timedelta(days=30) + timedelta(minutes=15)) == []
    photos = ["same", "twice", "twice", "gone", "new"]
    second = draft(world, shopper, GOOD, started=NOW - timedelta(minutes=15), photos=photos)
    assert submit(world, second) == ["duplicate_photo"]
    with world.database.read() as session:
        [flag] = reviews.flags_of(session, second)
        assert (flag.details, flag.params) == ("same", {"count": 1})


def test_two_visits_to_one_store_within_the_set_days_are_flagged(
    world: World, shopper: int
) -> None:
    submitted_visit(world, shopper, world.anna_id, GOOD, NOW - timedelta(days=3))
    visit = draft(world, shopper, GOOD, started=NOW - timedelta(minutes=15))
    assert submit(world, visit) == ["repeat_visit"]
    other = add_person(world.database, 502, Role.EVALUATOR)
    visit = draft(world, other, GOOD, started=NOW - timedelta(minutes=15))
    assert submit(world, visit) == []


def _flagged(world: World, shopper: int) -> int:
    visit = draft(world, shopper, GOOD, started=NOW - timedelta(minutes=15), measured=False)
    submit(world, visit)
    return visit


def test_an_accepted_visit_counts_and_the_decision_is_kept(world: World, shopper: int) -> None:
    admin = add_person(world.database, 900, Role.ADMIN)
    visit = _flagged(world, shopper)
    with world.database.write() as session:
        integrity.decide(session, visit, Decision.ACCEPTED, "", admin, RULES, now=NOW, today=TODAY)
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None and stored.review_status == ReviewStatus.ACCEPTED
        [decision] = session.scalars(select(ReviewDecision)).all()
        assert (decision.decision, decision.decided_by_id, decision.decided_at) == (
            "accepted",
            admin,
            NOW,
        )
        assert session.scalars(select(AuditEvent)).one().action == "review:accepted"


def test_a_rejected_visit_reopens_for_the_shopper_until_a_deadline(
    world: World, shopper: int
) -> None:
    admin = add_person(world.database, 900, Role.ADMIN)
    visit = _flagged(world, shopper)
    decided = datetime.now(UTC)
    with world.database.write() as session:
        integrity.decide(
            session,
            visit,
            Decision.REJECTED,
            "time the greeting",
            admin,
            RULES,
            now=decided,
            today=decided.date(),
        )
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None
        assert (stored.status, stored.review_status) == (VisitStatus.SUBMITTED, "rejected")
        assert stored.resubmit_until == decided + timedelta(hours=48)
    with world.database.write() as session:
        settle(Records(session), shopper, decided)
        reopened = open_draft(Records(session), shopper, Clock.fixed(decided, ZONE))
        assert reopened is not None and reopened.visit.id == visit
        assert reopened.visit.status == VisitStatus.DRAFT
        assert reopened.visit.current_item is None, "the shopper lands on the review screen"


def test_a_returned_visit_not_fixed_in_time_lapses(world: World, shopper: int) -> None:
    admin = add_person(world.database, 900, Role.ADMIN)
    visit = _flagged(world, shopper)
    with world.database.write() as session:
        rejected = Decision.REJECTED
        integrity.decide(session, visit, rejected, "redo", admin, RULES, now=NOW, today=TODAY)
    later = NOW + timedelta(hours=49)
    with world.database.write() as session:
        settle(Records(session), shopper, later)
        assert open_draft(Records(session), shopper, Clock.fixed(later, ZONE)) is None
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None and stored.status == VisitStatus.SUBMITTED
        assert stored.review_status == "rejected", "kept, and never counted"


@pytest.mark.parametrize(
    ("decision", "reason", "error"),
    [
        (Decision.REJECTED, " ", "reason_required"),
        ("void", "", "reason_required"),
        ("maybe", "x", "unknown_decision"),
    ],
)
def test_a_review_decision_needs_a_reason_to_reject_or_void(
    world: World, shopper: int, decision: str, reason: str, error: str
) -> None:
    admin = add_person(world.database, 900, Role.ADMIN)
    visit = _flagged(world, shopper)
    with pytest.raises(integrity.ReviewError) as raised, world.database.write() as session:
        integrity.decide(session, visit, decision, reason, admin, RULES, now=NOW, today=TODAY)
    assert raised.value.reason == error
    with world.database.read() as session:
        assert session.scalars(select(ReviewDecision)).all() == []


def test_only_a_pending_visit_can_be_decided(world: World, shopper: int) -> None:
    admin = add_person(world.database, 900, Role.ADMIN)
    visit = draft(world, shopper, GOOD, started=NOW - timedelta(minutes=15))
    submit(world, visit)
    with pytest.raises(integrity.ReviewError), world.database.write() as session:
        integrity.decide(session, visit, Decision.ACCEPTED, "", admin, RULES, now=NOW, today=TODAY)


def test_assignments_are_created_all_or_none_with_every_problem_named(
    world: World, shopper: int
) -> None:
    wanted = [
        assignments.NewAssignment("S1", "store_visit", "E-01", TODAY, TODAY + timedelta(days=3)),
        assignments.NewAssignment("S9", "phone_call", "E-09", TODAY, TODAY - timedelta(days=1)),
        assignments.NewAssignment("S1", "fax", str(501), TODAY, TODAY),
    ]
    with pytest.raises(RosterError) as raised, world.database.write() as session:
        assignments.create(session, wanted, set(world.versions))
    assert raised.value.problems == [
        "assignment 2: unknown store code 'S9'",
        "assignment 2: no active shopper 'E-09'",
        "assignment 2: the window ends (2026-11-17) before it opens (2026-11-18)",
        "assignment 3: unknown checklist 'fax' (known: online_chat, phone_call, store_visit)",
    ]
    with world.database.write() as session:
        ids = assignments.create(session, [wanted[0]], set(world.versions))
        assert len(ids) == 1


def test_a_checklist_the_store_has_no_channel_for_cannot_be_assigned(
    world: World, shopper: int
) -> None:
    with world.database.write() as session:
        session.scalars(select(Store).where(Store.code == "S1")).one().channels = "store"
    wanted = [
        assignments.NewAssignment("S1", "phone_call", "E-01", TODAY, TODAY + timedelta(days=3))
    ]
    with pytest.raises(RosterError) as raised, world.database.write() as session:
        assignments.create(session, wanted, set(world.versions))
    assert raised.value.problems == [
        "assignment: store 'S1' has no phone channel (its channels: store)"
    ]


def test_assignments_import_from_a_spreadsheet(world: World, shopper: int, tmp_path: Path) -> None:
    path = tmp_path / "assignments.csv"
    path.write_text(
        "магазин;чек-лист;псевдоним;с;по\nS1;store_visit;e-01;2026-11-18;30.11.2026\n"
        "S2;phone_call;E-01;2026-11-20;bad\n",
        encoding="utf-8",
    )
    with pytest.raises(RosterError, match="row 3: to 'bad' is not a date"):
        assignments.read_file(path)
    path.write_text(
        "store_code,checklist,evaluator,from,to\nS1,store_visit,E-01,2026-11-18,2026-11-30\n",
        encoding="utf-8",
    )
    [wanted] = assignments.read_file(path)
    assert (wanted.store_code, wanted.evaluator, wanted.closes_on) == (
        "S1",
        "E-01",
        date(2026, 11, 30),
    )


def test_a_submitted_visit_completes_its_assignment(world: World, shopper: int) -> None:
    """The open assignment of the visit's store and checklist closing soonest is done; one
    for another checklist, or closing later, stays open."""
    window = (TODAY - timedelta(days=1), TODAY + timedelta(days=2))
    later = (window[0], window[1] + timedelta(days=5))
    with world.database.write() as session:
        soonest, other_checklist, closing_later = assignments.create(
            session,
            [
                assignments.NewAssignment("S1", "store_visit", "E-01", *window),
                assignments.NewAssignment("S1", "phone_call", "E-01", *window),
                assignments.NewAssignment("S1", "store_visit", "E-01", *later),
            ],
            set(world.versions),
        )
    with world.database.read() as session:
        assert [a.id for a in open_for(session, shopper, TODAY)] == [
            soonest,
            other_checklist,
            closing_later,
        ]
    visit = draft(world, shopper, GOOD, started=NOW - timedelta(minutes=15))
    submit(world, visit)
    with world.database.read() as session:
        stored = session.get(Visit, visit)
        assert stored is not None and stored.assignment_id == soonest
        assert [a.id for a in open_for(session, shopper, TODAY)] == [
            other_checklist,
            closing_later,
        ]


def test_reminders_are_due_the_day_before_the_window_closes_and_overdue_ones_are_listed(
    world: World, shopper: int
) -> None:
    with world.database.write() as session:
        soon, late, later = assignments.create(
            session,
            [
                assignments.NewAssignment("S1", "store_visit", "E-01", TODAY, TODAY + timedelta(1)),
                assignments.NewAssignment(
                    "S2", "store_visit", "E-01", TODAY - timedelta(9), TODAY - timedelta(2)
                ),
                assignments.NewAssignment("S2", "phone_call", "E-01", TODAY, TODAY + timedelta(5)),
            ],
            set(world.versions),
        )
    with world.database.read() as session:
        assert [a.id for a in assignments.due_reminders(session, TODAY)] == [soon]
        assert [a.id for a in assignments.overdue(session, TODAY)] == [late]
        assert later not in [a.id for a in assignments.overdue(session, TODAY + timedelta(3))]


def test_a_manager_adds_a_corrective_action_to_a_failed_standard_of_their_store(
    world: World, shopper: int
) -> None:
    manager_id = add_person(world.database, 601, Role.MANAGER, ["S1"])
    other_id = add_person(world.database, 602, Role.MANAGER, ["S2"])
    visit = submitted_visit(
        world, shopper, world.anna_id, {**GOOD, "smiled": A("no")}, NOW - timedelta(days=2)
    )
    with world.database.write() as session:
        manager = session.get(Person, manager_id)
        other = session.get(Person, other_id)
        assert manager is not None and other is not None
        failed = followups.failed_standards(session, manager, NOW)
        assert [(f.visit_id, f.item_id) for f in failed] == [(visit, "smiled")]
        assert followups.failed_standards(session, other, NOW) == []
        for args, reason in [
            ((visit, "greeted"), "not_a_failed_standard"),
            ((visit, "smiled", " "), "empty_text"),
        ]:
            with pytest.raises(followups.FollowUpError) as raised:
                followups.add_action(
                    session,
                    manager,
                    args[0],
                    args[1],
                    args[2] if len(args) > 2 else "Coach",
                    TODAY,
                    NOW,
                    TODAY,
                )
            assert raised.value.reason == reason
        with pytest.raises(followups.FollowUpError):
            followups.add_action(
                session, manager, visit, "smiled", "Coach", TODAY - timedelta(1), NOW, TODAY
            )
        with pytest.raises(followups.FollowUpError):
            followups.add_action(session, other, visit, "smiled", "Coach", TODAY, NOW, TODAY)
        action = followups.add_action(
            session,
            manager,
            visit,
            "smiled",
            "Smile training on Friday",
            TODAY + timedelta(3),
            NOW,
            TODAY,
        )
        assert followups.failed_standards(session, manager, NOW) == []
        assert actions.of_stores(session, [world.store_id]) == [action]
        assert actions.of_stores(session, [world.store_id + 1]) == []
