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


def checklist(
    *items: dict[str, Any], channel: str = "store", title: str = "Evidence check"
) -> dict[str, Any]:
    return {
        "id": title.lower().replace(" ", "_"),
        "version": 1,
        "title": {"ru": title, "en": title},
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
FOUND = {
    "id": "found",
    "type": "multi",
    "prompt": {"ru": "Как выяснили?", "en": "How did they find out?"},
    "options": [
        {"id": "asked", "label": {"ru": "Спросили", "en": "Asked"}, "score": 1},
        {"id": "guessed", "label": {"ru": "Угадали", "en": "Guessed"}, "score": 0},
    ],
    "require": [{"when": "guessed", "comment": True}],
}


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
    for made in (checklist(CLEAN, POLITE), checklist(FOUND, POLITE, title="Needs check")):
        path = tmp_path / f"{made['id']}.yaml"
        path.write_text(yaml.safe_dump(made, allow_unicode=True), encoding="utf-8")
    with database.write() as session:
        current = checklist_versions.register(session, load_all([tmp_path]))
        world.versions.update({name: version.id for name, version in current.items()})
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


async def test_done_on_several_choices_waits_for_the_evidence_a_choice_needs(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Needs check")
    await shopper.press("Guessed")
    await shopper.press("✅ Done")
    assert "How did they find out?" in shopper.last_text(), "still the same question"
    assert "❗ This answer needs: a comment" in shopper.last_text()
    assert "needs" in (shopper.answers_to_callbacks[-1].text or "")
    await shopper.press("💬 Comment")
    await shopper.send_text("Looked at my basket")
    assert "Was it polite?" in shopper.last_text()
    assert stored(world.database)["found"].comment == "Looked at my basket"


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


async def finish_call(shopper: FakeUser, recording_id: str, *, as_file: bool = False) -> None:
    """A phone call with the seconds typed (so an admin reviews it) and a voice note of it
    (or an audio file sent as a file)."""
    await start(shopper, "Phone call")
    await shopper.send_text("10")
    for _ in range(40):
        shown = [label for row in shopper.last_message().buttons for label, _ in row]
        if "✅ Submit" in shown:
            await shopper.press("✅ Submit")
            return
        if "recording of the call" in shopper.last_text() and as_file:
            await shopper.send_document(recording_id.encode(), "call.wav", "audio/wav")
            await shopper.press("✅ Done")
        elif "recording of the call" in shopper.last_text():
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
    await admin.press("📎 Photos and recordings")
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


async def test_listening_is_only_for_a_visit_under_review(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    """A forged Listen button on a shopper's unsubmitted draft plays nothing."""
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    await shopper.send_recording(file_id="draft-voice", file_unique_id="d1", duration=4)
    with world.database.read() as session:
        draft = session.scalars(select(Visit.id)).one()
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press_raw(f"rv:l:{draft}")
    assert api.calls("sendVoice", chat_id=ADMIN) == []
    assert "no longer waits for review" in (admin.answers_to_callbacks[-1].text or "")


async def test_the_visit_takes_ten_recordings_of_its_own_and_calls_them_recordings(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    await shopper.press("📋 All answers")
    for n in range(11):
        await shopper.send_recording(file_id=f"v{n}", file_unique_id=f"u{n}", duration=3)
    assert "At most 10" in shopper.messages()[-2].shown_text
    assert "🎙 Recordings of the visit: 10" in shopper.last_text()
    assert "Photos of the visit" not in shopper.last_text()
    with world.database.read() as session:
        assert len(session.scalars(select(Photo).where(Photo.item_id.is_(None))).all()) == 10


async def test_a_call_recorded_as_a_file_is_a_recording_and_is_played_back_as_a_file(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await finish_call(shopper, "RIFF-WAVE", as_file=True)
    with world.database.read() as session:
        [recording] = session.scalars(select(Photo)).all()
    assert (recording.kind, recording.item_id) == ("document", "call_recording")
    admin = api.user(ADMIN, language_code="en")
    await admin.send_command("/review")
    await admin.press("📎 Photos and recordings")
    played = [c.params.get("document") for c in api.calls("sendDocument", chat_id=ADMIN)]
    assert played.count(recording.file_id) == 1  # (the week's workbook may go out too)


async def test_a_message_the_bot_cannot_use_gets_one_line_and_changes_nothing(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    await shopper.send_document(b"%PDF-1.4", "receipt.pdf", "application/pdf")
    assert "this kind of message I cannot use" in shopper.last_text()
    with world.database.read() as session:
        assert session.scalars(select(Photo)).all() == []


async def test_a_recording_while_the_bot_asks_something_else_says_so_and_shows_the_question(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    shopper = api.user(SHOPPER, language_code="en")
    await shopper.send_command("/visit")
    await shopper.press("⭐ Tverskaya")
    await shopper.press("Evidence check")
    await shopper.press("Not in the list")
    asked = shopper.last_text()
    await shopper.send_recording(file_id="early", file_unique_id="e1")
    assert "answer what the bot asks first" in shopper.messages()[-2].shown_text
    assert shopper.last_text() == asked
    without_visit = api.user(502, language_code="en")
    add_person(world.database, 502, Role.EVALUATOR, ["S1"])
    await without_visit.send_recording(file_id="none", file_unique_id="n1")
    assert "Start or continue a visit" in without_visit.last_text()


async def test_a_recordings_length_is_kept_only_when_it_is_one(
    api: FakeBotApi, bot: RunningBot, world: World
) -> None:
    """Telegram sends whole seconds; anything else (a client's odd value) is no length."""
    shopper = api.user(SHOPPER, language_code="en")
    await start(shopper, "Evidence check")
    for n, duration in enumerate([42, -5, 2**40]):
        await shopper.send_recording(file_id=f"v{n}", file_unique_id=f"u{n}", duration=duration)
    assert "🎙 Recordings: 3" in shopper.last_text()
    with world.database.read() as session:
        kept = session.scalars(select(Photo.duration).order_by(Photo.id)).all()
    assert kept == [42, None, None]
