"""Transcripts of whole visits, as a shopper sees them, for every shipped checklist in Russian
and English, and the visit's card as the store's manager then receives it:
``python -m testkit.transcripts`` writes them to ``docs/transcripts/``.

A scripted shopper goes through a visit with the real bot over HTTP against the fake Bot API
(registration, the store, checklist and employee pickers, every question — a comment, the
stopwatch, a step back, a photo, a typed answer — the review, a change from it, and the
submission), and every message the bot sends or edits is written down with its buttons, as
the shopper reads it. The clock is scripted (ten seconds per action), so a transcript is the
same on every run: ``tests/test_transcripts.py`` fails when a screen changes and the
transcripts were not written again, so that a reviewer reads every change of wording.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from checklists.loader import SHIPPED_DIR, load_all
from checklists.schema import Checklist, Item
from storage import migrate
from storage.db import Database
from storage.models import Role, Visit, VisitStatus
from testkit.bot_harness import ZONE, RunningBot, add_person, invite, make_world
from testkit.fakebotapi import FakeBotApi, FakeUser, Reaction, RecordedRequest
from visits.clock import Clock

OUT = Path(__file__).resolve().parents[1] / "docs" / "transcripts"
LANGUAGES = ("ru", "en")
START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Moscow
MANAGER = 601
STEP = timedelta(seconds=10)
"""How far the scripted clock moves before each action of the shopper."""
STOPWATCH = timedelta(seconds=12)
"""What the shopper's stopwatch measures."""
TYPED = {
    "ru": "Сотрудник посоветовал карту лояльности и рассказал об акции.",
    "en": "The employee suggested the loyalty card and told me about the offer.",
}
# What the shopper types: words that fit a store visit, a call and a chat alike.
COMMENT = {
    "ru": "Ответили не сразу: сначала пришлось подождать.",
    "en": "The answer did not come at once: I had to wait first.",
}
NO_ANSWERS = {"smiled", "no_bare_no", "named_self", "farewell"}
"""Answered "No" so that the final screen shows failed standards (one of them critical) and
a "No" that needs a comment asks for it."""
EVIDENCE = {
    "ru": "Сотрудник не попрощался в ответ.",
    "en": "The employee did not say goodbye back.",
}


def transcript_path(checklist_id: str, language: str) -> Path:
    return OUT / f"{checklist_id}.{language}.md"


@dataclass
class Recorder:
    """The shopper's actions and what the bot answered, as Markdown."""

    user: FakeUser
    lines: list[str] = field(default_factory=list)
    steps: int = 0

    def record(self, action: str, reaction: Reaction) -> None:
        self.record_calls(action, reaction.calls)

    def record_calls(self, action: str, calls: list[RecordedRequest]) -> None:
        self.steps += 1
        self.lines += ["", f"### {self.steps}. {action}", ""]
        shown = [self._shown(call) for call in calls if call.ok]
        shown = [block for block in shown if block]
        self.lines += shown or ["*(no answer)*"]

    def _shown(self, call: RecordedRequest) -> str:
        params = call.params
        match call.method:
            case "answerCallbackQuery":
                text = params.get("text")
                return f"> toast: {text}" if text else ""
            case "sendMessage" | "editMessageText":
                kind = "new message" if call.method == "sendMessage" else "the message, edited"
                text = str(call.response.get("text", "")) if isinstance(call.response, dict) else ""
                return f"*{kind}:*\n\n```\n{text}\n{_keyboard(params.get('reply_markup'))}```"
        return ""


def _keyboard(markup: object) -> str:
    if not isinstance(markup, dict):
        return ""
    if "inline_keyboard" in markup:
        rows = [[button["text"] for button in row] for row in markup["inline_keyboard"]]
    elif "keyboard" in markup:
        rows = [
            [b["text"] if isinstance(b, dict) else str(b) for b in row]
            for row in markup["keyboard"]
        ]
    else:
        return ""
    return "".join("  ".join(f"[{label}]" for label in row) + "\n" for row in rows)


class ScriptedClock:
    def __init__(self) -> None:
        self.now = START

    def read(self) -> datetime:
        return self.now


async def record(checklist_id: str, language: str) -> str:
    """The transcript of one whole visit of ``checklist_id`` in ``language``."""
    folder = Path(tempfile.mkdtemp(prefix="msbot-transcript-"))
    database = Database(f"sqlite:///{folder / 'msbot.sqlite3'}")
    migrate.upgrade(database)
    world = make_world(database)
    checklist = next(c.checklist for c in load_all([SHIPPED_DIR]) if c.checklist.id == checklist_id)
    clock = ScriptedClock()
    code = invite(database, Role.EVALUATOR, ["S1"])
    add_person(database, MANAGER, Role.MANAGER, ["S1"], language)
    try:
        async with FakeBotApi() as api:
            clocked = Clock(ZONE, clock.read)
            bot = RunningBot(api, world, language, export_dir=folder, clock=clocked)
            await bot.start()
            try:
                name = "Мария" if language == "ru" else "Mary"
                shopper = Shopper(api.user(501, name, language_code=language), clock, language)
                await shopper.visit(database, checklist, code)
                manager = await manager_reads_the_card(api, clock)
            finally:
                await bot.stop()
    finally:
        database.dispose()
    header = [
        f"# {checklist.title.get(language)} ({checklist.id}, {language})",
        "",
        "A whole visit as the shopper sees it. Written by `python -m testkit.transcripts`;",
        "do not edit by hand.",
    ]
    heading = ["", "## The store's manager", "", "The visit counts: its card reaches the manager."]
    return "\n".join([*header, *shopper.recorder.lines, *heading, *manager.lines]) + "\n"


async def manager_reads_the_card(api: FakeBotApi, clock: ScriptedClock) -> Recorder:
    """The manager's card of the visit just submitted, and its ✔ Seen pressed."""
    user = api.user(MANAGER)
    manager = Recorder(user)
    [card] = await api.wait_for(lambda: api.calls("sendMessage", chat_id=MANAGER) or None)
    manager.record_calls("receives the visit's card", [card])
    clock.now += STEP
    seen = next(label for row in user.last_message().buttons for label, _ in row)
    manager.record(f"presses “{seen}”", await user.press(seen))
    return manager


class Shopper:
    """The scripted shopper: what it does, and the record of what it saw."""

    def __init__(self, user: FakeUser, clock: ScriptedClock, language: str) -> None:
        self.user, self.clock, self.language = user, clock, language
        self.recorder = Recorder(user)

    async def act(self, action: str, doing: Awaitable[Reaction]) -> None:
        self.clock.now += STEP
        self.recorder.record(action, await doing)

    async def visit(self, database: Database, checklist: Checklist, code: str) -> None:
        user, title = self.user, checklist.title.get(self.language)
        await self.act("opens the invitation link", user.send_command("/start", code))
        await self.act("sends /visit", user.send_command("/visit"))
        await self.act("picks the store", user.press(self.first_button()))
        await self.act(f"picks “{title}”", user.press(title))
        await self.act("picks the employee", user.press(self.first_button()))
        commented = stepped_back = False
        while (item := _current(database, checklist)) is not None:
            if not commented:
                commented = True
                await self.act("presses “💬” to comment", user.press(self.button("💬")))
                await self.act("types a comment", user.send_text(COMMENT[self.language]))
            await self.answer(item)
            if not stepped_back and _current(database, checklist) is not None:
                stepped_back = True
                await self.act("goes back", user.press(self.button("◀")))
                await self.answer(_current_or_fail(database, checklist))
        await self.act("changes the first answer from the review: presses “1”", user.press("1"))
        await self.answer(_current_or_fail(database, checklist))
        submit = self.button("✅")
        await self.act(f"presses “{submit}”", user.press(submit))

    async def answer(self, item: Item) -> None:
        user, kind = self.user, item.kind
        if kind.stopwatch:
            await self.act(f"starts the stopwatch ({item.id})", user.press(self.button("▶")))
            self.clock.now += STOPWATCH - STEP
            await self.act(f"stops it ({item.id})", user.press(self.button("⏹")))
            return
        if kind.photos:
            photo = user.send_photo(file_id="photo-1", file_unique_id="unique-photo-1")
            await self.act(f"sends a photo ({item.id})", photo)
            await self.act("presses “✅”", user.press(self.button("✅")))
            return
        if kind.recordings:
            voice = user.send_recording(file_id="voice-1", file_unique_id="unique-voice-1")
            await self.act(f"sends a voice note ({item.id})", voice)
            await self.act("presses “✅”", user.press(self.button("✅")))
            return
        if kind.toggles:
            for label in self.labels()[:2]:
                await self.act(f"marks “{label}” ({item.id})", user.press(label))
            await self.act("presses “✅”", user.press(self.button("✅")))
            return
        if kind.name == "text":
            await self.act(f"types an answer ({item.id})", user.send_text(TYPED[self.language]))
            return
        labels = self.labels()
        if kind.name == "yes_no":
            choice = labels[1] if item.id in NO_ANSWERS else labels[0]
        elif kind.name == "scale":
            choice = "4"
        elif kind.name == "nps":
            choice = "9"
        elif kind.name in ("count", "number"):
            choice = "3" if "3" in labels else labels[0]
        else:
            choice = labels[0]
        await self.act(f"presses “{choice}” ({item.id})", user.press(choice))
        if "❗" in user.last_text():  # the answer needs a comment first
            await self.act("presses “💬” to comment", user.press(self.button("💬")))
            await self.act("types why", user.send_text(EVIDENCE[self.language]))

    def labels(self) -> list[str]:
        return [label for row in self.user.last_message().buttons for label, _ in row]

    def first_button(self) -> str:
        return self.labels()[0]

    def button(self, prefix: str) -> str:
        return next(label for label in self.labels() if label.startswith(prefix))


def _current(database: Database, checklist: Checklist) -> Item | None:
    with database.read() as session:
        visit = session.scalars(select(Visit).where(Visit.status == VisitStatus.DRAFT)).first()
        if visit is None or visit.current_item is None:
            return None
        return checklist.item(visit.current_item)


def _current_or_fail(database: Database, checklist: Checklist) -> Item:
    item = _current(database, checklist)
    assert item is not None, "no question is asked"
    return item


async def write_all() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for loaded in load_all([SHIPPED_DIR]):
        for language in LANGUAGES:
            path = transcript_path(loaded.checklist.id, language)
            path.write_text(await record(loaded.checklist.id, language), encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    for written in asyncio.run(write_all()):
        print(written.relative_to(Path.cwd()) if written.is_relative_to(Path.cwd()) else written)
    sys.exit(0)
