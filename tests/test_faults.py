"""Faults: a killed process, Bot API errors, a locked database, an unwritable export folder."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.reports import ReportService
from checklists.scoring import Answer as A
from storage.db import Database
from storage.models import Answer, ReportDelivery, Role, Visit
from testkit.bot_harness import (
    TOKEN,
    ZONE,
    RunningBot,
    World,
    add_person,
    invite,
    make_world,
    process_environment,
    start_msbot_run,
    submitted_visit,
)
from testkit.fakebotapi import FakeBotApi, FakeUser

SHOPPER, MANAGER = 501, 601
AFTER_DUE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.fixture
def world(database: Database) -> World:
    return make_world(database)


async def registered(api: FakeBotApi, world: World) -> FakeUser:
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_command("/start", invite(world.database, Role.EVALUATOR, ["S1"]))
    return shopper


async def at_the_first_question(api: FakeBotApi, world: World) -> FakeUser:
    """A registered shopper with a store visit opened, asked its first question."""
    shopper = await registered(api, world)
    await shopper.send_command("/visit")
    for button in ("⭐ Tverskaya", "Store visit", "Anna Ivanova · Seller"):
        await shopper.press(button)
    return shopper


async def test_5xx_answers_from_the_bot_api_are_retried(api: FakeBotApi, world: World) -> None:
    running = RunningBot(api, world)
    await running.start()
    try:
        shopper = await registered(api, world)
        api.fail_next("sendMessage", times=2, status=502)
        await shopper.send_command("/visit", timeout=15, until=lambda r: any(c.ok for c in r.calls))
        assert "Choose the store" in shopper.last_text()
        statuses = [r.status for r in api.calls("sendMessage", chat_id=SHOPPER)][-3:]
        assert statuses == [502, 502, 200]
    finally:
        await running.stop()


async def test_a_timed_out_call_is_retried(api: FakeBotApi, world: World) -> None:
    running = RunningBot(api, world, timeout=1.0)
    # The bot gives up after 1 s; the stalled call ends after 5 s even if the server misses
    # the client's disconnect (it did once under load), so the wait below cannot hang on it.
    api.hang_seconds = 5.0
    await running.start()
    try:
        shopper = await registered(api, world)
        api.fail_next("sendMessage", times=1, status="timeout")
        reaction = await shopper.send_command(
            "/visit", timeout=20, until=lambda r: any(c.ok for c in r.calls)
        )
        stalled, retry = [c for c in reaction.calls if c.method == "sendMessage"][:2]
        assert retry.ok and retry.time - stalled.time >= 1.0
        assert "Choose the store" in shopper.last_text()
    finally:
        await running.stop()


async def test_telegrams_429_is_waited_out_before_the_reply(api: FakeBotApi, world: World) -> None:
    running = RunningBot(api, world)
    await running.start()
    try:
        shopper = await registered(api, world)
        api.fail_next("sendMessage", times=1, status=429, retry_after=1)
        started = time.monotonic()
        await shopper.send_command("/visit", timeout=15, until=lambda r: any(c.ok for c in r.calls))
        assert time.monotonic() - started >= 1.0
        assert "Choose the store" in shopper.last_text()
    finally:
        await running.stop()


async def test_a_locked_database_asks_the_shopper_to_repeat_and_saves_nothing(
    api: FakeBotApi, world: World, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("locks the SQLite file")
    impatient = dataclasses.replace(world, database=Database(database_url, busy_timeout_ms=200))
    running = RunningBot(api, impatient)
    await running.start()
    lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        shopper = await at_the_first_question(api, world)
        lock.execute("BEGIN IMMEDIATE")
        await shopper.send_text("14")
        assert "database is busy" in shopper.last_text()
        lock.execute("ROLLBACK")
        with world.database.read() as session:
            assert session.scalars(select(Answer)).all() == []
        await shopper.send_text("14")
        assert "greet you" in shopper.last_text()
        with world.database.read() as session:
            assert [a.value_number for a in session.scalars(select(Answer))] == [14]
    finally:
        lock.close()
        await running.stop()
        impatient.database.dispose()


async def test_a_write_lock_held_elsewhere_never_stops_the_event_loop(
    api: FakeBotApi, world: World, database_url: str
) -> None:
    """Answers are written on the event loop when the database is free; while another
    process holds SQLite's write lock, a shopper's answer and press wait for it in a worker
    thread, the loop goes on serving (a heartbeat on it never misses a beat), and both are
    saved once the lock is released."""
    if not database_url.startswith("sqlite"):
        pytest.skip("locks the SQLite file")
    running = RunningBot(api, world)
    await running.start()
    lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    beats: list[float] = []

    async def heartbeat() -> None:
        while True:
            beats.append(time.monotonic())
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    try:
        shopper = await at_the_first_question(api, world)
        for act in (lambda: shopper.send_text("14"), lambda: shopper.press("Yes")):
            lock.execute("BEGIN IMMEDIATE")
            waiting = asyncio.create_task(act())
            await asyncio.sleep(1)
            assert not waiting.done()  # it waits for the lock, in a worker thread
            lock.execute("ROLLBACK")
            await waiting
        with world.database.read() as session:
            answers = session.scalars(select(Answer).order_by(Answer.id)).all()
            assert [(a.item_id, a.value_text, a.value_number) for a in answers] == [
                ("greet_time", None, 14),
                ("greeted", "yes", None),
            ]
        assert max(later - earlier for earlier, later in itertools.pairwise(beats)) < 0.5
    finally:
        beating.cancel()
        lock.close()
        await running.stop()


def _reports(world: World, export_dir: Path, worker: str) -> ReportService:
    return ReportService(
        database=world.database,
        zone=ZONE,
        language="en",
        export_dir=export_dir,
        schedule="mon 09:00",
        worker=worker,
    )


async def test_an_unwritable_export_folder_is_logged_and_retried_later(
    api: FakeBotApi, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_person(world.database, MANAGER, Role.MANAGER, ["S1"])
    blocked = tmp_path / "exports"
    blocked.write_text("a file where the export folder should be")
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        assert await _reports(world, blocked, "w1").run_once(bot, AFTER_DUE) == 0
        [row] = _ledger(world.database)
        assert row.status == "failed" and "exports" in (row.last_error or "")
        assert any("not sent" in r.getMessage() for r in caplog.records)
        blocked.unlink()
        later = AFTER_DUE + timedelta(minutes=1)
        assert await _reports(world, blocked, "w1").run_once(bot, later) == 1
    assert [r.status for r in _ledger(world.database)] == ["sent"]


def _ledger(database: Database) -> list[ReportDelivery]:
    with database.read() as session:
        return list(session.scalars(select(ReportDelivery)))


async def test_a_delivery_cut_off_mid_send_goes_out_once_after_the_claim_expires(
    api: FakeBotApi, world: World, tmp_path: Path
) -> None:
    add_person(world.database, MANAGER, Role.MANAGER, ["S1"])
    shopper = add_person(world.database, SHOPPER, Role.EVALUATOR)
    submitted_visit(
        world,
        shopper,
        world.anna_id,
        {"greeted": A("yes")},
        datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
    )
    api.fail_next("sendDocument", times=1, status="timeout")
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        dying = asyncio.create_task(_reports(world, tmp_path, "dying").run_once(bot, AFTER_DUE))
        await api.wait_for(lambda: api.calls("sendDocument"), timeout=15)
        dying.cancel()  # the process dies while the document is on its way
        with pytest.raises(asyncio.CancelledError):
            await dying
        survivor = _reports(world, tmp_path, "survivor")
        assert await survivor.run_once(bot, AFTER_DUE + timedelta(minutes=1)) == 0, "claimed"
        assert await survivor.run_once(bot, AFTER_DUE + timedelta(minutes=11)) == 1
        assert await survivor.run_once(bot, AFTER_DUE + timedelta(minutes=12)) == 0
    assert [c.status for c in api.calls("sendDocument")].count(200) == 1


async def test_a_bot_killed_mid_visit_continues_at_the_same_item(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = process_environment(tmp_path / "data", api.base_url)
    (tmp_path / "data").mkdir()
    database = Database(f"sqlite:///{tmp_path / 'data' / 'msbot.sqlite3'}")

    async def start() -> asyncio.subprocess.Process:
        process = await start_msbot_run(tmp_path, env, captured=False)
        polls = len(api.calls("getUpdates"))
        await api.wait_for(lambda: len(api.calls("getUpdates")) > polls, timeout=30)
        return process

    process = await start()
    try:
        world = make_world(database)
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/start", invite(database, Role.EVALUATOR, ["S1"]), timeout=15)
        await shopper.send_command("/visit")
        for button in ("⭐ Tverskaya", "Store visit", "Anna Ivanova · Seller"):
            await shopper.press(button)
        await shopper.send_text("9")
        await shopper.press("Yes")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        process = await start()
        await shopper.send_command("/resume", timeout=15)
        assert "smile" in shopper.last_text() and "3/" in shopper.last_text()
        await shopper.press("No")
        with database.read() as session:
            visit = session.scalars(select(Visit)).one()
            answers = {a.item_id: a for a in session.scalars(select(Answer))}
        assert visit.employee_id == world.anna_id
        assert answers["greet_time"].value_number == 9
        assert answers["greeted"].value_text == "yes" and answers["smiled"].value_text == "no"
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
        database.dispose()
