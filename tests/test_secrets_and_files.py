"""Secrets stay out of the log, files the product creates are private, and every error a
command meets in the field is one line (``bot/logs.py``, ``storage/files.py``, ``bot/cli.py``)."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from testkit.bot_harness import process_environment
from testkit.fakebotapi import FakeBotApi

REAL_LOOKING_TOKEN = "7412369850:AAHk3-xY_9qLmNoPqRsTuVwXyZaBcDeFgHi"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def msbot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)
    for name in ("MSBOT_DATABASE_URL", "MSBOT_CHECKLISTS_DIR", "MSBOT_TIMEZONE", "MSBOT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MSBOT_DATA_DIR", str(tmp_path / "data"))
    old = os.umask(0o022)  # the usual umask, under which files come out world-readable
    yield CliRunner()
    os.umask(old)


def one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0]


async def test_the_bot_token_never_appears_in_the_log_even_at_debug(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = process_environment(tmp_path / "data", api.base_url)
    env["MSBOT_BOT_TOKEN"] = REAL_LOOKING_TOKEN
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await api.wait_for(lambda: api.calls("getUpdates"), timeout=30)
        stranger = api.user(4242, language_code="en")
        await stranger.send_command("/start", timeout=15)
        api.fail_next("sendMessage", status=400)  # an error logged with its traceback
        await stranger.send_command("/start", timeout=15, expect_reaction=False)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    text = output.decode()
    assert "DEBUG" in text and "Set Bot API URL" in text, "the line that used to leak it"
    assert REAL_LOOKING_TOKEN not in text and REAL_LOOKING_TOKEN.split(":")[1] not in text
    assert "<redacted>" in text


def test_the_database_its_backups_and_the_workbooks_are_private(
    msbot: CliRunner, tmp_path: Path
) -> None:
    assert msbot.invoke(main, ["demo-data", "--stores", "2", "--visits", "20"]).exit_code == 0
    data = tmp_path / "data"
    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.glob("msbot.sqlite3*")}
    assert files["msbot.sqlite3"] == 0o600 and set(files.values()) == {0o600}
    assert msbot.invoke(main, ["backup", str(tmp_path / "backups")]).exit_code == 0
    [copy] = (tmp_path / "backups").iterdir()
    assert mode(copy) == 0o600 and mode(tmp_path / "backups") == 0o700
    result = msbot.invoke(main, ["report", "--scope", "all", "--scope", "hr"])
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        workbook = Path(line)
        assert mode(workbook) == 0o600 and mode(workbook.parent) == 0o700
    assert mode(data / "exports") == 0o700


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nonsense://", "setting MSBOT_DATABASE_URL is wrong"),
        ("postgresql+psycopg://postgres@127.0.0.1:9/none", "the database cannot be used"),
    ],
    ids=["a database url of no known kind", "a database server that does not answer"],
)
def test_a_database_that_cannot_be_used_is_one_line(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch, url: str, said: str
) -> None:
    monkeypatch.setenv("MSBOT_DATABASE_URL", url)
    result = msbot.invoke(main, ["people", "list"])
    assert result.exit_code == 1
    assert said in one_error_line(result.output)


def test_report_send_to_an_unreachable_bot_api_is_one_line(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert msbot.invoke(main, ["demo-data", "--stores", "1", "--visits", "5"]).exit_code == 0
    monkeypatch.setenv("MSBOT_BOT_TOKEN", "123456:TEST-token")
    monkeypatch.setenv("MSBOT_BOT_API_URL", "http://127.0.0.1:9/bot")
    result = msbot.invoke(main, ["report", "--send"])
    assert result.exit_code == 1
    assert "the Bot API call failed" in one_error_line(result.output)


def _small_files_only() -> None:
    """As if the disk filled up: no file may grow past 40 KiB (room for SQLite's 32 KiB
    shared-memory file, not for the workbook); the signal that would kill is ignored."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = 40 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_report_on_a_full_disk_is_one_line_and_leaves_no_partial_file(
    msbot: CliRunner, tmp_path: Path
) -> None:
    demo = ["demo-data", "--stores", "2", "--visits", "300", "--weeks", "1"]
    assert msbot.invoke(main, demo).exit_code == 0
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "MSBOT_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--scope", "all", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=_small_files_only,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "File too large" in one_error_line(result.stderr)
    assert [p.name for p in out.rglob("*") if p.is_file()] == []
