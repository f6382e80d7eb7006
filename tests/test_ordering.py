"""Updates handled at once across people, in order for each person (``bot/ordering.py``),
through the real bot polling the fake Bot API."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from telegram import Update

from bot.ordering import PerPersonOrder
from storage.db import Database
from storage.models import Role
from testkit.bot_harness import RunningBot, World, add_person, make_world
from testkit.fakebotapi import FakeBotApi, RecordedRequest

SLOW = 501
OTHER = 502
STALL = 2.0


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    for person in (SLOW, OTHER):
        add_person(database, person, Role.EVALUATOR, ["S1"])
    return world


def _replies(api: FakeBotApi, chat_id: int) -> list[RecordedRequest]:
    return [r for r in api.calls("sendMessage", chat_id) if r.finished is not None]


async def test_a_shopper_whose_reply_is_slow_does_not_hold_up_another(
    api: FakeBotApi, bot: RunningBot
) -> None:
    slow, other = api.user(SLOW, language_code="en"), api.user(OTHER, language_code="en")
    api.fail_next("sendMessage", status="timeout", seconds=STALL, chat_id=SLOW)
    await slow.send_command("/help", wait=False)
    await api.wait_for(lambda: api.calls("sendMessage", SLOW), what="the slow reply begun")
    await other.send_command("/help", wait=False)
    await api.wait_for(lambda: _replies(api, OTHER), what="the other shopper's reply")
    assert not _replies(api, SLOW), "the other shopper waited for the slow one"
    await api.wait_for(lambda: _replies(api, SLOW), timeout=STALL + 5, what="the slow reply")


async def test_a_shoppers_own_updates_are_answered_in_the_order_sent(
    api: FakeBotApi, bot: RunningBot
) -> None:
    slow = api.user(SLOW, language_code="en")
    api.fail_next("sendMessage", status="timeout", seconds=STALL, chat_id=SLOW)
    await slow.send_command("/help", wait=False)
    await slow.send_command("/visits", wait=False)
    await slow.send_text("25", wait=False)
    replies = await api.wait_for(
        lambda: len(_replies(api, SLOW)) >= 3 and _replies(api, SLOW),
        timeout=STALL + 10,
        what="three replies",
    )
    texts = [str(r.params["text"]) for r in replies]
    assert "mystery shopper" in texts[0]
    assert texts[1].startswith("No visits yet")
    assert texts[2].startswith("To start a visit")
    assert all(
        later.time >= (earlier.finished or 0) for earlier, later in itertools.pairwise(replies)
    )


def _update(update_id: int, user_id: int) -> Update:
    chat = {"id": user_id, "type": "private"}
    sender = {"id": user_id, "is_bot": False, "first_name": "S"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": sender, "text": "x"}
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def test_the_order_holds_when_every_place_is_taken() -> None:
    """Two places for six updates of three people: each person's run in the order they
    came, and the chains are gone afterwards."""
    processor = PerPersonOrder(concurrent_updates=2, in_hand=2)
    handled: list[tuple[int, int]] = []

    async def handle(update_id: int, user_id: int) -> None:
        await asyncio.sleep(0.01 * (update_id % 3))
        handled.append((user_id, update_id))

    arrivals = [(1, 7), (2, 7), (3, 8), (4, 9), (5, 8), (6, 7)]
    await asyncio.gather(
        *(processor.process_update(_update(u, p), handle(u, p)) for u, p in arrivals)
    )
    for person in (7, 8, 9):
        own = [u for p, u in handled if p == person]
        assert own == sorted(own)
    assert len(handled) == 6 and processor.people_in_hand == 0


async def test_a_shoppers_queued_taps_take_no_place_from_others() -> None:
    """One shopper's slow update with taps queued behind it, as many as there are places:
    another person's update still starts at once."""
    processor = PerPersonOrder(concurrent_updates=4)
    started: dict[int, float] = {}
    release = asyncio.Event()

    async def handle(update_id: int) -> None:
        started[update_id] = asyncio.get_running_loop().time()
        if update_id == 1:
            await release.wait()

    queued = [
        asyncio.ensure_future(processor.process_update(_update(u, 7), handle(u)))
        for u in range(1, 6)
    ]
    other = asyncio.ensure_future(processor.process_update(_update(100, 8), handle(100)))
    await asyncio.sleep(0.05)
    assert 100 in started, "the other person waited behind the queued taps"
    assert sorted(started) == [1, 100]
    release.set()
    await asyncio.gather(*queued, other)
    assert len(started) == 6
