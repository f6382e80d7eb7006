"""Scoring a visit, exactly as SPEC.md defines it, as pure functions.

Sums are kept exact so that a score is the exact ratio of the weights; it is turned into a
float once, at the end, and never rounded here (rounding is for display).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from checklists.item_types import AnswerValue
from checklists.schema import Checklist, Item, ShowIf


@dataclass(frozen=True)
class Answer:
    """One item's answer: a value, or N/A. An item with no Answer was skipped."""

    value: AnswerValue | None = None
    na: bool = False


@dataclass(frozen=True)
class ItemResult:
    item_id: str
    visible: bool
    score: float | None
    """0..1 when the item is scored and applies; None when it drops out of the sums."""
    weight: float

    @property
    def met(self) -> bool:
        return self.score == 1

    @property
    def failed(self) -> bool:
        return self.score == 0


@dataclass(frozen=True)
class VisitScore:
    score: float | None
    """Percent 0..100, or None when no scored item applies."""
    sections: dict[str, float | None]
    items: dict[str, ItemResult]
    critical_failures: tuple[str, ...]
    passed: bool
    nps: int | None = None
    failed_items: tuple[str, ...] = field(default=())

    @property
    def critical_failed(self) -> bool:
        return bool(self.critical_failures)


def visible_items(checklist: Checklist, answers: Mapping[str, Answer]) -> set[str]:
    """Items to ask: those without ``show_if`` and those whose condition an answer meets.

    A condition on an answer that is hidden, skipped or N/A does not hold (its ``not`` does).
    """
    visible: set[str] = set()

    def leaf_holds(leaf: ShowIf) -> bool:
        answer = answers.get(leaf.item or "")
        if leaf.item not in visible or answer is None or answer.na or answer.value is None:
            return False
        target = checklist.item(leaf.item or "")
        return target.kind.matches(target, answer.value, leaf.values)

    for item in checklist.items:
        if item.show_if is None or item.show_if.holds(leaf_holds):
            visible.add(item.id)
    return visible


def item_score(item: Item, answer: Answer | None) -> float | None:
    """The 0..1 score of one answer, or None when it has none (N/A, skipped, unscored type).

    A weight-0 item still gets a score, so that a critical weight-0 item can fail a visit.
    """
    if not item.kind.scored or answer is None or answer.na or answer.value is None:
        return None
    return item.kind.score(item, answer.value)


def score_visit(checklist: Checklist, answers: Mapping[str, Answer]) -> VisitScore:
    visible = visible_items(checklist, answers)
    results: dict[str, ItemResult] = {}
    for item in checklist.items:
        shown = item.id in visible
        score = item_score(item, answers.get(item.id)) if shown else None
        results[item.id] = ItemResult(item.id, shown, score, item.effective_weight)
    sections = {
        section.id: _percent([results[item.id] for item in section.items])
        for section in checklist.sections
    }
    total = _percent(list(results.values()))
    critical = tuple(
        item.id for item in checklist.items if item.critical and results[item.id].failed
    )
    passed = not critical and total is not None and total >= checklist.pass_mark
    failed = tuple(r.item_id for r in results.values() if r.score is not None and r.score < 1)
    return VisitScore(
        score=total,
        sections=sections,
        items=results,
        critical_failures=critical,
        passed=passed,
        nps=_nps_answer(checklist, answers, visible),
        failed_items=failed,
    )


def _percent(results: list[ItemResult]) -> float | None:
    """100 × the weighted share earned, the exact ratio rounded once. A float is a fraction
    whose denominator is a power of two, so each sum is kept exactly as one integer over the
    largest denominator, and Python's division of two integers rounds their exact ratio
    once: the float ``Fraction`` arithmetic gives, at a fraction of its cost (it reduces by
    a greatest common divisor at every step, and every review screen scores the visit)."""
    weights: list[tuple[int, int]] = []
    earned: list[tuple[int, int]] = []
    for r in results:
        if r.score is not None:
            weight, score = r.weight.as_integer_ratio(), r.score.as_integer_ratio()
            weights.append(weight)
            earned.append((weight[0] * score[0], weight[1] * score[1]))
    weights_over, weights_under = _exact_sum(weights)
    if weights_over == 0:
        return None
    earned_over, earned_under = _exact_sum(earned)
    return 100 * earned_over * weights_under / (earned_under * weights_over)


def _exact_sum(fractions: list[tuple[int, int]]) -> tuple[int, int]:
    """The exact sum of fractions whose denominators are powers of two, as (numerator,
    denominator)."""
    under = max((d for _, d in fractions), default=1)
    return sum(n * (under // d) for n, d in fractions), under


def _nps_answer(
    checklist: Checklist, answers: Mapping[str, Answer], visible: set[str]
) -> int | None:
    for item in checklist.items:
        answer = answers.get(item.id)
        if item.kind.feeds_nps and item.id in visible and answer and answer.value is not None:
            return int(answer.value)
    return None


def nps(ratings: list[int]) -> float | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6), or None if no rating."""
    if not ratings:
        return None
    promoters = sum(1 for r in ratings if r >= 9)
    detractors = sum(1 for r in ratings if r <= 6)
    return float(Fraction(100 * (promoters - detractors), len(ratings)))
