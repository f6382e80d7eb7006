"""Evidence an answer needs (``require``), recordings as evidence, and conditions on several
answers changing in the middle of a visit: the checklist language audits rely on, through the
real bot over HTTP, with stored answers and scores checked against hand computations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from checklists.loader import load_all
from checklists.schema import Checklist
from exports.aggregate import build_report
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage import checklist_versions
from storage.db import Database
from storage.models import Answer, Photo, Role, Visit, VisitFlag
from testkit.bot_harness import ZONE, RunningBot, World, add_person, make_world
from testkit.fakebotapi import FakeBotApi, FakeUser

SHOPPER, ADMIN = 501, 900
PROMPT = {"ru": "?", "en": "?"}


def checklist(*items: dict[str, Any], channel: str = "store") -> dict[str, Any]:
    return {
        "id": "evidence_check",
        "version": 1,
        "title": {"ru": "Проверка", "en": "Evidence check"},
        "channel": channel,
        "pass_mark": 80,
        "sections": [{"id": "s", "title": {"ru": "Раздел", "en": "Section"}, "items": list(items)}],
    }


CLEAN = {
    "id": "clean",
    "type": "yes_no",
    "prompt": {"ru": "В зале чисто?", "en": "Was the floor clean?"},
    "require": [{"when": "no", "photo": 1}, {"when": "no", "comment": True}],
}
POLITE = {"id": "polite", "type": "yes_no", "prompt": {"ru": "Вежливо?", "en": "Was it polite?"}}


# The schema


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({**CLEAN, "require": [{"when": "no"}]}, "needs 'photo', 'comment' or 'voice'"),
        ({**CLEAN, "require": [{"when": "maybe", "comment": True}]}, "'maybe' is never an answer"),
        ({**CLEAN, "require": [{"when": "no", "photo": 0}]}, "greater than or equal to 1"),
        (
            {
                "id": "note",
                "type": "text",
                "prompt": PROMPT,
                "require": [{"when": "x", "comment": True}],
            },
            "a 'text' item has no answer evidence could depend on",
        ),
    ],
)
def test_a_requirement_that_cannot_be_met_is_refused(item: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Checklist.model_validate(checklist(item))


def test_a_bare_no_in_when_means_the_answer_no() -> None:
    parsed = Checklist.model_validate(
        checklist({**CLEAN, "require": [{"when": False, "comment": True}]})
    )
    assert parsed.item("clean").require[0].when == "no"  # type: ignore[index]


# Through the bot


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    world = make_world(database)
    path = tmp_path / "evidence_check.yaml"
    path.write_text(yaml.safe_dump(checklist(CLEAN, POLITE), allow_unicode=True), encoding="utf-8")
    with database.write() as session:
        current = checklist_versions.register(session, load_all([path]))
        world.versions["evidence_check"] = current["evidence_check"].id
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    add_person(database, ADMIN, Role.ADMIN)
    return world


async def start(user: FakeUser, checklist_title: str) -> None:
    await user.send_command("/visit")
    await user.press("⭐ Tverskaya")
    await user.press(checklist_title)
    await user.press("Anna Ivanova · Seller")


def stored(database: Database) -> dict[str, Answer]:
    with database.read() as session:
        return {a.item_id: a for a in session.scalars(select(Answer))}


async def test_a_no_that_demands_a_photo_and_a_comment_asks_for_both_before_moving_on(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    await shopper.press("No")
    assert "❗ This answer needs: photos: 1, a comment" in shopper.last_text()
    await shopper.press("Next ▶")
    assert "needs" in (shopper.answers_to_callbacks[-1].text or "")
    await shopper.send_photo(file_id="p1", file_unique_id="u1")
    assert "❗ This answer needs: a comment" in shopper.last_text(), "the photo is there"
    await shopper.press("💬 Comment")
    await shopper.send_text("Boxes in the aisle")
    assert "Was it polite?" in shopper.last_text(), "on, once the evidence is complete"
    await shopper.press("Yes")
    review = shopper.last_text()
    # clean: no → 0 of 1; polite: yes → 1 of 1: 50 %.
    assert "Score: 50 %" in review and "Boxes in the aisle" in review and "photos: 1" in review
    await shopper.press("✅ Submit")
    answers = stored(world.database)
    assert answers["clean"].value_text == "no" and answers["clean"].comment == "Boxes in the aisle"
    with world.database.read() as session:
        [photo] = session.scalars(select(Photo)).all()
        assert photo.item_id == "clean"
        assert session.scalars(select(Visit.score)).one() == 50.0


async def test_a_yes_needs_no_evidence(api: FakeBotApi, bot: RunningBot) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    await shopper.press("Yes")
    assert "Was it polite?" in shopper.last_text()


async def test_a_no_on_the_shipped_greeting_needs_a_comment(
    api: FakeBotApi, bot: RunningBot
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Store visit")
    await shopper.send_text("12")
    await shopper.press("No")
    assert "❗ This answer needs: a comment" in shopper.last_text()
    await shopper.press("💬 Comment")
    await shopper.send_text("Nobody said hello")
    assert "smile" in shopper.last_text()


async def test_the_three_yes_question_follows_the_offer_and_the_needs_both(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    """``three_yes`` is asked only when an offer was made and needs were discovered (all:):
    changing the offer to "No" in the middle of the visit hides it, and its answer stops
    counting."""
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Store visit")
    await shopper.send_text("12")  # greet_time 12 s → 1 × 2
    for answer in [
        "Yes",
        "Yes",
        "Yes",
        "Yes",
        "Yes",
    ]:  # greeted, smiled, named_self, listened, needs
        await shopper.press(answer)
    await shopper.press("Asked what it is for")  # discovery: 0.35
    await shopper.press("✅ Done")
    await shopper.press("Yes")  # offer_made
    assert "How many times did you answer “yes”" in shopper.last_text()
    await shopper.press("2")  # three_yes: below 3 → 0 × 2
    await shopper.press("📋 All answers")
    review = shopper.last_text()
    # greet_time 2, greeted 2, smiled 1, named_self 1, listened 1, needs 2, discovery 0.35,
    # three_yes 0 of 2: 9.35 of 12 = 77.9 %.
    assert "Score: 77.9 %" in review and "Three “yes” before the offer — 2" in review
    await shopper.press("8")  # offer_made, by its place in the checklist
    await shopper.press("No")
    review = shopper.last_text()
    # three_yes hidden: 9.35 of 10 = 93.5 %.
    assert "Score: 93.5 %" in review and "Three “yes”" not in review
    answers = stored(world.database)
    assert answers["offer_made"].value_text == "no" and answers["three_yes"].value_number == 2


# Recordings


async def finish_call(shopper: FakeUser, recording_id: str) -> None:
    """A phone call with the seconds typed (so an admin reviews it) and a voice note of it."""
    await start(shopper, "Phone call")
    await shopper.send_text("10")
    for _ in range(40):
        shown = [label for row in shopper.last_message().buttons for label, _ in row]
        if "✅ Submit" in shown:
            await shopper.press("✅ Submit")
            return
        if "recording of the call" in shopper.last_text():
            await shopper.send_recording(
                file_id=f"voice-{recording_id}", file_unique_id=recording_id, duration=42
            )
            await shopper.press("✅ Done")
        elif "Yes" in shown:
            await shopper.press("Yes")
        elif "✅ Done" in shown:
            await shopper.press(shown[0])
            await shopper.press("✅ Done")
        elif "Skip ▶" in shown:
            await shopper.press("Skip ▶")
        elif any(label.isdigit() for label in shown):
            await shopper.press([label for label in shown if label.isdigit()][-1])
        else:
            await shopper.send_text("10")
    raise AssertionError("the call never reached its review")


async def test_a_voice_note_of_the_call_is_kept_and_an_admin_listens_to_it(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await finish_call(shopper, "call-1")
    with world.database.read() as session:
        [recording] = session.scalars(select(Photo)).all()
        assert (recording.item_id, recording.kind, recording.duration) == (
            "call_recording",
            "voice",
            42,
        )
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("🎧 Listen to the recordings")
    [sent] = api.calls("sendVoice", chat_id=ADMIN)
    assert sent.params["voice"] == "voice-call-1"
    await admin.press("✅ Accept")
    with world.database.read() as session:
        week = Week.containing(datetime.now(ZONE).date())
        report = build_report(session, week, Scope(ScopeKind.ALL), zone=ZONE, language="en")
    [row] = report.visits
    assert (row.photos, row.recordings) == (0, 1), "the workbook counts the evidence"


async def test_a_recording_used_in_another_visit_is_flagged(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await finish_call(shopper, "same-call")
    await finish_call(shopper, "same-call")
    with world.database.read() as session:
        second = session.scalars(select(Visit.id).order_by(Visit.id.desc())).first()
        kinds = session.scalars(select(VisitFlag.kind).where(VisitFlag.visit_id == second)).all()
    assert "duplicate_photo" in kinds
