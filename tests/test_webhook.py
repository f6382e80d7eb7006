"""Webhook mode: two bot processes behind one URL, on one database, serve one shopper."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from storage.db import Database
from storage.models import Answer, Role, Visit
from testkit.bot_harness import TOKEN, invite, make_world, process_environment, start_msbot_run
from testkit.fakebotapi import FakeBotApi, FakeUser

SECRET = hashlib.sha256(f"msbot-webhook:{TOKEN}".encode()).hexdigest()[:48]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Backends:
    """The load balancer: hands each update to the next bot process in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            ) as response,
        ):
            return response.status


async def start_process(api: FakeBotApi, tmp_path: Path, port: int) -> asyncio.subprocess.Process:
    env = process_environment(tmp_path / "data", api.base_url)
    return await start_msbot_run(
        tmp_path,
        env,
        "--webhook-url",
        f"http://127.0.0.1:{port}/telegram",
        "--listen",
        f"127.0.0.1:{port}",
        captured=False,
    )


async def wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return
    raise AssertionError(f"nothing listens on {port}")


async def act(api: FakeBotApi, backends: Backends, action: Any) -> None:
    """Take the update a scripted user makes, deliver it by webhook, wait for the reply."""
    before = len(api.requests)
    reaction = await action
    assert await backends.post(reaction.update) == 200
    await api.wait_for(
        lambda: any(r.method in ("sendMessage", "editMessageText") for r in api.requests[before:]),
        timeout=20,
    )
    await asyncio.sleep(0.3)


async def test_two_webhook_processes_serve_one_shopper_on_one_database(
    api: FakeBotApi, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    (tmp_path / "data").mkdir()
    database = Database(f"sqlite:///{tmp_path / 'data' / 'msbot.sqlite3'}")
    processes = []
    try:
        processes.append(await start_process(api, tmp_path, ports[0]))
        await wait_listening(ports[0])
        processes.append(await start_process(api, tmp_path, ports[1]))
        await wait_listening(ports[1])
        assert api.webhook is not None and api.webhook["url"].endswith("/telegram")
        assert api.webhook["secret_token"] == SECRET
        world = make_world(database)
        backends = Backends(ports)
        shopper: FakeUser = api.user(501, language_code="en")
        code = invite(database, Role.EVALUATOR, ["S1"])
        await act(api, backends, shopper.send_command("/start", code, wait=False))
        assert "E-01" in shopper.last_text()
        await act(api, backends, shopper.send_command("/visit", wait=False))
        for button in ("⭐ Tverskaya", "Store visit", "Anna Ivanova · Seller"):
            await act(api, backends, shopper.press(button, wait=False))
        await act(api, backends, shopper.send_text("14", wait=False))
        await act(api, backends, shopper.press("Yes", wait=False))
        assert "smile" in shopper.last_text()
        with database.read() as session:
            visit = session.scalars(select(Visit)).one()
            answers = {a.item_id: a for a in session.scalars(select(Answer))}
        assert visit.employee_id == world.anna_id and visit.current_item == "smiled"
        assert answers["greet_time"].value_number == 14 and answers["greeted"].value_text == "yes"
        forged = await backends.post({"update_id": 1, "message": {}}, secret="wrong")
        assert forged == 403
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=30)
        database.dispose()
