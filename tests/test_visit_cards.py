"""The store managers' visit cards, through the real bot over HTTP: a visit that counts
reaches each of its store's managers once, with what they need to act and the shopper by
pseudonym only; ✔ Seen and ⚑ Dispute work on one's own card only; a dispute goes to the
admins, who uphold or void it, and the managers are told.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from telegram import Bot

from checklists.scoring import Answer as Given
from storage import cards as visit_cards
from storage import maintenance
from storage.checklist_versions import definition
from storage.db import Database
from storage.models import (
    CorrectiveAction,
    DeliveryStatus,
    DisputeOutcome,
    Person,
    Role,
    Visit,
    VisitCard,
    VisitStatus,
)
from testkit.bot_harness import RunningBot, World, add_person, make_world, submitted_visit
from testkit.fakebotapi import FakeBotApi, FakeUser, SentMessage
from testkit.shopper import answer_everything, open_visit

SHOPPER, ADMIN, MANAGER, DEPUTY, ELSEWHERE, HR = 501, 900, 601, 602, 603, 604


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    add_person(database, ADMIN, Role.ADMIN)
    add_person(database, MANAGER, Role.MANAGER, ["S1"])
    add_person(database, DEPUTY, Role.MANAGER, ["S1"])
    add_person(database, ELSEWHERE, Role.MANAGER, ["S2"])
    add_person(database, HR, Role.HR)
    with database.write() as session:
        shopper = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        shopper.name = "Olga Secretova"
    return world


@pytest.fixture
async def bot(api: FakeBotApi, world: World) -> AsyncIterator[RunningBot]:
    started = RunningBot(api, world)
    await started.start()
    yield started
    await started.stop()


def cards_of(user: FakeUser) -> list[SentMessage]:
    return [m for m in user.messages() if "Shopper:" in m.shown_text]


def card_rows(database: Database) -> list[VisitCard]:
    with database.read() as session:
        rows = session.scalars(select(VisitCard).order_by(VisitCard.id)).all()
        for row in rows:
            _ = row.manager.telegram_id
        return list(rows)


async def failing_visit(shopper: FakeUser, *, measured: bool = True) -> None:
    """A store visit whose critical greeting was not met, with a photo and the comment the
    greeting's "No" asks for; measured (it counts at once) or typed (flagged)."""
    await open_visit(shopper)
    if measured:
        await shopper.press("▶ Walking in")
        await shopper.press("⏹ Someone came up")
    else:
        await shopper.send_text("12")
    await shopper.send_photo(file_id="door-photo", file_unique_id="door-1")
    await answer_everything(shopper, critical="No")


async def card_for(api: FakeBotApi, user: FakeUser) -> SentMessage:
    [card] = await api.wait_for(lambda: cards_of(user) or None)
    return card


async def test_a_failing_visit_reaches_each_manager_once_with_what_they_need_to_act(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await failing_visit(shopper)
    manager, deputy = api.user(MANAGER), api.user(DEPUTY)
    card = await card_for(api, manager)
    await card_for(api, deputy)
    text = card.shown_text
    assert text.startswith("Store visit #1 · Tverskaya · ")
    assert text.splitlines()[1] == "⚠ A critical standard was not met: Greeting."
    assert "not passed (pass mark" in text and "Not met:" in text
    assert "💬 Noted" in text, "the shopper's comment beside the standard"
    assert "📌 Corrective action due " in text
    assert "Employee: Anna Ivanova" in text
    [visit] = _visits(world.database)
    assert f"Shopper: {visit.evaluator.pseudonym}" in text
    assert "Olga" not in text and "Secretova" not in text, "the shopper by pseudonym only"
    assert [label for row in card.buttons for label, _ in row] == [
        "✔ Seen",
        "⚑ Dispute",
        "📎 Photos and recordings: 1",
    ]
    assert cards_of(api.user(ELSEWHERE)) == [] and cards_of(api.user(HR)) == []
    assert await bot.outbox.run_once(api_bot(bot)) == 0, "nothing is due twice"
    assert [len(cards_of(u)) for u in (manager, deputy)] == [1, 1]
    rows = card_rows(world.database)
    assert {(r.status, r.attempts, r.message_id is not None) for r in rows} == {
        (DeliveryStatus.SENT, 1, True)
    }


async def test_seen_and_dispute_upheld_each_manager_is_told_what_concerns_them(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await failing_visit(shopper)
    manager, deputy = api.user(MANAGER), api.user(DEPUTY)
    seen_card, disputed_card = await card_for(api, manager), await card_for(api, deputy)

    await manager.press("✔ Seen", message_id=seen_card.message_id)
    assert manager.answers_to_callbacks[-1].text == "Marked as seen."
    seen = manager.message(seen_card.message_id)
    assert "✔ Seen " in seen.shown_text
    assert next(label for row in seen.buttons for label, _ in row) == "⚑ Dispute"

    await deputy.press("⚑ Dispute", message_id=disputed_card.message_id)
    assert "Type the reason" in deputy.last_text()
    await deputy.send_text("   ")
    assert "a dispute is not sent without one" in deputy.last_text()
    await deputy.send_text("The greeting was at the door; the shopper came in by the side")
    assert "went to the administrators" in deputy.last_text()
    await deputy.press("⚑ Dispute", message_id=disputed_card.message_id)
    assert deputy.answers_to_callbacks[-1].text == "This visit is already disputed."

    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    review = admin.last_text()
    assert "⚑ Disputed by the store (P602): The greeting was at the door" in review
    await admin.press("✅ Visit stands")
    assert "stands" in admin.answers_to_callbacks[-1].text
    told = await api.wait_for(
        lambda: next((m for m in deputy.messages() if "was reviewed" in m.shown_text), None)
    )
    assert "the visit stands" in told.shown_text
    assert not any("was reviewed" in m.shown_text for m in manager.messages()), "no dispute"
    [visit] = _visits(world.database)
    assert visit.status == VisitStatus.SUBMITTED, "the visit still counts"
    by_manager = {r.manager.telegram_id: r for r in card_rows(world.database)}
    assert by_manager[MANAGER].seen_at is not None and by_manager[MANAGER].disputed_at is None
    assert by_manager[DEPUTY].dispute_outcome == DisputeOutcome.UPHELD
    await admin.send_command("/review")
    assert "No flagged or disputed visits are waiting" in admin.last_text()


async def test_a_dispute_voided_takes_the_visit_out_and_tells_manager_and_shopper(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await failing_visit(shopper)
    manager = api.user(MANAGER)
    card = await card_for(api, manager)
    await manager.press("⚑ Dispute", message_id=card.message_id)
    await manager.send_text("That day the store was closed for stocktaking")
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("🗑 Void")
    assert "shopper and the store's managers will see it" in admin.last_text()
    await admin.send_text("The store was closed that day")
    to_manager = await api.wait_for(
        lambda: next((m for m in manager.messages() if "was reviewed" in m.shown_text), None)
    )
    assert "voided" in to_manager.shown_text and "closed that day" in to_manager.shown_text
    to_shopper = await api.wait_for(
        lambda: next((m for m in shopper.messages() if "was voided" in m.shown_text), None)
    )
    assert "closed that day" in to_shopper.shown_text
    [visit] = _visits(world.database)
    assert visit.status == VisitStatus.VOIDED
    with world.database.read() as session:
        assert session.scalars(select(CorrectiveAction)).all() == [], "its action went with it"
    deputy = api.user(DEPUTY)
    [other] = cards_of(deputy)
    await deputy.press("✔ Seen", message_id=other.message_id)
    assert deputy.answers_to_callbacks[-1].text == "This visit no longer counts: it was voided."


async def test_a_flagged_visit_gets_its_cards_only_once_accepted(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await failing_visit(shopper, measured=False)
    manager = api.user(MANAGER)
    assert card_rows(world.database) == []
    assert await bot.outbox.run_once(api_bot(bot)) == 0 and cards_of(manager) == []
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("✅ Accept")
    await card_for(api, manager)
    await card_for(api, api.user(DEPUTY))


async def test_nobody_acts_on_a_card_that_is_not_theirs(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await failing_visit(shopper)
    manager = api.user(MANAGER)
    await card_for(api, manager)
    await card_for(api, api.user(DEPUTY))
    mine = {r.manager.telegram_id: r.id for r in card_rows(world.database)}[MANAGER]
    intruders = {
        DEPUTY: "This card is not yours",  # a manager of the same store, another's card
        ELSEWHERE: "This card is not yours",  # another store's manager
        HR: "This is for store managers",
        SHOPPER: "This is for store managers",
    }
    for telegram_id, refusal in intruders.items():
        user = api.user(telegram_id, language_code="en")
        for word in ("s", "d", "l"):
            if not user.messages():
                await user.send_command("/help")
            before = len(user.messages())
            await user.press_raw(f"mc:{word}:{mine}")
            assert refusal in user.answers_to_callbacks[-1].text, (telegram_id, word)
            assert len(user.messages()) == before, "no photos, no dispute prompt"
    await manager.press_raw("mc:s:99999")
    assert "not yours" in manager.answers_to_callbacks[-1].text
    await manager.press_raw("mc:x:1")
    assert "not valid" in manager.answers_to_callbacks[-1].text
    rows = card_rows(world.database)
    assert all(r.seen_at is None and r.disputed_at is None for r in rows), "nothing changed"


async def test_a_card_send_that_fails_is_retried_and_one_that_times_out_is_not_lost(
    api: FakeBotApi, world: World
) -> None:
    started = RunningBot(api, world, timeout=1.0)
    await started.start()
    try:
        api.fail_next("sendMessage", status=500, chat_id=MANAGER)
        api.fail_next("sendMessage", status="timeout", chat_id=DEPUTY, seconds=3)
        shopper = api.user(SHOPPER, language_code="en")
        await failing_visit(shopper)
        settled = (DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.SENT)

        def tried() -> bool:
            rows = card_rows(world.database)
            return bool(rows) and all(r.status in settled for r in rows)

        await api.wait_for(tried, timeout=15)
        by_manager = {r.manager.telegram_id: r for r in card_rows(world.database)}
        assert by_manager[MANAGER].status == DeliveryStatus.FAILED
        assert by_manager[DEPUTY].status == DeliveryStatus.UNKNOWN
        assert cards_of(api.user(MANAGER)) == [] and cards_of(api.user(DEPUTY)) == []
        with world.database.write() as session:  # the backoffs have passed
            for row in session.scalars(select(VisitCard)):
                row.next_attempt_at = None
        # This outbox and the bot's own (its tick) both go for the two: like two processes.
        await started.outbox.run_once(api_bot(started))
        await api.wait_for(
            lambda: {r.status for r in card_rows(world.database)} == {DeliveryStatus.SENT}
        )
        assert [len(cards_of(api.user(u))) for u in (MANAGER, DEPUTY)] == [1, 1]
    finally:
        await started.stop()


def api_bot(bot: RunningBot) -> Bot:
    assert bot.application is not None
    return bot.application.bot


def _visits(database: Database) -> list[Visit]:
    with database.read() as session:
        found = list(session.scalars(select(Visit).order_by(Visit.id)))
        for visit in found:
            _ = visit.evaluator.pseudonym
        return found


async def test_a_dispute_left_untyped_is_dropped_by_a_command_not_filled_by_a_later_message(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    await failing_visit(api.user(SHOPPER, language_code="en"))
    manager = api.user(MANAGER, language_code="en")
    card = await card_for(api, manager)
    await manager.press("⚑ Dispute", message_id=card.message_id)
    await manager.send_command("/help")
    await manager.send_text("thanks, will look tomorrow")
    assert "went to the administrators" not in manager.last_text()
    assert all(r.disputed_at is None for r in card_rows(world.database))


async def test_a_correction_made_while_disputed_moves_the_actions_and_the_score_told(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    await failing_visit(api.user(SHOPPER, language_code="en"))  # the floor was clean
    manager = api.user(MANAGER, language_code="en")
    card = await card_for(api, manager)
    await manager.press("⚑ Dispute", message_id=card.message_id)
    await manager.send_text("The floor was being mopped, it is never untidy")
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("📋 Answers")
    with world.database.read() as session:
        [visit] = session.scalars(select(Visit)).all()
        checklist = definition(visit.checklist_version)
    tidiness = [i.id for i in checklist.items].index("tidiness")
    await admin.press(str(tidiness + 1))
    await admin.press("Untidy")
    await admin.send_text("The photo shows boxes in the aisle")
    with world.database.read() as session:
        opened = {a.item_id for a in session.scalars(select(CorrectiveAction))}
    assert opened == {"greeted", "tidiness"}, "the corrected answer opens its action"
    await admin.press("✅ Visit stands")
    told = await api.wait_for(
        lambda: next((m for m in manager.messages() if "was reviewed" in m.shown_text), None)
    )
    [visit] = _visits(world.database)
    score = f"{visit.score:.1f}"
    assert f"the visit stands, with a score of {score} %" in told.shown_text


def test_msbot_void_settles_the_disputes_of_the_visit(world: World) -> None:
    with world.database.write() as session:
        shopper = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        shopper_id = shopper.id
    now = datetime.now(UTC)
    visit_id = submitted_visit(world, shopper_id, None, {"greeted": Given("no")}, now)
    with world.database.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        visit_cards.due(session, visit)
        session.flush()
        card = session.scalars(select(VisitCard)).first()
        assert card is not None
        card.sent_at = now
        visit_cards.dispute(session, card, "Not our store", now)
    with world.database.write() as session:
        maintenance.void_visit(session, visit_id, "entered twice", "cli:ops", now)
    disputed = [r for r in card_rows(world.database) if r.disputed_at is not None]
    assert [(r.dispute_outcome, r.decision_reason) for r in disputed] == [
        (DisputeOutcome.VOIDED, "entered twice")
    ]
