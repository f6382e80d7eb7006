"""Field operations end to end: assignments, integrity review, follow-ups and reminders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.i18n import Translator
from exports.aggregate import build_report
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.checklist_versions import definition
from storage.db import Database
from storage.models import (
    Answer,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    ChecklistVersion,
    CorrectiveAction,
    Person,
    ReviewDecision,
    Role,
    Visit,
    VisitFlag,
    VisitStatus,
)
from testkit.bot_harness import STORE_VISIT_ALL_MET, ZONE, RunningBot, World, add_person, make_world
from testkit.fakebotapi import FakeBotApi, FakeUser
from testkit.shopper import card_arrived
from visits import assignments

SHOPPER, ADMIN, MANAGER = 501, 900, 601


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    add_person(database, ADMIN, Role.ADMIN)
    add_person(database, MANAGER, Role.MANAGER, ["S1"])
    return world


async def open_store_visit(shopper: FakeUser, first: str = "⭐ Tverskaya") -> None:
    """A store visit to Tverskaya (or the store picked ``first``) served by Anna."""
    await shopper.send_command("/visit")
    await shopper.press(first)
    if first == "⭐ Tverskaya":
        await shopper.press("Store visit")
    await shopper.press("Anna Ivanova · Seller")


async def complete_visit(shopper: FakeUser, *, typed: bool, first: str = "⭐ Tverskaya") -> None:
    await open_store_visit(shopper, first)
    if typed:
        await shopper.send_text("12")
    else:
        await shopper.press("▶ Walking in")
        await shopper.press("⏹ Someone came up")
    for answer in STORE_VISIT_ALL_MET:
        await shopper.press(answer)
    await shopper.press("Skip ▶")
    await shopper.press("Skip ▶")
    await shopper.press("✅ Submit")


def only_visit(database: Database) -> Visit:
    with database.read() as session:
        visit = session.scalars(select(Visit).order_by(Visit.id.desc())).first()
        assert visit is not None
        return visit


async def test_an_open_assignment_comes_first_and_is_completed_by_the_visit(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    today = datetime.now(ZONE).date()
    with world.database.write() as session:
        [assigned] = assignments.create(
            session,
            [
                assignments.NewAssignment(
                    "S1",
                    "store_visit",
                    "E-01",
                    today,
                    today + timedelta(days=2),
                    "Saturday morning",
                )
            ],
            set(world.versions),
        )
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_command("/visit")
    first = shopper.buttons()[0][0][0]
    assert first.startswith("📌 Tverskaya · Store visit · by ")
    await complete_visit(shopper, typed=False, first=first)
    with world.database.read() as session:
        assignment = session.get(Assignment, assigned)
        assert assignment is not None and assignment.status == AssignmentStatus.DONE
        assert only_visit(world.database).assignment_id == assigned


async def test_a_flagged_visit_is_returned_fixed_resubmitted_and_accepted_by_an_admin(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)
    assert "An administrator will check the visit" in shopper.last_text()
    visit = only_visit(world.database)
    assert visit.review_status == "pending"
    week = Week.containing(datetime.now(ZONE).date())
    with world.database.read() as session:
        assert (
            build_report(session, week, Scope(ScopeKind.ALL), zone=ZONE, language="en").visits == []
        )

    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    card = admin.last_text()
    assert f"Visit #{visit.id}" in card and "E-01" in card
    assert "timer typed, not measured: Approached within 30 s" in card
    await admin.press("↩ Return")
    await admin.send_text(
        "Please time the greeting with the stopwatch",
        until=lambda r: any(c.chat_id == SHOPPER for c in api.requests[-5:]),
    )
    returned = await api.wait_for(
        lambda: next((m for m in shopper.messages() if "was returned" in (m.text or "")), None)
    )
    assert "Please time the greeting" in (returned.text or "")

    await shopper.send_command("/resume")
    assert "Check your answers" in shopper.last_text()
    await shopper.press("1")
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await shopper.press("✅ Submit")
    resubmitted = only_visit(world.database)
    assert resubmitted.status == VisitStatus.SUBMITTED and resubmitted.review_status is None
    with world.database.read() as session:
        assert session.scalars(select(VisitFlag)).all() == []
        [decision] = session.scalars(select(ReviewDecision)).all()
        assert (decision.decision, decision.reason) == (
            "rejected",
            "Please time the greeting with the stopwatch",
        )
        assert [
            v.visit_id
            for v in build_report(
                session, week, Scope(ScopeKind.ALL), zone=ZONE, language="en"
            ).visits
        ] == [visit.id]


async def test_an_admin_accepts_a_visit_shared_far_from_the_store(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_store_visit(shopper)
    reaction = await shopper.send_location(55.80, 37.61)
    assert "location is saved" in reaction.texts[0]
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    for answer in STORE_VISIT_ALL_MET:
        await shopper.press(answer)
    await shopper.press("Skip ▶")
    await shopper.press("Skip ▶")
    await shopper.press("✅ Submit")
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    assert "far from the store" in admin.last_text()
    await admin.press("✅ Accept")
    assert "No flagged or disputed visits are waiting" in admin.last_text()
    assert only_visit(world.database).review_status == "accepted"
    week = Week.containing(datetime.now(ZONE).date())
    with world.database.read() as session:
        [row] = build_report(
            session,
            week,
            Scope(ScopeKind.ALL),
            zone=ZONE,
            language="en",
            labels=Translator("en", "reports"),
        ).visits
    assert row.flags == "far from the store", "accepted visits count, their flags shown"
    evaluator = api.user(SHOPPER, language_code="en")
    await evaluator.send_command("/review")
    assert "Only an administrator" in evaluator.last_text()


async def test_an_admin_reviews_a_flagged_visit_with_its_answers_and_photos_and_accepts_it(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_store_visit(shopper)
    await shopper.send_text("12")  # typed, not measured: flagged
    for answer in STORE_VISIT_ALL_MET:
        await shopper.press(answer)
    await shopper.send_photo(file_id="front-1", file_unique_id="f1")
    await shopper.send_photo(file_id="front-2", file_unique_id="f2")
    await shopper.press("✅ Done")
    await shopper.send_text("The windows were spotless")
    await shopper.press("✅ Submit")
    first = only_visit(world.database)
    await complete_visit(shopper, typed=True)  # a second flagged visit in the queue

    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    card = admin.last_text()
    assert f"Visit #{first.id}" in card and "Visit 1 of 2 waiting for review" in card
    assert "Employee: Anna Ivanova" in card and "from opening to submitting" in card
    assert "timer typed, not measured: Approached within 30 s" in card
    await admin.press("Next ▶")
    assert "Visit 2 of 2 waiting for review" in admin.last_text()
    await admin.press("◀ Previous")
    assert f"Visit #{first.id}" in admin.last_text()

    await admin.press("📋 Answers")
    answers = admin.last_text()
    assert "✅ 2. Greeting — Yes" in answers
    assert "📷 17. Storefront photo — photos: 2" in answers
    assert "The windows were spotless" in answers and "Score: 100 %" in answers
    await admin.press("📎 Photos and recordings")
    [album] = api.calls("sendMediaGroup", chat_id=ADMIN)
    assert [m["media"] for m in album.params["media"]] == ["front-1", "front-2"]
    await admin.press("◀ Back to the card")
    assert f"Visit #{first.id}" in admin.last_text()
    await admin.press("✅ Accept")
    assert "Visit 1 of 1 waiting for review" in admin.last_text()
    assert only_visit(world.database).id != first.id
    with world.database.read() as session:
        assert session.get(Visit, first.id).review_status == "accepted"  # type: ignore[union-attr]


async def test_a_corrected_answer_is_kept_with_who_why_and_when_and_changes_the_score(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)
    visit = only_visit(world.database)
    assert visit.score == 100
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("📋 Answers")
    assert "To correct an answer, press its number." in admin.last_text()
    await admin.press("2")  # greeted
    assert "Correct “Greeting” (now: Yes)" in admin.last_text()
    await admin.press("No")
    assert "from Yes to No" in admin.last_text()
    await admin.send_text("The recording shows no greeting")
    # greeted fails (0 of 2) and hides named_self (1): 16 of 18 to earn.
    assert "Corrected: Greeting. The visit now scores 88.9 %" in admin.messages()[-2].shown_text
    assert f"Visit #{visit.id}" in admin.last_text() and "score 88.9 %" in admin.last_text()
    corrected = only_visit(world.database)
    assert corrected.score == pytest.approx(100 * 16 / 18) and corrected.critical_failed
    with world.database.read() as session:
        greeted = session.scalars(
            select(Answer).where(Answer.visit_id == visit.id, Answer.item_id == "greeted")
        ).one()
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "review:corrected")
        ).all()
        admin_id = session.scalars(select(Person.id).where(Person.telegram_id == ADMIN)).one()
    assert greeted.value_text == "no"
    assert event.actor == f"person:{admin_id}" and event.target == f"visit:{visit.id}"
    assert json.loads(event.details) == {
        "item": "greeted",
        "from": "yes",
        "to": "no",
        "reason": "The recording shows no greeting",
    }
    # A "No" on the greeting needs the shopper's comment: the visit cannot count as it is.
    assert "Lacking since a correction: Greeting" in admin.last_text()
    await admin.press("✅ Accept")
    assert "return it to the shopper" in (admin.answers_to_callbacks[-1].text or "")
    assert only_visit(world.database).review_status == "pending"
    # named_self is hidden now: a forged button to correct it is refused
    await admin.press_raw(f"rc:{visit.id}:3:0")
    assert "not valid" in (admin.answers_to_callbacks[-1].text or "")


async def test_a_typed_answer_and_an_n_a_are_corrected_like_a_button_answer(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)  # 12 s typed; every other standard met
    visit = only_visit(world.database)
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("📋 Answers")
    await admin.press("1")  # greet_time, typed seconds
    assert "type the right answer in one message" in admin.last_text()
    await admin.send_text("soon")
    assert "number" in admin.last_text(), "refused as a shopper's would be; still waiting"
    await admin.send_text("45")
    assert "from 12 s to 45 s" in admin.last_text()
    await admin.send_text("The video shows 45 seconds")
    corrected = only_visit(world.database)
    assert corrected.score == pytest.approx(100 * 18 / 19), "45 s earns half of its 2"
    with world.database.read() as session:
        version = session.get(ChecklistVersion, visit.checklist_version_id)
        assert version is not None
        checklist = definition(version)
    three_yes = [i.id for i in checklist.items].index("three_yes")
    await admin.press("📋 Answers")
    await admin.press_raw(f"rc:{visit.id}:{three_yes}:-1")
    await admin.press("N/A")
    assert "to N/A" in admin.last_text()
    await admin.send_text("No offer was made in the recording")
    with world.database.read() as session:
        answer = session.scalars(
            select(Answer).where(Answer.visit_id == visit.id, Answer.item_id == "three_yes")
        ).one()
        events = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "review:corrected")
        ).all()
    assert answer.na and answer.score is None
    assert [json.loads(e)["to"] for e in events] == [45, "n/a"]
    smiled = [i.id for i in checklist.items].index("smiled")  # yes/no without N/A
    await admin.press("📋 Answers")
    await admin.press_raw(f"rc:{visit.id}:{smiled}:-2")
    assert "not valid" in (admin.answers_to_callbacks[-1].text or "")


async def test_a_correction_left_unfinished_is_dropped_not_applied_by_a_later_message(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("📋 Answers")
    await admin.press("2")
    await admin.press("Yes")
    assert "That is already the answer." in (admin.answers_to_callbacks[-1].text or "")
    await admin.press("No")
    await admin.press("◀ Back to the answers")
    await admin.send_text("hello?")
    await admin.press("2")
    await admin.press("No")
    await admin.send_command("/review")
    await admin.send_text("is anyone there?")
    with world.database.read() as session:
        greeted = session.scalars(select(Answer).where(Answer.item_id == "greeted")).one()
        corrections = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "review:corrected")
        ).all()
    assert greeted.value_text == "yes" and corrections == []
    assert only_visit(world.database).score == 100


async def test_only_an_admin_sees_a_visits_answers_and_evidence_in_review(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)
    visit = only_visit(world.database)
    manager = api.user(MANAGER, language_code="en")
    await manager.send_command("/help")
    for data in ("s", "l", "n", "p", "c"):
        await manager.press_raw(f"rv:{data}:{visit.id}")
        assert "Only an administrator" in (manager.answers_to_callbacks[-1].text or "")
    for code in (-1, 0):
        await manager.press_raw(f"rc:{visit.id}:1:{code}")
        assert "Only an administrator" in (manager.answers_to_callbacks[-1].text or "")
    assert only_visit(world.database).score == 100
    assert api.calls("sendMediaGroup") == [] and api.calls("sendPhoto", chat_id=MANAGER) == []
    assert all("Greeting" not in m.shown_text for m in manager.messages())


async def test_a_manager_records_a_corrective_action_for_a_failed_standard(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_store_visit(shopper)
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    for answer in ["Yes", "No", *STORE_VISIT_ALL_MET[2:]]:  # smiled: no
        await shopper.press(answer)
    await shopper.press("Skip ▶")
    await shopper.press("Skip ▶")
    await shopper.press("✅ Submit")
    manager = api.user(MANAGER, language_code="en")
    await card_arrived(api, manager)
    await manager.send_command("/followup")
    [[(label, _)]] = manager.buttons()
    assert "S1 · A smile" in label
    await manager.press(label)
    await manager.send_text("Smile training at Friday's briefing")
    assert "By when?" in manager.last_text()
    await manager.send_text("someday")
    assert "don't understand the date" in manager.last_text()
    due = datetime.now(ZONE).date() + timedelta(days=4)
    await manager.send_text(f"{due:%d.%m.%Y}")
    assert "The action is recorded" in manager.last_text()
    with world.database.read() as session:
        [action] = session.scalars(select(CorrectiveAction)).all()
        assert (action.item_id, action.action, action.due_on) == (
            "smiled",
            "Smile training at Friday's briefing",
            due,
        )
    await manager.send_command("/followup")
    assert "No failed standard" in manager.last_text()
    week = Week.containing(datetime.now(ZONE).date())
    with world.database.read() as session:
        [listed] = build_report(
            session, week, Scope(ScopeKind.STORES, frozenset({"S1"})), zone=ZONE, language="en"
        ).actions
    assert (listed.store_code, listed.action, listed.due_on) == (
        "S1",
        "Smile training at Friday's briefing",
        due,
    )


async def test_a_shopper_is_reminded_the_day_before_the_window_closes(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    today = datetime.now(ZONE).date()
    with world.database.write() as session:
        assignments.create(
            session,
            [
                assignments.NewAssignment(
                    "S1", "phone_call", "E-01", today, today + timedelta(days=1)
                )
            ],
            set(world.versions),
        )
    shopper = api.user(SHOPPER, language_code="en")
    reminder = await api.wait_for(
        lambda: next((m for m in shopper.messages() if "Reminder" in (m.text or "")), None),
        timeout=15,
    )
    assert "Tverskaya" in (reminder.text or "")
    assert bot.service.reminders() == 0, "each reminder is added once"


async def test_the_same_update_delivered_twice_has_one_effect(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_store_visit(shopper)
    first = await shopper.send_text("12")
    api.push_update(dict(first.update))  # Telegram delivers it again after a crash
    await api.wait_for(lambda: len(api.calls("sendMessage", chat_id=SHOPPER)) >= 3)
    await shopper.send_text("yes", expect_reaction=True)
    with world.database.read() as session:
        rows = session.scalars(select(Answer)).all()
    assert [(a.item_id, a.value_number) for a in rows] == [("greet_time", 12.0)]
    assert only_visit(world.database).current_item == "greeted"


async def test_two_admins_making_one_correction_change_the_answer_once(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await complete_visit(shopper, typed=True)
    add_person(world.database, 901, Role.ADMIN)
    admins = [api.user(ADMIN, language_code="en"), api.user(901, language_code="en")]
    for admin in admins:
        await admin.send_command("/review")
        await admin.press("📋 Answers")
        await admin.press("2")
        await admin.press("No")
    for admin in admins:
        await admin.send_text("Heard no greeting on the recording")
    assert "Corrected: Greeting" in admins[0].messages()[-2].shown_text
    assert "That is already the answer." in admins[1].last_text()
    with world.database.read() as session:
        corrections = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "review:corrected")
        ).all()
    assert len(corrections) == 1
