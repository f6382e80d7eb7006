"""A conversation fit for the field: one test for each defect shoppers, managers and admins met
on day one (the conversation issue's numbered list), through the real bot over HTTP.

Every test drives the bot as a person would — commands, buttons, typed text, photos — and
checks what that person, and the others, then read and what was stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.i18n import catalogue
from storage.db import Database
from storage.models import Answer, Person, Role, Visit, VisitFlag, VisitStatus
from testkit.bot_harness import (
    STORE_VISIT_ALL_MET,
    ZONE,
    RunningBot,
    World,
    add_person,
    invite,
    make_world,
)
from testkit.fakebotapi import FakeBotApi, FakeUser
from testkit.shopper import answer_everything, card_arrived, labels, open_visit

SHOPPER, OTHER, ADMIN, MANAGER = 501, 502, 900, 601
FAR = (55.90, 37.80)
"""About 17 km from the test store "Tverskaya"."""


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    add_person(database, ADMIN, Role.ADMIN)
    add_person(database, MANAGER, Role.MANAGER, ["S1"])
    return world


async def running(api: FakeBotApi, world: World, **options: object) -> RunningBot:
    bot = RunningBot(api, world, **options)  # type: ignore[arg-type]
    await bot.start()
    return bot


@pytest.fixture
async def bot(api: FakeBotApi, world: World) -> AsyncIterator[RunningBot]:
    started = await running(api, world)
    yield started
    await started.stop()


def keyboards(user: FakeUser) -> list[int]:
    """The messages in the chat that still have buttons to press."""
    return [m.message_id for m in user.messages() if m.inline_keyboard]


def visits_of(database: Database, telegram_id: int) -> list[Visit]:
    with database.read() as session:
        found = session.scalars(
            select(Visit)
            .join(Person, Person.id == Visit.evaluator_id)
            .where(Person.telegram_id == telegram_id)
            .order_by(Visit.id)
        ).all()
        for visit in found:
            _ = visit.answers, visit.photos
        return list(found)


def flags_of(database: Database, visit_id: int) -> list[str]:
    with database.read() as session:
        return [
            f.kind for f in session.scalars(select(VisitFlag).where(VisitFlag.visit_id == visit_id))
        ]


# 1. Store words on every timer


@pytest.mark.parametrize(
    ("checklist", "start", "stop"),
    [
        ("Store visit", "▶ Walking in", "⏹ Someone came up"),
        ("Phone call", "▶ Dialling", "⏹ Answered"),
        ("Online chat and messengers", "▶ Message sent", "⏹ Reply received"),
    ],
)
async def test_1_a_stopwatch_says_what_it_measures_on_each_channel(
    api: FakeBotApi, bot: RunningBot, checklist: str, start: str, stop: str
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper, checklist)
    assert start in labels(shopper) and start in shopper.last_text()
    await shopper.press(start)
    assert stop in labels(shopper)
    if checklist != "Store visit":
        screens = [m.shown_text for m in shopper.messages()]
        assert not any("walked in" in s or "greeted" in s for s in screens), "store words"


async def test_1_russian_stopwatch_words_are_the_same_for_every_shopper(
    api: FakeBotApi, world: World
) -> None:
    bot = await running(api, world, language="ru")
    try:
        shopper = api.user(SHOPPER, language_code="ru")
        for checklist in ("Визит в магазин", "Телефонный звонок"):
            await shopper.send_command("/visit")
            await shopper.press("⭐ Tverskaya")
            await shopper.press(checklist)
            await shopper.press("Anna Ivanova · Seller")
            await shopper.press(next(b for b in labels(shopper) if b.startswith("▶")))
            await shopper.send_command("/cancel")
            await shopper.press("Да, отменить")
        said = " ".join(
            m.shown_text + " ".join(b for row in m.buttons for b, _ in row)
            for m in shopper.messages()
        )
        for gendered in ("вошёл", "вошла", "поприветствовали"):
            assert gendered not in said
    finally:
        await bot.stop()


# 2. A phone call flagged "far from the store"


async def test_2_a_call_is_never_flagged_for_distance_nor_a_visit_for_an_earlier_location(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_location(*FAR)
    await open_visit(shopper, "Phone call")
    await answer_everything(shopper)
    await open_visit(shopper)  # a store visit straight after, with no location of its own
    await answer_everything(shopper)
    call, visit = visits_of(world.database, SHOPPER)
    assert call.checkin_latitude is None and "far_from_store" not in flags_of(
        world.database, call.id
    )
    assert visit.checkin_latitude is None, "the location was shared before the call, not this visit"
    assert "far_from_store" not in flags_of(world.database, visit.id)


async def test_2_a_store_visit_keeps_a_location_shared_for_it(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_location(*FAR)
    await open_visit(shopper)
    await answer_everything(shopper)
    [visit] = visits_of(world.database, SHOPPER)
    assert visit.checkin_latitude == FAR[0]
    assert "far_from_store" in flags_of(world.database, visit.id)


# 3. A second invitation silently changes a person's role


async def test_3_an_invitation_for_another_role_asks_first_and_the_pseudonym_stays(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await answer_everything(shopper)
    await shopper.send_command("/start", invite(world.database, Role.MANAGER, ["S1"]))
    assert "store manager" in shopper.last_text() and "no longer do visits" in shopper.last_text()
    with world.database.read() as session:
        person = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        assert person.role == Role.EVALUATOR, "nothing changes before the shopper agrees"
    await shopper.press("No, keep it")
    await shopper.send_command("/visit")
    assert "Choose the store" in shopper.last_text()
    await shopper.send_command("/start", invite(world.database, Role.MANAGER, ["S1"]))
    await shopper.press("Yes, switch")
    with world.database.read() as session:
        person = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        assert (person.role, person.pseudonym) == (Role.MANAGER, "E-01")
    assert "You manage stores" in shopper.last_text()


# 4. A voided visit is not told to the shopper


async def flagged_visit(shopper: FakeUser, critical: str = "Yes") -> None:
    """A visit with its greeting time typed (not measured): it waits for an admin."""
    await open_visit(shopper)
    await shopper.send_text("12")
    await answer_everything(shopper, critical=critical)


async def test_4_a_voided_visit_is_told_to_its_shopper_with_the_reason(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await flagged_visit(shopper)
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("🗑 Void")
    await admin.send_text("The receipt is from another store")
    told = await api.wait_for(
        lambda: next((m for m in shopper.messages() if "voided" in m.shown_text), None)
    )
    assert "The receipt is from another store" in told.shown_text


# 5. Stale presses and double taps post copies of the question


async def test_5_one_live_question_stale_presses_get_a_toast_not_a_copy(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.send_text("12")  # typed: a new copy of the question below the answer
    assert len(keyboards(shopper)) == 1, "the older copy lost its buttons"
    question = shopper.last_message()
    yes = next(data for row in question.buttons for text, data in row if text == "Yes")
    assert yes is not None
    await shopper.press_raw(yes)
    reaction = await shopper.press_raw(yes, message_id=question.message_id)  # a double tap
    assert "out of date" in (shopper.answers_to_callbacks[-1].text or "")
    assert "sendMessage" not in reaction.methods
    assert "smile" in shopper.last_text() and len(keyboards(shopper)) == 1
    with world.database.read() as session:
        assert len(session.scalars(select(Answer)).all()) == 2


# 6. Untranslated admin texts


async def test_6_the_russian_review_card_and_overdue_list_speak_russian(
    api: FakeBotApi, world: World
) -> None:
    from visits import assignments

    bot = await running(api, world, language="ru")
    try:
        shopper = api.user(SHOPPER, language_code="ru")
        await shopper.send_command("/visit")
        await shopper.press("⭐ Tverskaya")
        await shopper.press("Визит в магазин")
        await shopper.press("Anna Ivanova · Seller")
        await shopper.send_text("12")
        await answer_everything(shopper)
        admin = api.user(ADMIN, language_code="ru")
        await admin.send_command("/review")
        card = admin.last_text()
        assert "время введено вручную: Подход в течение 30 с" in card
        assert "greet_time" not in card and " s for " not in card
        today = datetime.now(ZONE).date()
        with world.database.write() as session:
            assignments.create(
                session,
                [
                    assignments.NewAssignment(
                        "S1", "phone_call", "E-01", today - timedelta(3), today - timedelta(1)
                    )
                ],
                set(world.versions),
            )
        await admin.send_command("/overdue")
        assert "Телефонный звонок" in admin.last_text() and "phone_call" not in admin.last_text()
    finally:
        await bot.stop()


# 7. /help omits commands


@pytest.mark.parametrize(
    ("role", "commands"),
    [
        (Role.EVALUATOR, ["/visit", "/resume", "/cancel", "/visits", "/language"]),
        (Role.MANAGER, ["/report", "/followup", "/language"]),
        (Role.HR, ["/report", "/language"]),
        (Role.ADMIN, ["/review", "/overdue", "/report", "/resend", "/visit"]),
    ],
)
async def test_7_help_lists_every_command_of_the_role(
    api: FakeBotApi, bot: RunningBot, world: World, role: Role, commands: list[str]
) -> None:
    user_id = {Role.EVALUATOR: SHOPPER, Role.MANAGER: MANAGER, Role.ADMIN: ADMIN}.get(role, 603)
    if role == Role.HR:
        add_person(world.database, 603, Role.HR)
    user = api.user(user_id, language_code="en")
    await user.send_command("/help")
    for command in commands:
        assert command in user.last_text(), command


# 8. The manager's critical alert is sent twice, and before the admin's review


def alerts(manager: FakeUser) -> list[str]:
    return [m.shown_text for m in manager.messages() if "⚠" in m.shown_text]


async def test_8_a_critical_alert_goes_out_once_when_the_visit_counts(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    manager = api.user(MANAGER, language_code="en")
    await flagged_visit(shopper, critical="No")  # greeted: No, a critical standard
    assert alerts(manager) == [], "a flagged visit does not count yet"
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("↩ Return")
    await admin.send_text("Measure the greeting")
    await shopper.send_command("/resume")
    await shopper.press("✅ Submit")  # resubmitted as it was: flagged again
    assert alerts(manager) == []
    await admin.send_command("/review")
    await admin.press("✅ Accept")
    [alert] = await api.wait_for(lambda: alerts(manager) or None)
    assert (
        "Greeting" in alert and "?." not in alert and "?" not in alert.split("—")[1].split(".")[0]
    )
    await admin.send_command("/review")
    assert alerts(manager) == [alert], "once"


# 9. /followup breaks on a past date


async def test_9_followup_refuses_a_past_date_and_keeps_asking(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await answer_everything(shopper)
    with world.database.write() as session:  # a failed standard to follow up
        row = session.scalars(select(Answer).where(Answer.item_id == "smiled")).one()
        row.score = 0
    manager = api.user(MANAGER, language_code="en")
    await card_arrived(api, manager)
    await manager.send_command("/followup")
    await manager.press(labels(manager)[0])
    await manager.send_text("Smile training")
    today = datetime.now(ZONE).date()
    example = manager.last_text().split("e.g. ")[1].rstrip(".")
    assert datetime.strptime(example, "%d.%m.%Y").date() > today, "an example in the future"
    await manager.send_text(f"{today - timedelta(days=3):%d.%m.%Y}")
    assert "has passed" in manager.last_text()
    await manager.send_text(f"{today + timedelta(days=5):%d.%m.%Y}")
    assert "The action is recorded" in manager.last_text()


# 10. Going Back to an answered timer offers no "keep"


async def test_10_back_to_a_measured_timer_keeps_it_measured(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await shopper.press("◀ Back")
    assert "Next ▶" in labels(shopper)
    await shopper.press("Next ▶")
    assert "greet you" in shopper.last_text()
    await answer_everything(shopper)
    [visit] = visits_of(world.database, SHOPPER)
    assert next(a for a in visit.answers if a.item_id == "greet_time").measured
    assert "typed_timer" not in flags_of(world.database, visit.id)


# 11. Over-long text is refused and lost


async def test_11_over_long_text_is_kept_up_to_its_limit_which_is_said_before(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.press("💬 Comment")
    assert "1000 characters" in shopper.last_text()
    await shopper.send_text("x" * 5000)
    assert any("first 1000 are kept" in m.shown_text for m in shopper.messages())
    [visit] = visits_of(world.database, SHOPPER)
    [row] = visit.answers
    assert row.comment == "x" * 1000


# 12. Photo captions are dropped


async def test_12_a_photo_caption_becomes_the_questions_comment(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.send_photo(file_id="p1", file_unique_id="u1", caption="The door was locked")
    assert "The door was locked" in shopper.last_text()
    [visit] = visits_of(world.database, SHOPPER)
    assert [a.comment for a in visit.answers] == ["The door was locked"]


# 13. The final screen does not say a critical standard failed


async def test_13_the_final_screen_says_why_and_names_standards_met_in_part(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await shopper.press("No")  # greeted: critical, and a "No" asks for a comment
    await shopper.press("💬 Comment")
    await shopper.send_text("Nobody said a word")
    # smiled, listened … extra_mile; named_self is not asked without a greeting
    for answer in STORE_VISIT_ALL_MET[2:14]:
        await shopper.press(answer)
    assert "courtesy" in shopper.last_text()
    await shopper.press("4")
    await answer_everything(shopper)
    final = shopper.last_text()
    assert "not passed: a critical standard was not met" in final
    assert "Greeting — critical" in final and "Did the employee greet you?" not in final
    assert "Partly met:\n• Courtesy — 75 %" in final


# 14. "Not in the list" on phone and chat; the description in every header


async def test_14_a_caller_describes_what_a_caller_can_know_and_headers_stay_short(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper, "Phone call", "Not in the list")
    asked = shopper.last_text()
    assert "the name they gave" in asked and "badge" not in asked and "500 characters" in asked
    await shopper.send_text("A young woman who said her name was Olga. " * 11)
    header = shopper.last_text().splitlines()[0]
    assert len(header) < 90 and header.endswith("…")


# 15. No Back from the employee list, nor on question 1


async def test_15_back_from_the_employee_list_and_from_the_first_question(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_command("/visit")
    await shopper.press("⭐ Tverskaya")
    await shopper.press("Store visit")
    await shopper.press("◀ Back")
    assert "Choose the checklist" in shopper.last_text()
    await shopper.press("Store visit")
    await shopper.press("Anna Ivanova · Seller")
    await shopper.press("◀ Back")
    assert "Who served you?" in shopper.last_text()
    await shopper.press("Oleg")
    assert "Oleg" in shopper.last_text().splitlines()[0] and "1/" in shopper.last_text()
    [visit] = visits_of(world.database, SHOPPER)
    assert visit.employee_id is not None and visit.status == VisitStatus.DRAFT


# 16. The language setting


async def test_16_the_bot_speaks_its_language_until_a_person_chooses_another(
    api: FakeBotApi, world: World
) -> None:
    bot = await running(api, world, language="ru")
    try:
        shopper = api.user(SHOPPER, language_code="en")  # an English phone
        await shopper.send_command("/visit")
        assert "Выберите магазин" in shopper.last_text()
        await shopper.send_command("/language")
        await shopper.press("English")
        await shopper.send_command("/visit")
        assert "Choose the store" in shopper.last_text()
    finally:
        await bot.stop()


# 17. The ethics setting


async def test_17_with_employee_names_off_no_employee_is_asked_or_kept(
    api: FakeBotApi, world: World
) -> None:
    bot = await running(api, world, employee_names=False)
    try:
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/visit")
        await shopper.press("⭐ Tverskaya")
        await shopper.press("Store visit")
        assert "1/" in shopper.last_text(), "straight to the first question"
        assert "Back" not in " ".join(labels(shopper))
        await answer_everything(shopper)
        [visit] = visits_of(world.database, SHOPPER)
        assert visit.status == VisitStatus.SUBMITTED
        assert visit.employee_id is None and visit.employee_description is None
    finally:
        await bot.stop()


# 18. Russian wording


def test_18_russian_has_one_term_for_critical_standards_and_russian_units() -> None:
    messages, reports = catalogue("ru"), catalogue("ru", "reports")
    texts = " ".join([*messages.values(), *reports.values()])
    assert "ритическ" not in texts, "«критичный» throughout"
    assert messages["pick.store_distance"].endswith("км")
    assert messages["flag.far_from_store.details"].startswith("{metres}\u00a0м")


async def test_18_distances_have_a_decimal_comma_in_russian(api: FakeBotApi, world: World) -> None:
    bot = await running(api, world, language="ru")
    try:
        shopper = api.user(SHOPPER, language_code="ru")
        await shopper.send_location(55.75, 37.60)
        distances = labels(shopper)
        assert all("км" in d and "," in d and "." not in d.split("·")[-1] for d in distances)
    finally:
        await bot.stop()


# 19. Screens are long for one thumb


async def test_19_short_screens_the_hint_on_request_the_answer_marked_a_full_review(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    assert "The standard is 30 seconds" not in shopper.last_text()
    await shopper.press("ℹ Hint")
    assert "The standard is 30 seconds" in shopper.last_text()
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await shopper.press("Yes")
    await shopper.press("◀ Back")
    assert "✓ Yes" in labels(shopper)
    await shopper.press("💬 Comment")
    await shopper.send_text("Greeted at the door")
    await shopper.press("📋 All answers")
    review = shopper.last_text()
    assert "Greeted at the door" in review
    assert "4. Introduced by name" in review, "numbered by its place, though not yet answered"


async def test_a_shopper_sees_their_latest_visits(api: FakeBotApi, bot: RunningBot) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await flagged_visit(shopper)
    await shopper.send_command("/visits")
    assert "waiting for an administrator's check" in shopper.last_text()


async def test_3_a_role_button_for_an_invitation_not_opened_changes_nothing(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    """Invitation ids are no secret (their codes are): pressing "switch" with another
    invitation's id must not hand out its role."""
    from storage.models import Invitation

    code = invite(world.database, Role.ADMIN)
    with world.database.read() as session:
        admin_invitation = session.scalars(select(Invitation).where(Invitation.code == code)).one()
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_command("/help")
    await shopper.press_raw(f"role:{admin_invitation.id}:1")
    assert "not valid" in (shopper.answers_to_callbacks[-1].text or "")
    with world.database.read() as session:
        person = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        assert person.role == Role.EVALUATOR
        assert session.get(Invitation, admin_invitation.id).used_at is None  # type: ignore[union-attr]


# What a hostile review of the above found


async def test_a_review_too_long_for_telegram_still_arrives_with_its_verdict_and_buttons(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    for _ in range(9):  # long comments of characters HTML makes longer still
        await shopper.press("💬 Comment")
        await shopper.send_text("&" * 40 + '"' * 40)
        shown = labels(shopper)
        if "✅ Done" in shown:  # several ticks: the first, then done
            await shopper.press(shown[0])
            await shopper.press("✅ Done")
            continue
        await shopper.press(next(b for b in shown if b in ("Yes", "4", "3") or b[0] == "▶"))
        if any(b.startswith("⏹") for b in labels(shopper)):
            await shopper.press(next(b for b in labels(shopper) if b.startswith("⏹")))
    await shopper.press("📋 All answers")
    review = shopper.last_message()
    assert "Score:" in review.shown_text
    assert any(label == "◀ Back" for row in review.buttons for label, _ in row)
    assert len(keyboards(shopper)) == 1


async def test_nul_characters_typed_by_an_admin_or_a_manager_are_dropped(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    from storage.models import ReviewDecision

    shopper = api.user(SHOPPER, language_code="en")
    await flagged_visit(shopper)
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("↩ Return")
    await admin.send_text("bad\x00reason")
    with world.database.read() as session:
        assert session.scalars(select(ReviewDecision.reason)).one() == "badreason"


async def test_the_employee_cannot_change_once_the_visit_has_answers(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.send_text("12")
    [visit] = visits_of(world.database, SHOPPER)
    await shopper.press_raw(f"edit:{visit.id}:0")  # not from the review: refused anyway
    await shopper.press("📋 All answers")
    await shopper.press("1")
    await shopper.press_raw(f"who:{visit.id}:0")
    assert "out of date" in (shopper.answers_to_callbacks[-1].text or "")
    oleg = world.anna_id + 1
    await shopper.press_raw(f"em:{world.store_id}:{world.versions['store_visit']}:{oleg}")
    [visit] = visits_of(world.database, SHOPPER)
    assert visit.employee_id == world.anna_id


async def test_with_employee_names_off_no_button_lists_the_staff(
    api: FakeBotApi, world: World
) -> None:
    bot = await running(api, world, employee_names=False)
    try:
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/visit")
        await shopper.press_raw(f"ep:{world.store_id}:{world.versions['store_visit']}:0")
        assert "not valid" in (shopper.answers_to_callbacks[-1].text or "")
        assert not any("Anna" in m.shown_text for m in shopper.messages())
    finally:
        await bot.stop()


async def test_a_caption_on_the_review_is_kept_with_its_photo(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    from storage.models import Photo

    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.press("📋 All answers")
    await shopper.send_photo(file_id="p1", file_unique_id="u1", caption="The queue at the till")
    with world.database.read() as session:
        photo = session.scalars(select(Photo)).one()
        assert (photo.item_id, photo.caption) == (None, "The queue at the till")


async def test_a_description_of_invisible_characters_is_refused(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper, employee="Not in the list")
    await shopper.send_text("\u200b\u2060 \ufeff")
    assert any("empty" in m.shown_text for m in shopper.messages())
    [visit] = visits_of(world.database, SHOPPER)
    assert visit.employee_description is None


async def test_next_past_a_running_stopwatch_stops_it(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await open_visit(shopper)
    await shopper.send_text("12")
    await shopper.press("◀ Back")
    await shopper.press("▶ Walking in")
    await shopper.press("Next ▶")
    [visit] = visits_of(world.database, SHOPPER)
    assert visit.timer_item is None and visit.current_item == "greeted"
