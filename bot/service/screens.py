"""Turning the state of a visit into a message: text (HTML) and button rows.

Screens are short, for one thumb in a store or on a call: the question and where it stands;
the hint behind an "ℹ" button; the answer given before marked on its button. Buttons are
plain ``(label, callback_data)`` pairs; the Telegram layer wraps them. Callback data always
names the visit and the item it belongs to, so the server can check that a pressed button is
this person's, for their open visit, and for the question now shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from babel.numbers import format_decimal

from bot.callbacks import Op, encode
from bot.i18n import Translator
from bot.service.outcome import Button, Reply, Rows
from bot.service.outcome import rows as _rows
from checklists import scoring
from checklists.item_types import Asking
from checklists.schema import Checklist, Item
from visits.flow import MAX_COMMENT, MAX_DESCRIPTION, SHORT_DESCRIPTION, Screen, ScreenKind

CHOSEN = "✓ "
"""Marks the button of the answer given before."""
REVIEW_TITLE = 48
"""Characters of a standard's name a review line shows."""
COMMENT_LIMIT = 200
"""Characters of a shopper's comment a manager's card shows."""


def percent(value: float | None, t: Translator) -> str:
    """``81,9 %`` in Russian, ``81.9 %`` in English; "—" for no value."""
    if value is None:
        return "—"
    return format_decimal(value, format="0.#", locale=t.language) + " %"


def render(screen: Screen, t: Translator, *, hint: bool = False) -> Reply:
    """The screen as a message; ``hint``: with the question's hint open."""
    match screen.kind:
        case ScreenKind.DESCRIPTION:
            channel = screen.checklist.channel.value
            text = t(f"visit.describe_employee.{channel}", max=MAX_DESCRIPTION)
            buttons = [
                (t("button.back"), _data(Op.CHANGE_EMPLOYEE, screen)),
                (t("button.cancel_visit"), _data(Op.CANCEL, screen)),
            ]
            return _live(screen, Reply(_header(screen, t) + "\n\n" + text, _rows(buttons)))
        case ScreenKind.CANCEL:
            buttons = [
                (t("button.cancel_yes"), _data(Op.CANCEL_CONFIRMED, screen)),
                (t("button.cancel_no"), _data(Op.KEEP, screen)),
            ]
            return _live(screen, Reply(t("visit.cancel_question"), _rows(buttons)))
        case ScreenKind.REVIEW:
            return _live(screen, _review(screen, t))
    return _live(screen, _question(screen, t, hint))


def _live(screen: Screen, reply: Reply) -> Reply:
    """A screen of the draft: the one live copy of its question (older ones lose their
    buttons when a new one is sent)."""
    return Reply(
        reply.text, reply.buttons, reply.menu, visit=screen.visit_id, replaces=screen.live_message
    )


def _data(op: Op, screen: Screen, *args: int) -> str:
    """A button of this screen: it names the visit and the item now asked."""
    return encode(op, screen.visit_id, screen.item_index, *args)


def _header(screen: Screen, t: Translator) -> str:
    parts = [screen.checklist.title.get(t.language), screen.store]
    if screen.employee:
        who = screen.employee
        parts.append(short(who, SHORT_DESCRIPTION) if screen.described else who)
    return "<b>" + escape(" · ".join(parts)) + "</b>"


def _question(screen: Screen, t: Translator, hint: bool) -> Reply:
    item = screen.item
    assert item is not None
    section = screen.checklist.section_of(item.id).title.get(t.language)
    lines = [
        _header(screen, t),
        f"{screen.position}/{screen.total} · {escape(section)}",
        "",
        "<b>" + escape(item.prompt.get(t.language)) + "</b>",
    ]
    if hint and item.hint:
        lines.append("<i>" + escape(item.hint.get(t.language)) + "</i>")
    asking = _asking(screen, t)
    lines.extend(_status_lines(screen, item, t, asking))
    if screen.kind == ScreenKind.COMMENT:
        lines += ["", t("visit.type_comment", max=MAX_COMMENT)]
        back = [(t("button.back_to_question"), _data(Op.RESUME, screen))]
        return Reply("\n".join(lines), _rows(back))
    instruction = item.kind.instruction(item, asking)
    if instruction:
        lines += ["", instruction]
    buttons = _answer_rows(screen, item, t, asking) + _navigation(screen, item, t, hint)
    return Reply("\n".join(lines), buttons)


def _asking(screen: Screen, t: Translator) -> Asking:
    assert screen.today is not None
    return Asking(t, screen.today, screen.checklist.channel.value)


def _status_lines(screen: Screen, item: Item, t: Translator, asking: Asking) -> list[str]:
    lines = []
    if screen.answer is not None:
        shown = show_answer(item, screen.answer, t)
        if screen.measured:
            shown += " ⏱"
        lines.append(t("visit.current_answer", answer=escape(shown)))
    if screen.timer_started_at is not None:
        lines.append(t("visit.timer_running", stop=item.kind.labels(item, asking)[1]))
    if screen.comment:
        lines.append(t("visit.comment_saved", comment=escape(short(screen.comment, 200))))
    if screen.photos:
        lines.append(t("visit.photos_saved", count=screen.photos))
    if screen.recordings:
        lines.append(t("visit.recordings_saved", count=screen.recordings))
    if screen.needs:
        needed = ", ".join(t(f"evidence.{what}", count=count) for what, count in screen.needs)
        lines.append(t("visit.evidence_needed", needs=needed))
    return ["", *lines] if lines else []


def _answer_rows(screen: Screen, item: Item, t: Translator, asking: Asking) -> Rows:
    """The item type's answer buttons (the given answer marked), its stopwatch or "done"
    with photos, then N/A."""
    kind = item.kind
    given = screen.answer
    op = Op.TOGGLE if kind.toggles else Op.ANSWER
    rows = [
        [(_marked(label, item, given, code), _data(op, screen, code)) for label, code in row]
        for row in kind.buttons(item, asking)
    ]
    if kind.stopwatch:
        start, stop = kind.labels(item, asking)
        if screen.timer_started_at is None:
            rows.append([(start, _data(Op.TIMER_START, screen))])
        else:
            rows.append([(stop, _data(Op.TIMER_STOP, screen))])
    if (kind.photos and screen.photos) or (kind.recordings and screen.recordings) or kind.toggles:
        rows.append([(t("button.done"), _data(Op.DONE, screen))])
    if item.na:
        chosen = given is not None and given.na
        label = (CHOSEN if chosen else "") + t("answer.na")
        rows.append([(label, _data(Op.NOT_APPLICABLE, screen))])
    return _rows(*rows)


def _marked(label: str, item: Item, given: scoring.Answer | None, code: int) -> str:
    if given is None or given.na or given.value is None:
        return label
    return CHOSEN + label if item.kind.is_chosen(item, given.value, code) else label


def _navigation(screen: Screen, item: Item, t: Translator, hint: bool) -> Rows:
    """Back (on the first question: to the employee), the hint, then on with the answer
    given or past an optional question; comment and the review below."""
    row = []
    if screen.position > 1:
        row.append((t("button.back"), _data(Op.BACK, screen)))
    elif screen.asks_employee:
        row.append((t("button.back"), _data(Op.CHANGE_EMPLOYEE, screen)))
    if item.hint and not hint:
        row.append((t("button.hint"), _data(Op.HINT, screen)))
    if screen.answer is not None:
        row.append((t("button.keep"), _data(Op.KEEP_ANSWER, screen)))
    elif not item.is_required:
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
    return short(item.kind.shown(item, answer.value, t), 60)


def short(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters with an ellipsis, for a line that must stay one."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _review(screen: Screen, t: Translator) -> Reply:
    """Every question that applies, numbered by its place in the checklist (so a number
    never shifts), with its answer, comment and photos; the score; what is missing."""
    lines, edit_buttons = answer_lines(screen, t)
    lines = [_header(screen, t), "", "<b>" + t("review.title") + "</b>", *lines]
    lines += ["", t("review.edit_hint")]
    grid = [edit_buttons[i : i + 8] for i in range(0, len(edit_buttons), 8)]
    final: list[Button] = [(t("button.back"), _data(Op.BACK, screen))]
    if not screen.missing:
        final.append((t("button.submit"), _data(Op.SUBMIT, screen)))
    return Reply(
        "\n".join(lines),
        _rows(*grid, final, [(t("button.cancel_visit"), _data(Op.CANCEL, screen))]),
    )


def answer_lines(screen: Screen, t: Translator) -> tuple[list[str], list[Button]]:
    """The verdict, then each question that applies by its standard's name with its answer,
    comment and evidence, then the sections' scores; and a button to change each answer.
    The verdict comes first: a long review that has to be cut loses its last items."""
    result = screen.result
    assert result is not None
    lines: list[str] = []
    lines.append(
        t(
            "review.score",
            score=percent(result.score, t),
            pass_mark=percent(screen.checklist.pass_mark, t),
        )
    )
    if result.critical_failures:
        checklist = screen.checklist
        names = [checklist.item(i).standard_name(t.language) for i in result.critical_failures]
        key = "review.critical" if len(names) == 1 else "review.critical_many"
        lines.append(t(key, items=escape(", ".join(names))))
    if screen.missing:
        lines.append(t("review.missing", count=len(screen.missing)))
    lines.append("")
    edit_buttons: list[Button] = []
    for index, item in enumerate(screen.checklist.items):
        if not result.items[item.id].visible:
            continue
        number = index + 1
        answer = screen.answers.get(item.id)
        photos = screen.photo_counts.get(item.id, 0)
        recordings = screen.recording_counts.get(item.id, 0)
        missing = item.id in screen.missing
        if item.kind.photos or item.kind.recordings:
            mark = "❗" if missing else "📷" if item.kind.photos else "🎙"
            shown = "" if photos or recordings else t("review.no_answer")
        elif answer is None:
            mark, shown = ("❗" if missing else "➖"), t("review.no_answer")
        else:
            mark = "❗" if missing else _mark(result.items[item.id].score)
            shown = show_answer(item, answer, t)
        # the evidence, marked with its emoji unless the item's own mark already shows it
        if photos:
            shown += " · " + "📷 " * (not item.kind.photos) + t("review.photo_count", count=photos)
        if recordings:
            counted = t("review.recording_count", count=recordings)
            shown += " · " + "🎙 " * (not item.kind.recordings) + counted
        shown = shown.removeprefix(" · ")
        title = short(item.standard_name(t.language), REVIEW_TITLE)
        lines.append(f"{mark} {number}. {escape(title)} — {escape(shown)}")
        comment = screen.comments.get(item.id)
        if comment:
            lines.append("      " + t("visit.comment_saved", comment=escape(short(comment, 80))))
        edit_buttons.append((str(number), encode(Op.EDIT, screen.visit_id, index)))
    if screen.visit_photos:
        lines.append(t("review.visit_photos", count=screen.visit_photos))
    if screen.visit_recordings:
        lines.append(t("review.visit_recordings", count=screen.visit_recordings))
    lines.append("")
    for section in screen.checklist.sections:
        if result.sections.get(section.id) is not None:
            title = escape(section.title.get(t.language))
            lines.append(f"{title}: {percent(result.sections[section.id], t)}")
    return lines, edit_buttons


def _mark(score: float | None) -> str:
    if score is None:
        return "▫️"
    return "✅" if score == 1 else "❌" if score == 0 else "🟡"


def not_met_lines(
    result: scoring.VisitScore,
    checklist: Checklist,
    t: Translator,
    comments: Mapping[str, str] | None = None,
) -> list[str]:
    """The standards not met (critical ones marked), then those partly met with their
    share, by short name; each with the shopper's comment when ``comments`` are given."""
    failed = [i for i in result.failed_items if result.items[i].failed]
    partly = [i for i in result.failed_items if not result.items[i].failed]
    lines: list[str] = []
    for title, ids in (("done.not_met", failed), ("done.partly_met", partly)):
        if not ids:
            continue
        lines += ["", t(title)]
        for item_id in ids:
            name = escape(checklist.item(item_id).standard_name(t.language))
            if item_id in result.critical_failures:
                name += t("done.critical_mark")
            elif item_id in partly:
                name += " — " + percent(100 * (result.items[item_id].score or 0), t)
            lines.append("• " + name)
            comment = (comments or {}).get(item_id)
            if comment:
                quoted = escape(short(comment, COMMENT_LIMIT))
                lines.append("   " + t("visit.comment_saved", comment=quoted))
    return lines


def submitted(screen: Screen, result: scoring.VisitScore, t: Translator) -> Reply:
    """The score, whether the visit passed and why not, the standards not met and those
    partly met, by their short names."""
    score, pass_mark = percent(result.score, t), percent(screen.checklist.pass_mark, t)
    if result.passed:
        verdict = t("done.passed", score=score, pass_mark=pass_mark)
    elif result.critical_failures:
        many = len(result.critical_failures) > 1
        key = "done.failed_criticals" if many else "done.failed_critical"
        verdict = t(key, score=score, pass_mark=pass_mark)
    else:
        verdict = t("done.failed_mark", score=score, pass_mark=pass_mark)
    lines = [_header(screen, t), "", verdict]
    lines += not_met_lines(result, screen.checklist, t)
    lines += ["", t("done.thanks")]
    return Reply("\n".join(lines), menu=True)
