"""``msbot run`` as the README starts it: a real process polling the fake Bot API."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from checklists.loader import SHIPPED_DIR
from testkit.bot_harness import process_environment, start_msbot_run
from testkit.fakebotapi import FakeBotApi


def _environment(tmp_path: Path, api: FakeBotApi | None, **extra: str) -> dict[str, str]:
    return process_environment(
        tmp_path / "data", api.base_url if api else "http://127.0.0.1:9/bot", **extra
    )


async def test_msbot_run_serves_updates_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        process = await start_msbot_run(tmp_path, _environment(tmp_path, api))
        try:
            await api.wait_for(lambda: api.calls("getUpdates"), timeout=30)
            stranger = api.user(4242, language_code="en")
            await stranger.send_command("/start", timeout=15)
            assert "invitation only" in stranger.last_text()
            assert api.calls("setMyCommands"), "the default command menu is set on start"
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, output.decode()
    assert (tmp_path / "data" / "msbot.sqlite3").exists()


async def test_msbot_run_refuses_to_start_on_an_invalid_checklist(tmp_path: Path) -> None:
    folder = tmp_path / "my-checklists"
    folder.mkdir()
    text = (SHIPPED_DIR / "store_visit.yaml").read_text(encoding="utf-8")
    (folder / "store_visit.yaml").write_text(text.replace("weight: 2", "weight: -2", 1))
    process = await start_msbot_run(
        tmp_path, _environment(tmp_path, None, MSBOT_CHECKLISTS_DIR=str(folder))
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    line = text[: text.index("weight: 2")].count("\n") + 1
    assert f"{folder / 'store_visit.yaml'}:{line}: " in output.decode()
    assert "weight" in output.decode()


async def test_msbot_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    env = _environment(tmp_path, None)
    env.pop("MSBOT_BOT_TOKEN")
    process = await start_msbot_run(tmp_path, env)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert "MSBOT_BOT_TOKEN is missing" in output.decode()


async def test_msbot_run_with_an_unreachable_bot_api_ends_with_one_clear_line(
    tmp_path: Path,
) -> None:
    # The environment's Bot API is port 9 on 127.0.0.1, where nothing listens.
    process = await start_msbot_run(tmp_path, _environment(tmp_path, None))
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    last = output.decode().strip().splitlines()[-1]
    assert last.startswith("Error: cannot reach the Bot API at http://127.0.0.1:9/bot"), last
    assert "MSBOT_BOT_API_URL" in last
