"""Polling, start-up and replies that survive Telegram's surprises (``bot/botapi.py``)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
from pathlib import Path

import pytest

from storage.db import Database
from storage.models import Role
from testkit.bot_harness import (
    RunningBot,
    World,
    invite,
    make_world,
    process_environment,
    start_msbot_run,
)
from testkit.fakebotapi import FakeBotApi

SHOPPER = 501


@pytest.fixture
def world(database: Database) -> World:
    return make_world(database)


async def test_an_update_the_library_cannot_read_is_logged_once_and_skipped(
    api: FakeBotApi, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    broken = api.push_update({"message": {"message_id": 1, "text": "no chat, no date"}})
    running = RunningBot(api, world)
    await running.start()
    try:
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/start", invite(world.database, Role.EVALUATOR, ["S1"]))
        assert "Welcome" in shopper.last_text() or shopper.last_text()
        await asyncio.sleep(0.5)
    finally:
        await running.stop()
    skipped = [r for r in caplog.records if "could not be read and is skipped" in r.getMessage()]
    assert len(skipped) == 1 and str(broken["update_id"]) in skipped[0].getMessage()
    assert len(api.calls("getUpdates")) < 30, "the bot did not fetch the same update again"


async def test_polling_resumes_within_five_seconds_after_an_outage(
    api: FakeBotApi, world: World
) -> None:
    api.fail_next("getUpdates", times=7, status=502)
    running = RunningBot(api, world)
    await running.start()
    try:
        await api.wait_for(
            lambda: [c for c in api.calls("getUpdates") if c.ok], timeout=60, what="a good poll"
        )
        polls = [c.time for c in api.calls("getUpdates")]
        gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
        assert max(gaps[:7]) < 5.5, gaps
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/start", invite(world.database, Role.EVALUATOR, ["S1"]))
        assert shopper.last_text()
    finally:
        await running.stop()


async def test_one_failed_message_of_a_reply_does_not_drop_the_others(
    api: FakeBotApi, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    running = RunningBot(api, world)
    await running.start()
    try:
        shopper = api.user(SHOPPER, language_code="en")
        await shopper.send_command("/start", invite(world.database, Role.EVALUATOR, ["S1"]))
        await shopper.send_command("/visit")
        for button in ("⭐ Tverskaya", "Store visit", "Anna Ivanova · Seller"):
            await shopper.press(button)
        api.fail_next("sendMessage", times=1, status=400, chat_id=SHOPPER)
        with caplog.at_level(logging.ERROR):
            await shopper.send_text("not a number")
        failed, question = [c for c in api.calls("sendMessage", chat_id=SHOPPER)][-2:]
        assert failed.status == 400 and question.ok
        assert "1/" in shopper.last_text(), "the question is asked again"
        assert any("sending a reply failed" in r.getMessage() for r in caplog.records)
    finally:
        await running.stop()


async def test_a_refused_command_menu_is_a_warning_and_the_bot_runs(
    api: FakeBotApi, tmp_path: Path
) -> None:
    api.fail_next("setMyCommands", times=10, status=400, description="Bad Request: nope")
    env = process_environment(tmp_path / "data", api.base_url)
    process = await start_msbot_run(tmp_path, env)
    try:
        await api.wait_for(lambda: len(api.calls("getUpdates")) > 1, timeout=30)
        assert process.returncode is None
        stranger = api.user(SHOPPER, language_code="en")
        await stranger.send_command("/start", timeout=15)
        assert stranger.last_text()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await process.communicate()
    assert b"command menu was not set" in output and b"Traceback" not in output


@pytest.mark.parametrize("answer", [{"id": "not a number"}, "hello", None, []])
async def test_an_odd_answer_to_get_me_stops_the_start_with_one_line(
    api: FakeBotApi, tmp_path: Path, answer: object
) -> None:
    api.answer_next("getMe", answer, times=5)
    env = process_environment(tmp_path / "data", api.base_url)
    process = await start_msbot_run(tmp_path, env)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    errors = [line for line in output.decode().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "answered unexpectedly" in errors[0], output.decode()[-2000:]
    assert "Traceback" not in output.decode()
