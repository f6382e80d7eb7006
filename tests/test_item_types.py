"""Item types: the registry every part of the product asks, and the ``date`` type added
through it alone (a module in ``checklists/item_types``, its catalogue entries, these tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.i18n import LANGUAGES, Translator
from checklists.answers import AnswerRejected, check_value
from checklists.item_types import KINDS, Asking
from checklists.loader import ChecklistError, load_all
from checklists.schema import Checklist, Item
from checklists.scoring import Answer, score_visit, visible_items
from storage import checklist_versions
from storage.db import Database
from storage.models import Answer as StoredAnswer
from storage.models import Role
from testkit.bot_harness import ZONE, RunningBot, World, add_person, make_world
from testkit.fakebotapi import FakeBotApi
from visits.clock import Clock

TODAY = date(2026, 11, 30)  # a Monday
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def checklist(*items: dict[str, Any]) -> Checklist:
    return Checklist.model_validate(
        {
            "id": "receipt_check",
            "version": 1,
            "title": {"ru": "Проверка чека", "en": "Receipt check"},
            "channel": "store",
            "pass_mark": 80,
            "sections": [
                {
                    "id": "receipt",
                    "title": {"ru": "Чек", "en": "Receipt"},
                    "items": [
                        {
                            "id": "given",
                            "type": "yes_no",
                            "prompt": {"ru": "Дали чек?", "en": "Were you given a receipt?"},
                        },
                        *items,
                    ],
                }
            ],
        }
    )


RECEIPT_DATE = {
    "id": "receipt_date",
    "type": "date",
    "prompt": {"ru": "Какая дата на чеке?", "en": "What date is on the receipt?"},
}


def receipt_date() -> Item:
    return checklist(RECEIPT_DATE).item("receipt_date")


# The registry


def test_every_registered_type_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| type | answer | scoring |") :].split("\n\n")[0]
    assert [name for name in KINDS if f"`{name}`" not in table] == []


def _words(language: str = "en") -> Translator:
    return Translator(language)


# The date type: the file


def test_a_date_item_loads_and_is_not_scored() -> None:
    item = receipt_date()
    assert item.kind.name == "date" and not item.scored and item.is_required
    assert item.value_range is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"weight": 1}, "a 'date' item is not scored, so its weight must be 0"),
        ({"critical": True}, "a 'date' item is not scored, so it cannot be critical"),
        ({"max": 10}, "a 'date' item takes no 'min' or 'max'"),
        ({"bands": [{"score": 1}]}, "a 'date' item takes no 'bands'"),
    ],
)
def test_a_date_item_refuses_what_only_other_types_take(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        checklist({**RECEIPT_DATE, **change})


def test_an_item_cannot_depend_on_a_date(tmp_path: Path) -> None:
    data = checklist(RECEIPT_DATE).model_dump(mode="json", by_alias=True, exclude_none=True)
    data["sections"][0]["items"].append(
        {
            "id": "late",
            "type": "yes_no",
            "prompt": {"ru": "?", "en": "?"},
            "show_if": {"item": "receipt_date", "equals": "2026-11-30"},
        }
    )
    path = tmp_path / "receipt.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ChecklistError) as raised:
        load_all([path])
    [problem] = raised.value.problems
    assert "show_if cannot depend on 'receipt_date', a 'date' item" in problem.message


# The date type: answers


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("30.11.2026", "2026-11-30"),
        ("28.11", "2026-11-28"),
        (" 1/11 ", "2026-11-01"),
        ("5.12", "2025-12-05"),  # the latest 5 December, which is last year's
        ("29.11.26", "2026-11-29"),
        ("2026-11-02", "2026-11-02"),
        ("2025-11-30", "2025-11-30"),
    ],
)
def test_a_typed_date_is_read_as_the_day_it_names(typed: str, stored: str) -> None:
    assert check_value(receipt_date(), typed, today=TODAY) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("31.11", "not_a_date"),
        ("yesterday", "not_a_date"),
        ("٢٨.١١", "not_a_date"),  # other scripts' digits
        ("28.11.202", "not_a_date"),
        ("", "not_a_date"),
        ("01.12.2026", "date_in_future"),
        ("2026-12-01", "date_in_future"),
        ("28.11.2025", "date_too_old"),  # 367 days back
    ],
)
def test_a_date_that_is_no_answer_is_refused_with_its_reason(typed: str, reason: str) -> None:
    with pytest.raises(AnswerRejected) as rejected:
        check_value(receipt_date(), typed, today=TODAY)
    assert rejected.value.reason == reason
    assert Translator("ru")(f"reject.{reason}", **rejected.value.params)


def test_date_buttons_carry_their_day_whenever_they_are_pressed() -> None:
    item = receipt_date()
    [row] = item.kind.buttons(item, Asking(_words(), TODAY, "store"))
    assert [label for label, _ in row] == ["Today", "Yesterday", "28 Nov"]
    days = [item.kind.button_value(item, code) for _, code in row]
    assert days == ["2026-11-30", "2026-11-29", "2026-11-28"]
    # Pressed the next morning, yesterday's "Today" is still the 30th.
    assert check_value(item, days[0], today=date(2026, 12, 1)) == "2026-11-30"
    assert item.kind.button_value(item, 0) == "?" and item.kind.button_value(item, -5) == "?"


@pytest.mark.parametrize(
    ("language", "shown"), [("en", "28 November 2026"), ("ru", "28 ноября 2026")]
)
def test_a_date_reads_as_a_day_in_the_persons_language(language: str, shown: str) -> None:
    item = receipt_date()
    assert item.kind.shown(item, "2026-11-28", _words(language)) == shown
    assert item.kind.cell(item, "2026-11-28", _words(language)) == shown


def test_a_date_does_not_change_the_score() -> None:
    with_date = checklist(RECEIPT_DATE)
    result = score_visit(with_date, {"given": Answer("yes"), "receipt_date": Answer("2026-11-28")})
    assert result.score == 100 and result.items["receipt_date"].score is None


# The date type through the real bot


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    world = make_world(database)
    path = tmp_path / "receipt_check.yaml"
    data = checklist(RECEIPT_DATE).model_dump(mode="json", by_alias=True, exclude_none=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with database.write() as session:
        current = checklist_versions.register(session, load_all([path]))
        world.versions["receipt_check"] = current["receipt_check"].id
    add_person(database, 501, Role.EVALUATOR, ["S1"])
    return world


@pytest.fixture
async def bot(api: FakeBotApi, world: World) -> AsyncIterator[RunningBot]:
    running = RunningBot(api, world, clock=Clock.fixed(NOW, ZONE))
    await running.start()
    yield running
    await running.stop()
    api.assert_no_unknown_methods()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_shopper_answers_a_date_by_button_and_by_typing(
    api: FakeBotApi, bot: RunningBot, world: World, language: str
) -> None:
    t = Translator(language)
    shopper = api.user(501, language_code="en")
    if language == "ru":  # the bot speaks English, and this shopper chooses Russian
        await shopper.send_command("/language")
        await shopper.press("Русский")
    await shopper.send_command("/visit")
    await shopper.press("⭐ Tverskaya")
    await shopper.press("Проверка чека" if language == "ru" else "Receipt check")
    await shopper.press("Anna Ivanova · Seller")
    await shopper.press(t("answer.yes"))
    question = shopper.last_text()
    assert "2/2" in question and t("visit.type_date", example="27.11") in question

    await shopper.send_text("1.12.2026")  # tomorrow, by the bot's clock
    assert t("reject.date_in_future") == shopper.messages()[-2].shown_text
    assert "2/2" in shopper.last_text(), "the same question again"
    await shopper.press(t("answer.yesterday"))
    review = shopper.last_text()
    assert ("29 ноября 2026" if language == "ru" else "29 November 2026") in review

    await shopper.press("2")  # back to the date from the review, and typed this time
    await shopper.send_text("28.11")
    assert ("28 ноября 2026" if language == "ru" else "28 November 2026") in shopper.last_text()
    with world.database.read() as session:
        stored = session.scalars(
            select(StoredAnswer).where(StoredAnswer.item_id == "receipt_date")
        ).one()
    assert (stored.value_text, stored.value_number) == ("2026-11-28", None)


# The multi type: several options at once


DISCOVERY = {
    "id": "discovery",
    "type": "multi",
    "weight": 2,
    "prompt": {"ru": "Что сотрудник сделал?", "en": "What did the employee do?"},
    "options": [
        {
            "id": "asked_purpose",
            "label": {"ru": "Спросил, зачем", "en": "Asked what for"},
            "score": 0.5,
        },
        {
            "id": "asked_budget",
            "label": {"ru": "Спросил о бюджете", "en": "Asked the budget"},
            "score": 0.5,
        },
        {"id": "showed", "label": {"ru": "Показал товар", "en": "Showed the goods"}, "score": 0.25},
        {
            "id": "phone",
            "label": {"ru": "Смотрел в телефон", "en": "Looked at the phone"},
            "score": 0,
        },
    ],
}


def discovery(**changes: Any) -> Item:
    return checklist({**DISCOVERY, **changes}).item("discovery")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"options": DISCOVERY["options"][:1]}, "a 'multi' item needs at least two 'options'"),
        (
            {"options": [*DISCOVERY["options"][:2], DISCOVERY["options"][0]]},
            "option id 'asked_purpose' is used twice",
        ),
        (
            {"options": [{"id": "a", "label": {"ru": "а", "en": "a"}}, DISCOVERY["options"][1]]},
            "needs a 'score'",
        ),
        ({"score_all": True, "score_any": True}, "'score_all' or 'score_any', not both"),
        (
            {"type": "choice", "score_all": True},
            "a 'choice' item takes no 'score_all' or 'score_any'",
        ),
    ],
)
def test_a_multi_item_refuses_what_cannot_be_scored(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        checklist({**DISCOVERY, **change})


@pytest.mark.parametrize(
    ("chosen", "summed", "all_", "any_"),
    [
        # Worked by hand: the sum of the chosen options' scores, capped at 1.
        ("", 0.0, 0.0, 0.0),
        ("phone", 0.0, 0.0, 0.0),
        ("asked_purpose", 0.5, 0.0, 1.0),
        ("asked_purpose,showed", 0.75, 0.0, 1.0),
        ("asked_purpose,asked_budget,showed", 1.0, 1.0, 1.0),  # 1.25, capped
        ("asked_purpose,asked_budget,phone", 1.0, 0.0, 1.0),
    ],
)
def test_a_multi_item_scores_by_sum_all_or_any(
    chosen: str, summed: float, all_: float, any_: float
) -> None:
    assert discovery().kind.score(discovery(), chosen) == summed
    assert discovery(score_all=True).kind.score(discovery(score_all=True), chosen) == all_
    assert discovery(score_any=True).kind.score(discovery(score_any=True), chosen) == any_


def test_a_multi_answer_is_stored_in_the_checklists_order_and_shown_by_label() -> None:
    item = discovery()
    assert check_value(item, "showed,asked_purpose", today=TODAY) == "asked_purpose,showed"
    with pytest.raises(AnswerRejected):
        check_value(item, "asked_purpose,nonsense", today=TODAY)
    assert item.kind.toggled(item, "showed", 0) == "asked_purpose,showed"
    assert item.kind.toggled(item, "asked_purpose,showed", 0) == "showed"
    assert (
        item.kind.shown(item, "asked_purpose,showed", _words())
        == "Asked what for, Showed the goods"
    )
    assert item.kind.shown(item, "", _words("ru")) == "ничего из перечисленного"


@given(picks=st.lists(st.integers(0, 3), max_size=8))
def test_toggling_any_presses_leaves_a_valid_answer_scored_between_0_and_1(
    picks: list[int],
) -> None:
    item = discovery()
    value = ""
    for code in picks:
        value = item.kind.toggled(item, value, code)
    assert check_value(item, value, today=TODAY) == value
    score = item.kind.score(item, value)
    assert score is not None and 0 <= score <= 1
    odd = [code for code in set(picks) if picks.count(code) % 2]
    assert {item.options[c].id for c in odd} == set(value.split(",")) - {""}  # type: ignore[index]


def test_a_condition_on_a_multi_item_holds_when_the_option_was_chosen() -> None:
    follow = {
        "id": "budget_kept",
        "type": "yes_no",
        "prompt": {"ru": "?", "en": "?"},
        "show_if": {"item": "discovery", "equals": "asked_budget"},
    }
    with_condition = checklist(DISCOVERY, follow)
    shown = visible_items(with_condition, {"discovery": Answer("asked_purpose,asked_budget")})
    assert "budget_kept" in shown
    assert "budget_kept" not in visible_items(with_condition, {"discovery": Answer("showed")})


async def test_a_shopper_chooses_several_options_with_toggles_then_done(
    api: FakeBotApi, database: Database, tmp_path: Path
) -> None:
    world = make_world(database)
    path = tmp_path / "receipt_check.yaml"
    data = checklist(DISCOVERY).model_dump(mode="json", by_alias=True, exclude_none=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with database.write() as session:
        world.versions["receipt_check"] = checklist_versions.register(session, load_all([path]))[
            "receipt_check"
        ].id
    add_person(database, 501, Role.EVALUATOR, ["S1"])
    bot = RunningBot(api, world, clock=Clock.fixed(NOW, ZONE))
    await bot.start()
    try:
        shopper = api.user(501, language_code="en")
        await shopper.send_command("/visit")
        await shopper.press("⭐ Tverskaya")
        await shopper.press("Receipt check")
        await shopper.press("Anna Ivanova · Seller")
        await shopper.press("Yes")
        assert "Choose everything that applies" in shopper.last_text()
        await shopper.press("Asked what for")
        await shopper.press("Showed the goods")
        await shopper.press("Looked at the phone")
        await shopper.press("✓ Looked at the phone")  # unchosen again
        labels = [label for row in shopper.last_message().buttons for label, _ in row]
        assert labels[:4] == [
            "✓ Asked what for",
            "Asked the budget",
            "✓ Showed the goods",
            "Looked at the phone",
        ]
        await shopper.press("✅ Done")
        review = shopper.last_text()
        assert "Asked what for, Showed the goods" in review
        # given 1 of 1, discovery 0.75 of weight 2: 2.5 of 3 = 83.3 %
        assert "83.3 %" in review
        with database.read() as session:
            stored = session.scalars(
                select(StoredAnswer).where(StoredAnswer.item_id == "discovery")
            ).one()
        assert stored.value_text == "asked_purpose,showed"
    finally:
        await bot.stop()
