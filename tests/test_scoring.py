"""Scoring: worked examples computed by hand, and the invariants as properties."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checklists.answers import AnswerRejected, check_value
from checklists.loader import SHIPPED_DIR, load_all
from checklists.schema import Checklist
from checklists.scoring import Answer, ItemResult, _percent, nps, score_visit, visible_items

TODAY = date(2026, 11, 25)
STORE = next(c.checklist for c in load_all([SHIPPED_DIR]) if c.checklist.id == "store_visit")

GOOD_VISIT = {
    "greet_time": Answer(45),
    "greeted": Answer("yes"),
    "smiled": Answer("no"),
    "named_self": Answer("yes"),
    "listened": Answer("yes"),
    "needs_questions": Answer("yes"),
    "three_yes": Answer(na=True),
    "best_solution": Answer("yes"),
    "no_bare_no": Answer("no"),
    "extra_mile": Answer("yes"),
    "service_rating": Answer(4),
    "tidiness": Answer("minor_issues"),
    "farewell": Answer("yes"),
    "nps": Answer(9),
    "comment": Answer("ok"),
}


def test_a_worked_store_visit_scores_as_computed_by_hand() -> None:
    result = score_visit(STORE, GOOD_VISIT)
    # Earned: greet_time 45 s is in the ≤ 60 s band (0.5 × 2 = 1), greeted 2, smiled 0,
    # named_self 1, listened 1, needs_questions 2, best_solution 2, no_bare_no 0,
    # extra_mile 1, service_rating 4 of 1..5 (0.75 × 1), tidiness minor issues (0.5 × 1),
    # farewell 1 = 12.25. Weights: 16 — three_yes (weight 2) is not asked without an offer,
    # discovery (weight 1) was left unanswered, and offer_made weighs 0.
    assert result.score == pytest.approx(100 * 12.25 / 16)
    assert result.score == 76.5625
    assert not result.passed  # below the pass mark of 80
    assert result.critical_failures == ()
    assert result.sections["greeting"] == pytest.approx(100 * 4 / 6)
    assert result.sections["needs"] == 100
    assert result.sections["offer"] == pytest.approx(100 * 2 / 3)
    assert result.sections["service"] == 75
    assert result.sections["closing"] == 100
    assert result.sections["feedback"] is None
    assert result.nps == 9
    assert result.items["three_yes"].score is None
    assert set(result.failed_items) == {
        "greet_time",
        "smiled",
        "no_bare_no",
        "service_rating",
        "tidiness",
    }


def test_a_visit_above_the_pass_mark_passes() -> None:
    answers = {
        **GOOD_VISIT,
        "greet_time": Answer(20),
        "smiled": Answer("yes"),
        "no_bare_no": Answer("yes"),
    }
    result = score_visit(STORE, answers)
    # 12.25 + 1 (faster greeting) + 1 (smile) + 1 (no bare no) = 15.25 of 16.
    assert result.score == pytest.approx(100 * 15.25 / 16)
    assert result.passed


def test_a_failed_critical_item_fails_the_visit_but_the_total_is_still_reported() -> None:
    answers = {
        **GOOD_VISIT,
        "greet_time": Answer(20),
        "smiled": Answer("yes"),
        "no_bare_no": Answer("yes"),
        "greeted": Answer("no"),
    }
    result = score_visit(STORE, answers)
    # greeted drops to 0 (−2) and hides named_self (its answer no longer counts: −1 of 1).
    assert result.score == pytest.approx(100 * (15.25 - 2 - 1) / 15)
    assert result.critical_failures == ("greeted",)
    assert not result.passed
    assert "named_self" not in visible_items(STORE, answers)
    assert result.items["named_self"].score is None


def test_three_or_more_yes_answers_meet_the_three_yes_rule() -> None:
    scores = {
        count: score_visit(
            STORE, {**GOOD_VISIT, "offer_made": Answer("yes"), "three_yes": Answer(count)}
        ).items["three_yes"]
        for count in (0, 2, 3, 7)
    }
    assert [scores[c].score for c in (0, 2, 3, 7)] == [0, 0, 1, 1]


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, 1), (30, 1), (31, 0.5), (60, 0.5), (61, 0), (900, 0)]
)
def test_the_greeting_time_bands_follow_the_20_to_30_second_standard(
    seconds: int, expected: float
) -> None:
    result = score_visit(STORE, {**GOOD_VISIT, "greet_time": Answer(seconds)})
    assert result.items["greet_time"].score == expected


def test_skipped_items_drop_out_like_na() -> None:
    answers = dict(GOOD_VISIT)
    del answers["tidiness"]
    result = score_visit(STORE, answers)
    assert result.score == pytest.approx(100 * 11.75 / 15)


def test_nps_is_promoters_minus_detractors() -> None:
    assert nps([10, 9, 8, 7, 6, 0]) == pytest.approx(100 * (2 - 2) / 6)
    assert nps([10, 10, 9, 3]) == 50
    assert nps([]) is None


@pytest.mark.parametrize(
    ("item_id", "raw", "stored"),
    [
        ("greet_time", "25", 25),
        ("greet_time", "25 сек", 25),
        ("three_yes", 3, 3),
        ("greeted", "yes", "yes"),
        ("tidiness", "clean", "clean"),
        ("nps", "10", 10),
    ],
)
def test_valid_answers_are_accepted_in_their_stored_form(
    item_id: str, raw: Any, stored: Any
) -> None:
    assert check_value(STORE.item(item_id), raw, today=TODAY) == stored


@pytest.mark.parametrize(
    ("item_id", "raw", "reason"),
    [
        ("greet_time", "9999", "out_of_range"),
        ("greet_time", "soon", "not_a_number"),
        ("greet_time", "2.5", "not_a_number"),
        ("three_yes", -1, "out_of_range"),
        ("greeted", "maybe", "not_yes_no"),
        ("tidiness", "sparkling", "not_an_option"),
        ("nps", "11", "out_of_range"),
        ("comment", "   ", "empty_text"),
        ("storefront_photo", "x", "photo_expected"),
    ],
)
def test_bad_answers_are_rejected_with_a_reason(item_id: str, raw: Any, reason: str) -> None:
    with pytest.raises(AnswerRejected) as rejected:
        check_value(STORE.item(item_id), raw, today=TODAY)
    assert rejected.value.reason == reason


# Properties over generated checklists of yes/no, scale and timer items (no show_if).

ITEM = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["yes_no", "scale", "timer"]),
        "weight": st.sampled_from([0, 0.5, 1, 2, 3]),
        "critical": st.booleans(),
        "na": st.booleans(),
    }
)


@st.composite
def checklist_and_answers(draw: st.DrawFn) -> tuple[Checklist, dict[str, Answer]]:
    specs = draw(st.lists(ITEM, min_size=1, max_size=8))
    specs[0]["weight"] = draw(st.sampled_from([1, 2]))
    items: list[dict[str, Any]] = []
    answers: dict[str, Answer] = {}
    for n, spec in enumerate(specs):
        item_id = f"i{n}"
        item: dict[str, Any] = {"id": item_id, "prompt": {"ru": "в", "en": "q"}, **spec}
        if spec["type"] == "timer":
            item["bands"] = [{"max": 30, "score": 1}, {"max": 60, "score": 0.5}, {"score": 0}]
        items.append(item)
        choice = draw(st.sampled_from(["answer", "na", "skip"]))
        if choice == "na" and spec["na"]:
            answers[item_id] = Answer(na=True)
        elif choice != "skip":
            answers[item_id] = Answer(draw(_value(spec["type"])))
    checklist = Checklist.model_validate(
        {
            "id": "gen",
            "version": 1,
            "title": {"ru": "т", "en": "t"},
            "channel": "store",
            "pass_mark": draw(st.integers(0, 100)),
            "sections": [{"id": "s", "title": {"ru": "р", "en": "s"}, "items": items}],
        }
    )
    return checklist, answers


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "yes_no":
        return st.sampled_from(["yes", "no"])
    if kind == "scale":
        return st.integers(1, 5)
    return st.integers(0, 900)


WORST = {"yes_no": "no", "scale": 1, "timer": 900}


@given(checklist_and_answers())
def test_a_score_is_always_between_0_and_100(case: tuple[Checklist, dict[str, Answer]]) -> None:
    checklist, answers = case
    score = score_visit(checklist, answers).score
    assert score is None or 0 <= score <= 100


@given(checklist_and_answers(), st.data())
def test_na_never_scores_lower_than_any_answer(
    case: tuple[Checklist, dict[str, Answer]], data: st.DataObject
) -> None:
    checklist, answers = case
    candidates = [item for item in checklist.items if item.na]
    if not candidates:
        return
    item = data.draw(st.sampled_from(candidates))
    with_na = score_visit(checklist, {**answers, item.id: Answer(na=True)}).score
    worst = score_visit(checklist, {**answers, item.id: Answer(WORST[item.type])}).score
    if worst is not None:
        assert with_na is None or with_na >= worst - 1e-9


@given(checklist_and_answers(), st.data())
def test_an_item_of_weight_0_never_changes_the_score(
    case: tuple[Checklist, dict[str, Answer]], data: st.DataObject
) -> None:
    checklist, answers = case
    zero = [item for item in checklist.items if item.effective_weight == 0]
    if not zero:
        return
    item = data.draw(st.sampled_from(zero))
    before = score_visit(checklist, {k: v for k, v in answers.items() if k != item.id}).score
    value = data.draw(_value(item.type))
    after = score_visit(checklist, {**answers, item.id: Answer(value)}).score
    assert before == after


@given(checklist_and_answers())
def test_a_failed_critical_item_never_passes(case: tuple[Checklist, dict[str, Answer]]) -> None:
    checklist, answers = case
    result = score_visit(checklist, answers)
    failed_critical = [
        i.id for i in checklist.items if i.critical and result.items[i.id].score == 0
    ]
    assert bool(failed_critical) == result.critical_failed
    if failed_critical:
        assert not result.passed


@given(checklist_and_answers())
def test_full_marks_everywhere_score_100_and_pass(
    case: tuple[Checklist, dict[str, Answer]],
) -> None:
    checklist, _ = case
    best = {"yes_no": "yes", "scale": 5, "timer": 10}
    answers = {item.id: Answer(best[item.type]) for item in checklist.items}
    result = score_visit(checklist, answers)
    assert result.score == 100
    assert result.passed


# Conditions on several answers: all, any, not, nested


def _conditional(**conditions: dict[str, Any]) -> Checklist:
    """Two yes/no questions, ``a`` and ``b``, then one yes/no item per named condition."""
    items: list[dict[str, Any]] = [
        {"id": "a", "type": "yes_no", "prompt": {"ru": "а", "en": "a"}, "na": True},
        {"id": "b", "type": "yes_no", "prompt": {"ru": "б", "en": "b"}, "na": True},
    ]
    items += [
        {"id": name, "type": "yes_no", "prompt": {"ru": "в", "en": "q"}, "show_if": condition}
        for name, condition in conditions.items()
    ]
    return Checklist.model_validate(
        {
            "id": "cond",
            "version": 1,
            "title": {"ru": "т", "en": "t"},
            "channel": "store",
            "pass_mark": 80,
            "sections": [{"id": "s", "title": {"ru": "р", "en": "s"}, "items": items}],
        }
    )


A_YES, B_YES = {"item": "a", "equals": "yes"}, {"item": "b", "equals": "yes"}
CONDITIONAL = _conditional(
    both={"all": [A_YES, B_YES]},
    either={"any": [A_YES, B_YES]},
    not_a={"not": A_YES},
    a_but_not_b={"all": [A_YES, {"not": B_YES}]},
    nested={"any": [{"all": [A_YES, B_YES]}, {"all": [{"not": A_YES}, {"not": B_YES}]}]},
)


@pytest.mark.parametrize(
    ("a", "b", "shown"),
    [
        # Worked by hand: nested is "a and b agree".
        ("yes", "yes", {"both", "either", "nested"}),
        ("yes", "no", {"either", "a_but_not_b"}),
        ("no", "yes", {"either", "not_a"}),
        ("no", "no", {"not_a", "nested"}),
        # An unanswered (or N/A) a meets no condition on it, so "not a = yes" holds.
        (None, "yes", {"either", "not_a"}),
        ("na", None, {"not_a", "nested"}),
    ],
)
def test_all_any_and_not_combine_conditions_on_several_answers(
    a: str | None, b: str | None, shown: set[str]
) -> None:
    answers = {
        key: Answer(na=True) if value == "na" else Answer(value)
        for key, value in (("a", a), ("b", b))
        if value is not None
    }
    assert visible_items(CONDITIONAL, answers) - {"a", "b"} == shown


def test_an_answer_hidden_by_a_condition_counts_in_no_sum() -> None:
    checklist = _conditional(both={"all": [A_YES, B_YES]})
    answers = {"a": Answer("yes"), "b": Answer("no"), "both": Answer("no")}
    result = score_visit(checklist, answers)
    assert not result.items["both"].visible and result.score == 50.0  # a 1 of a 1 + b 1


ANSWER = st.sampled_from([None, "yes", "no", "na"])


@given(a=ANSWER, b=ANSWER)
def test_not_shows_an_item_exactly_when_its_condition_would_hide_it(
    a: str | None, b: str | None
) -> None:
    condition = {"any": [A_YES, {"all": [B_YES, {"not": A_YES}]}]}
    checklist = _conditional(plain=condition, negated={"not": condition})
    answers = {
        key: Answer(na=True) if value == "na" else Answer(value)
        for key, value in (("a", a), ("b", b))
        if value is not None
    }
    shown = visible_items(checklist, answers)
    assert ("plain" in shown) != ("negated" in shown)
    assert ("plain" in shown) == (a == "yes" or (b == "yes" and a != "yes"))


WEIGHTS = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), st.floats(0, 100))
SCORES = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1 / 3]), st.floats(0, 1), st.none())


@given(st.lists(st.tuples(WEIGHTS, SCORES), max_size=40))
def test_a_percentage_is_the_exact_weighted_share_rounded_once(
    scored: list[tuple[float, float | None]],
) -> None:
    """Whatever the weights and item scores, the percentage is 100 × the weighted share
    earned computed exactly (as fractions) and made a float once at the end; items with no
    score drop out, and with no weight left there is no percentage."""
    results = [ItemResult(f"i{n}", True, s, w) for n, (w, s) in enumerate(scored)]
    counted = [(Fraction(w), Fraction(s)) for w, s in scored if s is not None]
    weights = sum((w for w, _ in counted), Fraction(0))
    exact = None if weights == 0 else float(100 * sum(w * s for w, s in counted) / weights)
    assert _percent(results) == exact
