"""A shopper's visit in Telegram, end to end: the real bot over HTTP against a fake Bot API."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Answer, Person, Photo, Role, Store, Visit, VisitStatus
from testkit.bot_harness import STORE_VISIT_ALL_MET, RunningBot, World, invite, make_world
from testkit.fakebotapi import FakeBotApi, FakeUser

EVALUATOR_ID, OTHER_ID, MANAGER_ID, STRANGER_ID = 501, 502, 601, 700


@pytest.fixture
def world(database: Database) -> World:
    return make_world(database)


async def register(
    api: FakeBotApi, world: World, user_id: int, role: Role, stores: list[str] | None = None
) -> FakeUser:
    user = api.user(user_id, first_name=f"User{user_id}", language_code="en")
    await user.send_command("/start", invite(world.database, role, stores))
    return user


async def open_visit(
    user: FakeUser, employee: str = "Anna Ivanova · Seller", store: str = "⭐ Tverskaya"
) -> None:
    await user.send_command("/visit")
    await user.press(store)
    await user.press("Store visit")
    await user.press(employee)


def visits_of(database: Database, user_id: int) -> list[Visit]:
    with database.read() as session:
        person = session.scalars(select(Person).where(Person.telegram_id == user_id)).one()
        found = session.scalars(select(Visit).where(Visit.evaluator_id == person.id)).all()
        for visit in found:
            _ = visit.answers, visit.photos
        return list(found)


def answers(database: Database, visit_id: int) -> dict[str, Answer]:
    with database.read() as session:
        rows = session.scalars(select(Answer).where(Answer.visit_id == visit_id)).all()
        return {row.item_id: row for row in rows}


async def test_a_shopper_registers_and_completes_a_scored_visit(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    manager = await register(api, world, MANAGER_ID, Role.MANAGER, ["S1"])
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    assert "E-01" in shopper.last_text()
    assert shopper.reply_keyboard() is not None
    assert any(
        c.params.get("scope", {}).get("chat_id") == EVALUATOR_ID for c in api.calls("setMyCommands")
    )

    await open_visit(shopper)
    question = shopper.last_message()
    assert "1/" in question.shown_text and "How many seconds" in question.shown_text
    await shopper.press("▶ Walking in")
    assert "stopwatch is running" in shopper.last_text()
    stop = await shopper.press("⏹ Someone came up")
    assert "Measured:" in (stop.calls[0].params.get("text") or "")
    assert shopper.last_message().message_id == question.message_id, "edited in place"

    await shopper.press("💬 Comment")
    await shopper.send_text("Greeted me at the door")
    await shopper.press("Yes")  # greeted
    await shopper.press("No")  # smiled
    assert "introduce themselves" in shopper.last_text()  # show_if: greeted = yes
    await shopper.press("◀ Back")
    assert "smile" in shopper.last_text() and "Your answer: No" in shopper.last_text()
    await shopper.press("Yes")  # smiled, changed
    await shopper.press("Yes")  # named_self
    await shopper.press("Yes")  # listened
    await shopper.press("Yes")  # needs_questions
    for way in ("Asked what it is for", "Asked about preferences", "Asked about the budget"):
        await shopper.press(way)  # discovery: three ways of four, 1.05 capped at 1
    await shopper.press("✅ Done")
    await shopper.press("No")  # offer_made: no offer, so three_yes is not asked
    await shopper.press("Yes")  # best_solution
    await shopper.press("No")  # no_bare_no
    await shopper.press("Yes")  # extra_mile
    await shopper.press("4")  # service_rating
    await shopper.press("Minor issues")  # tidiness
    await shopper.press("Yes")  # farewell
    await shopper.press("9")  # nps
    await shopper.send_photo(file_id="photo-1", file_unique_id="uniq-1")
    await shopper.press("✅ Done")
    await shopper.send_text('=HYPERLINK("http://x","click")')  # comment item

    review = shopper.last_text()
    assert "Check your answers" in review
    # Earned: greet_time (measured, ≤ 30 s) 1×2, greeted 2, smiled 1, named_self 1,
    # listened 1, needs_questions 2, discovery 1, best_solution 2, no_bare_no 0,
    # extra_mile 1, service_rating 4 of 1..5 → 0.75, tidiness 0.5, farewell 1 = 15.25 of 17
    # (offer_made weighs nothing; three_yes is not asked without an offer).
    assert "89.71 %" not in review and "89.7 %" in review
    submit = shopper.last_message()
    submit_data = next(data for row in submit.buttons for text, data in row if text == "✅ Submit")
    assert submit_data is not None
    await shopper.press("✅ Submit", message_id=submit.message_id)
    await shopper.press_raw(submit_data, message_id=submit.message_id)  # a second tap
    assert "already finished" in shopper.answers_to_callbacks[-1].text
    assert "Visit submitted. Score 89.7 %" in shopper.last_text()
    assert "passed" in shopper.last_text()

    [visit] = visits_of(world.database, EVALUATOR_ID)
    assert visit.status == VisitStatus.SUBMITTED
    assert visit.score == pytest.approx(100 * 15.25 / 17)
    assert visit.passed and not visit.critical_failed and visit.nps == 9
    assert visit.employee_id == world.anna_id
    rows = answers(world.database, visit.id)
    assert rows["greet_time"].measured and rows["greet_time"].value_number is not None
    assert rows["greet_time"].value_number <= 2
    assert rows["greeted"].comment == "Greeted me at the door"
    assert rows["smiled"].value_text == "yes"
    assert "three_yes" not in rows and rows["discovery"].score == 1
    assert rows["comment"].value_text == '=HYPERLINK("http://x","click")'
    assert [p.file_unique_id for p in visit.photos] == ["uniq-1"]
    assert not any(m.text and "critical" in m.text for m in manager.messages()[1:])


async def test_a_failed_critical_standard_alerts_the_stores_managers_by_pseudonym(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    manager = await register(api, world, MANAGER_ID, Role.MANAGER, ["S1"])
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR)
    await open_visit(shopper, "Not in the list", store="Tverskaya")
    assert "Describe them" in shopper.last_text()
    await shopper.send_text("Tall man with a red badge")
    await shopper.press("▶ Walking in")  # greet_time, measured: the visit counts at once
    await shopper.press("⏹ Someone came up")
    await shopper.press("No")  # greeted: critical, hides named_self, needs a comment
    await shopper.press("💬 Comment")
    await shopper.send_text("Kept looking at the phone")
    assert "smile" in shopper.last_text()
    for answer in [
        "Yes",  # smiled
        "Yes",  # listened
        "Yes",  # needs_questions
        "Asked about the budget",
        "✅ Done",  # discovery
        "Yes",  # offer_made
        "3",  # three_yes
        "Yes",
        "Yes",
        "Yes",
        "5",
        "Clean and tidy",
        "Yes",
        "10",
    ]:
        await shopper.press(answer)
    await shopper.press("Skip ▶")  # photo
    await shopper.press("Skip ▶")  # comment
    await shopper.press("✅ Submit")
    assert "not passed" in shopper.last_text()
    alert = await api.wait_for(
        lambda: next((m for m in manager.messages() if "⚠" in (m.text or "")), None)
    )
    assert "E-01" in (alert.text or "") and "Tall man with a red badge" in (alert.text or "")
    assert "User501" not in (alert.text or "")
    [visit] = visits_of(world.database, EVALUATOR_ID)
    assert visit.critical_failed and not visit.passed
    assert visit.employee_id is None and visit.employee_description == "Tall man with a red badge"
    rows = answers(world.database, visit.id)
    assert rows["greet_time"].measured and rows["greet_time"].value_number is not None
    assert "named_self" not in rows


async def test_a_stranger_is_refused_politely_and_nothing_else(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    stranger = api.user(STRANGER_ID, first_name="Eve", language_code="en")
    for action in (
        stranger.send_command("/start"),
        stranger.send_command("/visit"),
        stranger.send_text("hello"),
        stranger.send_command("/start", "forged-code"),
    ):
        reaction = await action
        assert reaction.methods == ["sendMessage"]
    assert "invitation" in stranger.last_text()
    assert stranger.reply_keyboard() is None
    with world.database.read() as session:
        assert session.scalars(select(Person)).all() == []


async def test_a_used_invitation_cannot_register_a_second_person(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    code = invite(world.database, Role.EVALUATOR)
    first = api.user(EVALUATOR_ID, language_code="en")
    await first.send_command("/start", code)
    second = api.user(OTHER_ID, language_code="en")
    await second.send_command("/start", code)
    assert "already been used" in second.last_text()


async def test_bad_input_is_explained_and_the_same_question_asked_again(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)
    reaction = await shopper.send_text("9999")
    assert "outside the allowed range 0–900" in reaction.texts[0]
    assert "How many seconds" in reaction.texts[1]
    reaction = await shopper.send_text("soon")
    assert "whole number" in reaction.texts[0]
    await shopper.send_text("12")
    reaction = await shopper.send_text("yes please")  # a yes/no item wants buttons
    assert "with the buttons" in reaction.texts[0] and "greet you" in reaction.texts[1]
    for answer in ("Yes", "Yes", "Yes", "Yes", "Yes"):  # greeted … needs_questions
        await shopper.press(answer)
    await shopper.press("Asked what it is for")
    await shopper.press("✅ Done")  # discovery
    await shopper.press("Yes")  # offer_made
    reaction = await shopper.send_text("-1")  # three_yes
    assert "outside the allowed range 0–20" in reaction.texts[0]
    [visit] = visits_of(world.database, EVALUATOR_ID)
    rows = answers(world.database, visit.id)
    assert rows["greet_time"].value_number == 12
    assert "three_yes" not in rows
    assert visit.current_item == "three_yes"


async def test_stale_forged_and_foreign_buttons_change_nothing(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    other = await register(api, world, OTHER_ID, Role.EVALUATOR, ["S1"])
    await open_visit(other)
    [foreign] = visits_of(world.database, OTHER_ID)
    await open_visit(shopper)
    await shopper.send_text("10")
    [visit] = visits_of(world.database, EVALUATOR_ID)
    before = answers(world.database, visit.id)
    cases = [
        (f"ans:{visit.id}:0:1", "out of date"),  # greet_time was already answered
        (f"ans:{foreign.id}:1:1", "not valid"),  # someone else's visit
        (f"ans:{visit.id}:1:7", "Answer “Yes” or “No”"),  # a value no button offers
        ("ans:x:y", "not valid"),
        ("drop table visit", "not valid"),
        (f"sub:{visit.id}:-1", "out of date"),  # submit while questions remain
        ("em:1:1:999", "finish or discard"),  # a picker button while a draft is open
    ]
    for data, message in cases:
        reaction = await shopper.press_raw(data)
        assert message in shopper.answers_to_callbacks[-1].text, data
        assert "greet you" in shopper.last_text(), "the current question stays in front"
        assert "sendMessage" not in reaction.methods, "no copy of the question is posted"
    assert answers(world.database, visit.id).keys() == before.keys()
    assert answers(world.database, foreign.id) == {}
    [again] = visits_of(world.database, EVALUATOR_ID)
    assert again.current_item == "greeted" and again.status == VisitStatus.DRAFT


async def test_a_restart_mid_visit_continues_at_the_same_item(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)
    await shopper.send_text("20")
    await shopper.press("Yes")
    old_question = shopper.last_message()
    yes = next(data for row in old_question.buttons for text, data in row if text == "Yes")
    assert yes is not None
    await bot.stop()
    restarted = RunningBot(api, world)
    await restarted.start()
    try:
        await shopper.send_command("/resume")
        assert "smile" in shopper.last_text() and "3/" in shopper.last_text()
        # The copy from before the restart lost its buttons to the new one; a client that
        # still shows them sends the same data, and it answers the same question.
        assert shopper.message(old_question.message_id).buttons == []
        await shopper.press_raw(yes, message_id=old_question.message_id)
        assert "introduce themselves" in shopper.last_text()
        await shopper.press("Yes")
        [visit] = visits_of(world.database, EVALUATOR_ID)
        assert answers(world.database, visit.id)["named_self"].value_text == "yes"
    finally:
        await restarted.stop()


async def test_cancel_asks_for_confirmation_then_abandons_the_draft(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)
    await shopper.send_command("/cancel")
    await shopper.press("No, continue")
    assert "How many seconds" in shopper.last_text()
    await shopper.send_command("/cancel")
    await shopper.press("Yes, discard")
    assert "discarded" in shopper.last_text()
    [visit] = visits_of(world.database, EVALUATOR_ID)
    assert visit.status == VisitStatus.CANCELLED
    await shopper.send_command("/resume")
    assert "no unfinished visit" in shopper.last_text()


async def test_an_answer_changed_from_the_review_updates_show_if_and_score(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)
    await shopper.send_text("10")
    for answer in STORE_VISIT_ALL_MET:
        await shopper.press(answer)
    await shopper.press("Skip ▶")
    await shopper.press("Skip ▶")
    assert "Score: 100 %" in shopper.last_text()
    assert "📷 17. Storefront photo — no answer" in shopper.last_text(), "a skipped photo"
    await shopper.press("2")  # greeted is the second item of the review
    await shopper.press("No")
    assert "❗ This answer needs: a comment" in shopper.last_text()
    await shopper.press("💬 Comment")
    await shopper.send_text("No greeting at all")
    review = shopper.last_text()
    assert "Check your answers" in review and "A critical standard not met: Greeting" in review
    assert "introduce themselves" not in review
    await shopper.press("✅ Submit")
    [visit] = visits_of(world.database, EVALUATOR_ID)
    # named_self is hidden: 19 − 1 = 18 to earn, and greeted earns 0 of its 2: 16 of 18.
    assert visit.score == pytest.approx(100 * 16 / 18)
    assert visit.critical_failed


async def test_the_progress_total_never_grows_and_shrinks_when_an_answer_hides_questions(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    """Questions that wait on an answer still ahead are counted until the answer hides
    them: a total growing from 15 to 18 as the visit goes on reads as a fault."""
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)

    def progress() -> tuple[int, int]:
        found = re.search(r"^(\d+)/(\d+) · ", shopper.last_text(), re.MULTILINE)
        assert found, shopper.last_text()
        return int(found[1]), int(found[2])

    seen = [progress()]
    await shopper.send_text("10")
    for answer in STORE_VISIT_ALL_MET[:8]:  # to the last tick of the needs discovery
        seen.append(progress())
        await shopper.press(answer)
    assert [total for _, total in seen] == [18] * 9, seen
    assert [position for position, _ in seen] == [1, 2, 3, 4, 5, 6, 7, 7, 7]
    await shopper.press("✅ Done")
    await shopper.press("No")  # no offer: three_yes is not asked
    assert progress() == (9, 17)


async def test_two_shoppers_at_once_do_not_interfere(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    first = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    second = await register(api, world, OTHER_ID, Role.EVALUATOR, ["S1"])
    await asyncio.gather(open_visit(first), open_visit(second, "Oleg"))

    async def answer(user: FakeUser, seconds: str, greeted: str) -> None:
        await user.send_text(seconds)
        await user.press(greeted)

    await asyncio.gather(answer(first, "11", "Yes"), answer(second, "77", "No"))
    [one] = visits_of(world.database, EVALUATOR_ID)
    [two] = visits_of(world.database, OTHER_ID)
    assert answers(world.database, one.id)["greet_time"].value_number == 11
    assert answers(world.database, two.id)["greet_time"].value_number == 77
    assert answers(world.database, one.id)["greeted"].value_text == "yes"
    assert answers(world.database, two.id)["greeted"].value_text == "no"
    assert one.employee_id != two.employee_id


async def test_the_bot_speaks_russian_by_default(api: FakeBotApi, world: World) -> None:
    running = RunningBot(api, world, language="ru")
    await running.start()
    try:
        user = api.user(EVALUATOR_ID, language_code="de")
        await user.send_command("/start", invite(world.database, Role.EVALUATOR))
        assert "Добро пожаловать" in user.last_text()
        await user.send_command("/visit")
        assert "Выберите магазин" in user.last_text()
    finally:
        await running.stop()


async def test_a_photo_is_stored_with_the_current_item(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await open_visit(shopper)
    await shopper.send_photo(file_id="evidence", file_unique_id="u-ev")
    assert "Photos: 1" in shopper.last_text()
    with world.database.read() as session:
        photo = session.scalars(select(Photo)).one()
        assert (photo.item_id, photo.file_id) == ("greet_time", "evidence")


async def test_sharing_a_location_sorts_stores_by_distance(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR)
    await shopper.send_location(55.7501, 37.5901)  # next to Arbat
    names = [row[0][0] for row in shopper.buttons()]
    assert names[0].startswith("Arbat · 0.0 km") and names[1].startswith("Tverskaya")
    await shopper.press(shopper.buttons()[0][0][0])
    assert "Arbat" in shopper.last_text() and "Choose the checklist" in shopper.last_text()


async def test_a_long_store_list_is_paged_with_assigned_stores_first(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    with world.database.write() as session:
        session.add_all([Store(code=f"P{n:02d}", name=f"Store {n:02d}") for n in range(10)])
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["P09"])
    await shopper.send_command("/visit")
    first = [row[0][0] for row in shopper.buttons()[:-1]]
    assert first[0] == "⭐ Store 09" and len(first) == 8
    await shopper.press("Next ▶")
    second = [row[0][0] for row in shopper.buttons()[:-1]]
    assert second == ["Store 06", "Store 07", "Store 08", "Tverskaya"]
    await shopper.press("◀ Previous")
    assert [row[0][0] for row in shopper.buttons()[:-1]] == first


async def test_only_checklists_of_the_stores_channels_are_offered_and_others_refused(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    with world.database.write() as session:
        tverskaya = session.scalars(select(Store).where(Store.code == "S1")).one()
        tverskaya.channels = "phone,online"
        store_id = tverskaya.id
    shopper = await register(api, world, EVALUATOR_ID, Role.EVALUATOR, ["S1"])
    await shopper.send_command("/visit")
    await shopper.press("⭐ Tverskaya")
    offered = [row[0][0] for row in shopper.buttons()[:-1]]
    assert offered == ["Online chat and messengers", "Phone call"]

    store_visit = world.versions["store_visit"]
    await shopper.press_raw(f"cl:{store_id}:{store_visit}")  # a forged button
    assert "not valid" in shopper.answers_to_callbacks[-1].text
    await shopper.press_raw(f"em:{store_id}:{store_visit}:0")
    assert "not valid" in shopper.answers_to_callbacks[-1].text
    assert visits_of(world.database, EVALUATOR_ID) == []

    await shopper.press("Phone call")
    assert "Who served you?" in shopper.last_text()
