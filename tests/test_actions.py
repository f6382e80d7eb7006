"""Corrective actions that close, through the real bot over HTTP: a failed critical standard
opens an action for the store, its managers are reminded the day before it is due and when it
is overdue, a manager closes it with what was done and a photo, and the next counted visit
verifies it — or, failing the standard again, reopens it. Only the store's managers see and
act on its actions; ``msbot actions`` lists them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from telegram import Bot

from bot.cli import main
from bot.service import Service
from bot.service.base import Setting
from checklists.scoring import Answer as Given
from storage import actions, followups, maintenance
from storage.db import Database
from storage.models import (
    ActionStatus,
    CorrectiveAction,
    Notice,
    Person,
    Role,
    Visit,
    VisitCard,
)
from testkit.bot_harness import ZONE, RunningBot, World, add_person, make_world, submitted_visit
from testkit.fakebotapi import FakeBotApi, FakeUser
from testkit.shopper import answer_everything, card_arrived, open_visit
from visits import integrity
from visits.clock import Clock
from visits.integrity import IntegrityRules

SHOPPER, OTHER, MANAGER, ELSEWHERE, HR = 501, 502, 601, 603, 604
START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Moscow


class MovableClock:
    def __init__(self) -> None:
        self.now = START

    def read(self) -> datetime:
        return self.now


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    add_person(database, OTHER, Role.EVALUATOR, ["S1"])
    add_person(database, MANAGER, Role.MANAGER, ["S1"])
    add_person(database, ELSEWHERE, Role.MANAGER, ["S2"])
    add_person(database, HR, Role.HR)
    return world


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def bot(api: FakeBotApi, world: World, clock: MovableClock) -> AsyncIterator[RunningBot]:
    started = RunningBot(api, world, clock=Clock(ZONE, clock.read))
    await started.start()
    yield started
    await started.stop()


async def measured_visit(shopper: FakeUser, *, greeted: str) -> None:
    """A store visit with the greeting's time measured (it counts at once)."""
    await open_visit(shopper)
    await shopper.press("▶ Walking in")
    await shopper.press("⏹ Someone came up")
    await answer_everything(shopper, critical=greeted)


def stored(database: Database) -> list[CorrectiveAction]:
    with database.read() as session:
        return list(session.scalars(select(CorrectiveAction).order_by(CorrectiveAction.id)))


async def remind(bot: RunningBot) -> None:
    """The reminders job, run now (it runs every half hour)."""
    assert bot.application is not None and bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("reminders")
    await job.run(bot.application)


def cards_of(user: FakeUser) -> list[str]:
    return [t for t in texts(user) if "Shopper:" in t]


def api_bot(bot: RunningBot) -> Bot:
    assert bot.application is not None
    return bot.application.bot


def texts(user: FakeUser) -> list[str]:
    return [m.shown_text for m in user.messages()]


async def test_an_action_opened_by_a_failed_critical_is_reminded_closed_and_verified(
    api: FakeBotApi,
    bot: RunningBot,
    world: World,
    clock: MovableClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await measured_visit(api.user(SHOPPER, language_code="en"), greeted="No")
    [action] = stored(world.database)
    assert (action.item_id, action.status, action.manager_id) == ("greeted", "open", None)
    assert action.due_on == date(2026, 12, 2), "seven days from the visit"
    manager = api.user(MANAGER, language_code="en")
    card = (await card_arrived(api, manager)).shown_text
    assert "📌 Corrective action due 02.12.2026: Greeting. See /actions." in card

    clock.now = START + timedelta(days=6)  # Tuesday 1 December: due tomorrow
    await remind(bot)
    await remind(bot)
    reminded = await api.wait_for(lambda: [t for t in texts(manager) if t.startswith("⏰")])
    assert await bot.outbox.run_once(api_bot(bot)) == 0, "nothing more to send"
    assert (
        [t for t in texts(manager) if t.startswith("⏰")]
        == reminded
        == [
            "⏰ A corrective action is due tomorrow, 02.12.2026: Greeting at Tverskaya."
            " Close it with /actions once it is done."
        ]
    ), "once"
    clock.now = START + timedelta(days=8)
    await remind(bot)
    await remind(bot)
    overdue = "❗ A corrective action is overdue"
    await api.wait_for(lambda: [t for t in texts(manager) if t.startswith(overdue)])
    assert await bot.outbox.run_once(api_bot(bot)) == 0, "nothing more to send"
    assert len([t for t in texts(manager) if t.startswith(overdue)]) == 1
    assert not any(t.startswith(("⏰", "❗")) for t in texts(api.user(ELSEWHERE)))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MSBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("MSBOT_TIMEZONE", str(ZONE))
    listed = CliRunner().invoke(main, ["actions", "--overdue", "--store", "S1"])
    assert listed.exit_code == 0, listed.output
    [header, row] = listed.output.splitlines()
    assert header.split()[:5] == ["id", "store", "from", "standard", "status"]
    assert "Greeting" in row and " overdue " in row and "store managers" in row
    assert CliRunner().invoke(main, ["actions", "--store", "S2"]).output == "(none)\n"
    unknown = CliRunner().invoke(main, ["actions", "--store", "S9"])
    assert unknown.exit_code != 0 and "no store with the code 'S9'" in unknown.output

    await manager.send_command("/actions")
    assert "❗ Greeting · Tverskaya · overdue, was due 02.12.2026" in manager.last_text()
    await manager.press("✔ Close: Greeting")
    assert "What was done about “Greeting” at Tverskaya?" in manager.last_text()
    await manager.send_text("Went through the greeting with every seller")
    assert manager.last_text() == "Send a photo of the result, or press Skip."
    await manager.send_text("and the new hire too")
    assert manager.last_text() == "Send a photo of the result, or press Skip.", "still waiting"
    await manager.send_photo(file_id="briefing", file_unique_id="briefing-1")
    assert manager.last_text().startswith("✅ Action closed: Greeting.")
    [action] = stored(world.database)
    assert action.status == ActionStatus.CLOSED and action.closed_photo == "briefing"
    assert action.closed_note == "Went through the greeting with every seller"
    await manager.send_command("/actions")
    assert (
        "✔ Greeting · Tverskaya · closed by P601: Went through the greeting with every seller"
        " · the next visit will check it"
    ) in manager.last_text()
    await manager.press("📷 Greeting: the photo")
    assert api.calls("sendPhoto", chat_id=MANAGER)[-1].params["photo"] == "briefing"

    clock.now = START + timedelta(days=9)
    await measured_visit(api.user(OTHER, language_code="en"), greeted="Yes")
    [action] = stored(world.database)
    assert action.status == ActionStatus.VERIFIED
    with world.database.read() as session:
        newest = session.scalars(select(Visit.id).order_by(Visit.id.desc())).first()
    assert action.verified_by_visit_id == newest
    await manager.send_command("/actions")
    assert manager.last_text() == "No corrective actions are open for your stores."


async def test_a_closed_action_is_reopened_by_a_visit_that_fails_the_standard_again(
    api: FakeBotApi, bot: RunningBot, world: World, clock: MovableClock
) -> None:
    await measured_visit(api.user(SHOPPER, language_code="en"), greeted="No")
    manager = api.user(MANAGER, language_code="en")
    await card_arrived(api, manager)
    await manager.send_command("/actions")
    await manager.press("✔ Close: Greeting")
    await manager.send_text("Talked to the team")
    await manager.press("Skip ▶")
    assert manager.last_text().startswith("✅ Action closed: Greeting.")
    [closed] = stored(world.database)
    assert closed.status == ActionStatus.CLOSED and closed.closed_photo is None

    clock.now = START + timedelta(days=3)
    await measured_visit(api.user(OTHER, language_code="en"), greeted="No")
    await api.wait_for(lambda: len(cards_of(manager)) == 2, what="the second card")
    [action] = stored(world.database)
    assert action.status == ActionStatus.OPEN and action.reopens == 1, "reopened, not a new one"
    assert action.due_on == date(2026, 12, 5) and action.reopened_by_visit_id is not None
    await manager.send_command("/actions")
    assert "⏳ Greeting · Tverskaya · due 05.12.2026" in manager.last_text()


async def test_nobody_but_the_stores_managers_sees_or_closes_its_actions(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    await measured_visit(api.user(SHOPPER, language_code="en"), greeted="No")
    [action] = stored(world.database)
    manager = api.user(MANAGER, language_code="en")
    await card_arrived(api, manager)
    elsewhere = api.user(ELSEWHERE, language_code="en")
    await elsewhere.send_command("/actions")
    assert elsewhere.last_text() == "No corrective actions are open for your stores."
    for word in ("c", "s"):
        await elsewhere.press_raw(f"ac:{word}:{action.id}")
        assert "not for your stores" in elsewhere.answers_to_callbacks[-1].text
    for telegram_id in (HR, SHOPPER):
        user = api.user(telegram_id, language_code="en")
        await user.send_command("/actions")
        assert user.last_text() == "This is for store managers."
        await user.press_raw(f"ac:c:{action.id}")
        assert user.answers_to_callbacks[-1].text == "This is for store managers."
    await manager.press_raw(f"ac:s:{action.id}")  # Skip with no closing begun
    assert manager.answers_to_callbacks[-1].text == "This button is not valid."
    [unchanged] = stored(world.database)
    assert unchanged.status == ActionStatus.OPEN and unchanged.done_at is None


def test_a_standard_marked_action_required_opens_one_when_not_fully_met(world: World) -> None:
    """The shipped store visit marks the tidy sales floor ``action: required``: "Minor
    issues" (half met) opens an action, as a failed critical does; a second failing visit
    while it is open opens no second one."""
    with world.database.write() as session:
        shopper = session.scalars(select(Person).where(Person.telegram_id == SHOPPER)).one()
        shopper_id = shopper.id
    answers = {"greeted": Given("yes"), "tidiness": Given("minor_issues")}
    for day in (1, 2):
        visit_id = submitted_visit(world, shopper_id, None, answers, START + timedelta(days=day))
        with world.database.write() as session:
            visit = session.get(Visit, visit_id)
            assert visit is not None
            days = IntegrityRules().action_days
            actions.on_counted(session, visit, days, date(2026, 11, 26), START)
    [action] = stored(world.database)
    assert (action.item_id, action.status) == ("tidiness", ActionStatus.OPEN)


def test_a_voided_visit_passes_its_action_on_and_undoes_what_it_did(world: World) -> None:
    """Visits 1 and 2 fail the tidy floor; voiding 1 leaves the action with 2. Visit 3 meets
    it after the action was closed; voiding 3 closes it again, unverified. Visit 4 fails it
    after the closing; voiding 4 closes it again instead of leaving it reopened."""
    shopper_id = _person_id(world, SHOPPER)
    untidy = {"greeted": Given("yes"), "tidiness": Given("untidy")}
    tidy = {"greeted": Given("yes"), "tidiness": Given("clean")}
    first, second = (_counted(world, shopper_id, untidy, day) for day in (1, 2))
    [action] = stored(world.database)
    assert action.visit_id == first
    with world.database.write() as session:
        maintenance.void_visit(session, first, "a test visit", "cli:test", START)
    [action] = stored(world.database)
    assert action.visit_id == second, "the standard still failed at visit 2"
    _close(world, action.id, day=3)
    third = _counted(world, shopper_id, tidy, 4)
    [action] = stored(world.database)
    assert (action.status, action.verified_by_visit_id) == (ActionStatus.VERIFIED, third)
    with world.database.write() as session:
        maintenance.void_visit(session, third, "wrong store", "cli:test", START)
    [action] = stored(world.database)
    assert (action.status, action.verified_at) == (ActionStatus.CLOSED, None)
    fourth = _counted(world, shopper_id, untidy, 5)
    [action] = stored(world.database)
    assert (action.status, action.reopened_by_visit_id) == (ActionStatus.OPEN, fourth)
    with world.database.write() as session:
        maintenance.void_visit(session, fourth, "wrong store", "cli:test", START)
    [action] = stored(world.database)
    assert (action.status, action.reopens) == (ActionStatus.CLOSED, 0)
    assert action.closed_note == "Tidied up", "the manager's closing is kept"


def test_a_visit_made_before_the_closing_and_accepted_late_neither_reopens_nor_verifies(
    world: World,
) -> None:
    shopper_id = _person_id(world, SHOPPER)
    untidy = {"greeted": Given("yes"), "tidiness": Given("untidy")}
    _counted(world, shopper_id, untidy, 1)
    [action] = stored(world.database)
    early = submitted_visit(world, shopper_id, None, untidy, START + timedelta(days=2))
    _close(world, action.id, day=3)
    with world.database.write() as session:  # accepted on day 4, made on day 2
        visit = session.get(Visit, early)
        assert visit is not None
        actions.on_counted(session, visit, 7, date(2026, 11, 29), START + timedelta(days=4))
    [action] = stored(world.database)
    assert (action.status, action.reopens) == (ActionStatus.CLOSED, 0)


def test_followup_offers_no_standard_whose_action_is_in_play(world: World) -> None:
    shopper_id = _person_id(world, SHOPPER)
    untidy = {"greeted": Given("yes"), "tidiness": Given("untidy"), "smiled": Given("no")}
    for day in (1, 2):
        _counted(world, shopper_id, untidy, day)
    with world.database.read() as session:
        manager = session.scalars(select(Person).where(Person.telegram_id == MANAGER)).one()
        offered = followups.failed_standards(session, manager, START + timedelta(days=3))
    assert {f.item_id for f in offered} == {"smiled"}, "the tidy floor has its action already"


def test_reminders_wait_for_the_morning(world: World) -> None:
    shopper_id = _person_id(world, SHOPPER)
    _counted(world, shopper_id, {"greeted": Given("no")}, 1)  # due 3 December
    moment = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 00:30 on 2 December in Moscow
    service = bootstrap_service(world, moment)
    assert service.actions.remind() == 0, "not at half past midnight"
    later = bootstrap_service(world, moment + timedelta(hours=9))  # 09:30
    assert later.actions.remind() == 1
    with world.database.read() as session:
        [notice] = session.scalars(select(Notice)).all()
        assert notice.recipient.telegram_id == MANAGER and notice.text.startswith("⏰")


def bootstrap_service(world: World, moment: datetime) -> Service:
    return Service(Setting(world.database, "en", Clock.fixed(moment, ZONE)))


def _person_id(world: World, telegram_id: int) -> int:
    with world.database.read() as session:
        return session.scalars(select(Person.id).where(Person.telegram_id == telegram_id)).one()


def _counted(world: World, shopper_id: int, answers: dict[str, Given], day: int) -> int:
    """A visit submitted on ``day`` after START that counts at once."""
    at = START + timedelta(days=day)
    visit_id = submitted_visit(world, shopper_id, None, answers, at)
    with world.database.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        actions.on_counted(session, visit, 7, at.astimezone(ZONE).date(), at)
    return visit_id


def _close(world: World, action_id: int, *, day: int) -> None:
    with world.database.write() as session:
        manager = session.scalars(select(Person).where(Person.telegram_id == MANAGER)).one()
        action = actions.managed(session, action_id, manager)
        actions.close(action, manager, "Tidied up", None, START + timedelta(days=day))


async def test_a_reminder_telegram_refuses_is_sent_later_once_not_lost(
    api: FakeBotApi, bot: RunningBot, world: World, clock: MovableClock
) -> None:
    await measured_visit(api.user(SHOPPER, language_code="en"), greeted="No")
    manager = api.user(MANAGER, language_code="en")
    await card_arrived(api, manager)
    api.fail_next("sendMessage", status=500, chat_id=MANAGER)  # the one try the ledger makes
    clock.now = START + timedelta(days=6)
    await remind(bot)

    def tried() -> Notice | None:
        with world.database.read() as session:
            notice = session.scalars(select(Notice)).first()
            return notice if notice is not None and notice.status == "failed" else None

    await api.wait_for(tried, what="the refused reminder on record")
    assert not [t for t in texts(manager) if t.startswith("⏰")]
    with world.database.write() as session:  # its backoff has passed
        for notice in session.scalars(select(Notice)):
            notice.next_attempt_at = None
    assert await bot.outbox.run_once(api_bot(bot)) == 1
    assert len([t for t in texts(manager) if t.startswith("⏰")]) == 1


def test_a_reminder_waits_for_a_store_that_has_no_manager_yet(world: World) -> None:
    shopper_id = _person_id(world, SHOPPER)
    _counted(world, shopper_id, {"greeted": Given("no")}, 1)  # due 3 December
    with world.database.write() as session:
        manager = session.scalars(select(Person).where(Person.telegram_id == MANAGER)).one()
        manager.active = False
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, the day before
    assert bootstrap_service(world, morning).actions.remind() == 0
    with world.database.write() as session:
        manager = session.scalars(select(Person).where(Person.telegram_id == MANAGER)).one()
        manager.active = True
    assert bootstrap_service(world, morning).actions.remind() == 1, "not used up"


def test_a_correction_of_the_verifying_or_reopening_visit_moves_the_action_with_it(
    world: World,
) -> None:
    shopper_id = _person_id(world, SHOPPER)
    untidy = {"greeted": Given("yes"), "tidiness": Given("untidy")}
    tidy = {"greeted": Given("yes"), "tidiness": Given("clean")}
    _counted(world, shopper_id, untidy, 1)
    [action] = stored(world.database)
    original_due = action.due_on
    _close(world, action.id, day=2)
    second = _counted(world, shopper_id, tidy, 3)
    _correct(world, second, Given("untidy"))
    [action] = stored(world.database)
    assert (action.status, action.reopened_by_visit_id) == (ActionStatus.OPEN, second)
    _correct(world, second, Given("clean"))
    [action] = stored(world.database)
    assert (action.status, action.verified_by_visit_id) == (ActionStatus.VERIFIED, second)
    assert action.due_on == original_due and action.reopens == 0


def test_voiding_the_reopening_visit_restores_the_due_date(world: World) -> None:
    shopper_id = _person_id(world, SHOPPER)
    untidy = {"greeted": Given("yes"), "tidiness": Given("untidy")}
    _counted(world, shopper_id, untidy, 1)
    [action] = stored(world.database)
    original_due = action.due_on
    _close(world, action.id, day=2)
    reopening = _counted(world, shopper_id, untidy, 3)
    [action] = stored(world.database)
    assert action.due_on != original_due
    with world.database.write() as session:
        maintenance.void_visit(session, reopening, "wrong store", "cli:test", START)
    [action] = stored(world.database)
    assert (action.status, action.due_on, action.reopens) == (
        ActionStatus.CLOSED,
        original_due,
        0,
    )


def _correct(world: World, visit_id: int, answer: Given) -> None:
    """An admin's correction of the tidy floor on a counted visit (as in a dispute)."""
    with world.database.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        card = VisitCard(visit_id=visit_id, manager_id=_person_id(world, MANAGER))
        card.disputed_at, card.dispute_reason = START, "disputed"
        session.add(card)
        session.flush()
        integrity.correct(
            session,
            visit_id,
            "tidiness",
            answer,
            "the photo",
            _person_id(world, MANAGER),
            START + timedelta(days=4),
            rules=IntegrityRules(),
            today=date(2026, 11, 29),
        )
        session.delete(card)
