"""Turning the state of a visit into a message: text (HTML) and button rows.

Buttons are plain ``(label, callback_data)`` pairs; the Telegram layer wraps them. Callback
data always names the visit and the item it belongs to, so the server can check that a
pressed button is this person's, for their open visit, and for the question now shown.
"""

from __future__ import annotations

from html import escape

from babel.numbers import format_decimal

from bot.callbacks import Op, encode
from bot.i18n import Translator
from bot.service.outcome import Button, Reply, Rows
from bot.service.outcome import rows as _rows
from checklists import scoring
from checklists.schema import Item
from visits.flow import Screen, ScreenKind


def percent(value: float | None, t: Translator) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="0.#", locale=t.language) + " %"


def render(screen: Screen, t: Translator) -> Reply:
    match screen.kind:
        case ScreenKind.DESCRIPTION:
            return Reply(
                _header(screen, t) + "\n\n" + t("visit.describe_employee"),
                _rows([(t("button.cancel_visit"), _data(Op.CANCEL, screen))]),
            )
        case ScreenKind.CANCEL:
            return Reply(
                t("visit.cancel_question"),
                _rows(
                    [
                        (t("button.cancel_yes"), _data(Op.CANCEL_CONFIRMED, screen)),
                        (t("button.cancel_no"), _data(Op.KEEP, screen)),
                    ]
                ),
            )
        case ScreenKind.REVIEW:
            return _review(screen, t)
    return _question(screen, t)


def _data(op: Op, screen: Screen, *args: int) -> str:
    """A button of this screen: it names the visit and the item now asked."""
    return encode(op, screen.visit_id, screen.item_index, *args)


def _header(screen: Screen, t: Translator) -> str:
    parts = [screen.checklist.title.get(t.language), screen.store]
    if screen.employee:
        parts.append(screen.employee)
    return "<b>" + escape(" · ".join(parts)) + "</b>"


def _question(screen: Screen, t: Translator) -> Reply:
    item = screen.item
    assert item is not None
    section = screen.checklist.section_of(item.id).title.get(t.language)
    lines = [
        _header(screen, t),
        f"{screen.position}/{screen.total} · {escape(section)}",
        "",
        "<b>" + escape(item.prompt.get(t.language)) + "</b>",
    ]
    if item.hint:
        lines.append("<i>" + escape(item.hint.get(t.language)) + "</i>")
    lines.extend(_status_lines(screen, item, t))
    if screen.kind == ScreenKind.COMMENT:
        lines += ["", t("visit.type_comment")]
        return Reply(
            "\n".join(lines), _rows([(t("button.back_to_question"), _data(Op.RESUME, screen))])
        )
    assert screen.today is not None
    prompt = item.kind.instruction(item, t, screen.today)
    if prompt:
        lines += ["", prompt]
    return Reply("\n".join(lines), _answer_rows(screen, item, t) + _navigation(screen, item, t))


def _status_lines(screen: Screen, item: Item, t: Translator) -> list[str]:
    lines = []
    if screen.answer is not None:
        shown = show_answer(item, screen.answer, t)
        if screen.measured:
            shown += " ⏱"
        lines.append(t("visit.current_answer", answer=escape(shown)))
    if screen.timer_started_at is not None:
        lines.append(t("visit.timer_running"))
    if screen.comment:
        lines.append(t("visit.comment_saved", comment=escape(_short(screen.comment, 200))))
    if screen.photos:
        lines.append(t("visit.photos_saved", count=screen.photos))
    return ["", *lines] if lines else []


def _answer_rows(screen: Screen, item: Item, t: Translator) -> Rows:
    """The item type's answer buttons, its stopwatch or "done" with photos, then N/A."""
    kind = item.kind
    assert screen.today is not None
    rows = [
        [(label, _data(Op.ANSWER, screen, code)) for label, code in row]
        for row in kind.buttons(item, t, screen.today)
    ]
    if kind.stopwatch:
        if screen.timer_started_at is None:
            rows.append([(t("button.timer_start"), _data(Op.TIMER_START, screen))])
        else:
            rows.append([(t("button.timer_stop"), _data(Op.TIMER_STOP, screen))])
    if kind.photos and screen.photos:
        rows.append([(t("button.photos_done"), _data(Op.PHOTOS_DONE, screen))])
    if item.na:
        rows.append([(t("answer.na"), _data(Op.NOT_APPLICABLE, screen))])
    return _rows(*rows)


def _navigation(screen: Screen, item: Item, t: Translator) -> Rows:
    row = []
    if screen.position > 1:
        row.append((t("button.back"), _data(Op.BACK, screen)))
    if not item.is_required:
        row.append((t("button.skip"), _data(Op.SKIP, screen)))
    extra = [
        (t("button.comment"), _data(Op.COMMENT, screen)),
        (t("button.review"), _data(Op.REVIEW, screen)),
    ]
    return _rows(row, extra)


def show_answer(item: Item, answer: scoring.Answer, t: Translator) -> str:
    if answer.na:
        return t("answer.na")
    assert answer.value is not None
    return _short(item.kind.shown(item, answer.value, t), 60)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _review(screen: Screen, t: Translator) -> Reply:
    result = screen.result
    assert result is not None
    lines = [_header(screen, t), "", "<b>" + t("review.title") + "</b>"]
    edit_buttons: list[Button] = []
    number = 0
    for item in screen.checklist.items:
        item_result = result.items[item.id]
        if not item_result.visible:
            continue
        number += 1
        answer = screen.answers.get(item.id)
        if item.kind.photos:
            mark, shown = "📷", ""
        elif answer is None:
            mark, shown = ("❗" if item.id in screen.missing else "➖"), t("review.no_answer")
        else:
            mark = _mark(item_result.score)
            shown = show_answer(item, answer, t)
        title = _short(item.prompt.get(t.language), 48)
        lines.append(f"{mark} {number}. {escape(title)} — {escape(shown)}".rstrip(" —"))
        edit_buttons.append(
            (
                str(number),
                encode(Op.EDIT, screen.visit_id, screen.checklist.items.index(item)),
            )
        )
    lines += [
        "",
        t(
            "review.score",
            score=percent(result.score, t),
            pass_mark=percent(screen.checklist.pass_mark, t),
        ),
    ]
    for section in screen.checklist.sections:
        if result.sections.get(section.id) is not None:
            lines.append(
                f"  {escape(section.title.get(t.language))}: "
                f"{percent(result.sections[section.id], t)}"
            )
    if result.critical_failures:
        lines.append(
            t(
                "review.critical",
                items=", ".join(
                    _short(screen.checklist.item(i).prompt.get(t.language), 40)
                    for i in result.critical_failures
                ),
            )
        )
    if screen.missing:
        lines += ["", t("review.missing", count=len(screen.missing))]
    lines += ["", t("review.edit_hint")]
    grid = [edit_buttons[i : i + 8] for i in range(0, len(edit_buttons), 8)]
    final: list[Button] = [(t("button.back"), _data(Op.BACK, screen))]
    if not screen.missing:
        final.append((t("button.submit"), _data(Op.SUBMIT, screen)))
    return Reply(
        "\n".join(lines),
        _rows(*grid, final, [(t("button.cancel_visit"), _data(Op.CANCEL, screen))]),
    )


def _mark(score: float | None) -> str:
    if score is None:
        return "▫️"
    return "✅" if score == 1 else "❌" if score == 0 else "🟡"


def submitted(screen: Screen, result: scoring.VisitScore, t: Translator) -> Reply:
    key = "done.passed" if result.passed else "done.failed"
    lines = [
        _header(screen, t),
        "",
        t(key, score=percent(result.score, t), pass_mark=percent(screen.checklist.pass_mark, t)),
    ]
    if result.failed_items:
        lines += ["", t("done.failed_standards")]
        lines += [
            "• "
            + escape(screen.checklist.item(i).prompt.get(t.language))
            + (" ‼" if i in result.critical_failures else "")
            for i in result.failed_items
        ]
    lines += ["", t("done.thanks")]
    return Reply("\n".join(lines), menu=True)
