"""An admin's review of flagged visits and of visits a store manager disputed: the card, and
accepting, returning or voiding a flagged visit; upholding or voiding a disputed one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from babel.numbers import format_decimal

from bot.callbacks import Op, Pressed, encode
from bot.i18n import Translator
from bot.service.base import Request, Setting, await_text, evidence, forget_text, translator_for
from bot.service.cards import Cards
from bot.service.outcome import Button, Outcome, Reply
from bot.service.screens import answer_lines, percent, short, show_answer
from checklists import scoring
from checklists.answers import check_value
from checklists.item_types import AnswerRejected, Asking
from checklists.schema import Checklist, Item
from storage import cards, notices, reviews
from storage.checklist_versions import definition
from storage.drafts import Records
from storage.models import Answer as StoredAnswer
from storage.models import (
    Decision,
    DisputeOutcome,
    PendingInput,
    PendingKind,
    ReviewStatus,
    Role,
    Visit,
    VisitFlag,
)
from storage.visits import answer_value
from visits import drafts, integrity

DECISIONS = {"a": Decision.ACCEPTED, "r": Decision.REJECTED, "v": Decision.VOID}
"""The word a review button carries for each decision (a disputed visit is voided by "v")."""
UPHOLD = "u"
"""The word of the button that keeps a disputed visit as it is."""
NEXT, PREVIOUS, CARD, ANSWERS, EVIDENCE = "n", "p", "c", "s", "l"
"""The words of the buttons that move through the queue (next, previous, back to the card)
and show the visit's answers or send its photos and recordings."""
LOOKS = (NEXT, PREVIOUS, CARD, ANSWERS, EVIDENCE, UPHOLD)
REASONS = (PendingKind.REVIEW_REASON, PendingKind.CORRECTION_REASON, PendingKind.CORRECTION_VALUE)
"""What an admin's typed message may be waiting to answer in review."""
ASK, NOT_APPLICABLE = -1, -2
"""A correction button's code that asks for the right answer, and the one that gives N/A."""


@dataclass
class Review:
    setting: Setting

    def start(self, r: Request) -> Outcome:
        """``/review``: the first flagged visit waiting."""
        if r.person is None or r.person.role != Role.ADMIN:
            return r.refuse("ops.admins_only")
        forget_text(r, *REASONS)
        return r.out(send=[self._card(r, 0, 0)])

    def press(self, r: Request, pressed: Pressed | None) -> Outcome:
        """``rv:<word>:<visit>``: accept, ask a reason to return or void, move through the
        queue, show the answers or the evidence; ``rc:…``: correct an answer."""
        if r.person is None or r.person.role != Role.ADMIN:
            return r.refuse_button("ops.admins_only")
        forget_text(r, *REASONS)  # any button of the review leaves a reason not typed
        if pressed is not None and pressed.op == Op.CORRECT:
            return self._correct(r, pressed.numbers())
        button = _button(pressed)
        if button is None:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        word, visit_id = button
        if word in (NEXT, PREVIOUS, CARD):
            step = {NEXT: 1, PREVIOUS: -1, CARD: 0}[word]
            return r.out(edit=self._card(r, visit_id, step))
        if word == UPHOLD:
            return self._uphold(r, visit_id)
        if word in (ANSWERS, EVIDENCE):
            visit = _under_review(r, visit_id)
            if visit is None:
                return r.out(toast=r.t("ops.not_pending"), alert=True)
            return self._answers(r, visit) if word == ANSWERS else evidence(r, visit)
        if DECISIONS[word] == Decision.ACCEPTED:
            visit = _under_review(r, visit_id)
            if visit is not None and self._missing(r, visit):
                return r.out(toast=r.t("ops.incomplete"), alert=True)
            return self.decide(r, visit_id, Decision.ACCEPTED, "")
        visit = _under_review(r, visit_id)
        disputed = visit is not None and visit.review_status != ReviewStatus.PENDING
        if visit is None or (disputed and DECISIONS[word] != Decision.VOID):
            return r.out(toast=r.t("ops.not_pending"), alert=True)
        await_text(
            r, PendingKind.REVIEW_REASON, {"visit_id": visit_id, "decision": DECISIONS[word]}
        )
        key = "ops.type_void_reason" if disputed else "ops.type_reason"
        return r.out(edit=Reply(r.t(key, visit=visit_id)))

    def _uphold(self, r: Request, visit_id: int) -> Outcome:
        """A disputed visit stands as it is (or as corrected); the managers are told."""
        visit = _under_review(r, visit_id)
        if visit is not None and self._missing(r, visit):
            return r.out(toast=r.t("ops.incomplete"), alert=True)
        return self._settle(r, visit_id, DisputeOutcome.UPHELD, "")

    def _settle(self, r: Request, visit_id: int, outcome: DisputeOutcome, reason: str) -> Outcome:
        assert r.person is not None
        now = self.setting.clock.now()
        try:
            visit, decided = integrity.settle_dispute(
                r.session, visit_id, outcome, reason, r.person.id, now
            )
        except integrity.ReviewError as error:
            return r.out(toast=r.t(f"ops.{error.reason}"), alert=True)
        cards = Cards(self.setting)
        for card in decided:
            cards.tell_decision(r.session, card)
        if outcome == DisputeOutcome.VOIDED:
            self._tell_shopper(r, visit, Decision.VOID, reason, now)
        return r.out(
            toast=r.t(f"ops.dispute_{outcome}", visit=visit_id),
            edit=self._card(r, visit_id, 1),
            outbox_due=True,
        )

    def _answers(self, r: Request, visit: Visit) -> Outcome:
        """Every answer of the visit under review by its standard's name, with the
        shopper's comments and the evidence counted, in place of the card; a number
        button for each answer an admin can correct."""
        screen = drafts.submitted(Records(r.session), visit, self.setting.clock)
        lines, _ = answer_lines(screen, r.t)
        title = r.t("ops.review_answers", visit=visit.id, store=escape(visit.store.name))
        asking = self._asking(r, screen.checklist)
        assert screen.result is not None
        numbers: list[Button] = [
            (str(index + 1), encode(Op.CORRECT, visit.id, index, -1))
            for index, item in enumerate(screen.checklist.items)
            if screen.result.items[item.id].visible and _correctable(item, asking)
        ]
        looks: list[Button] = [(r.t("ops.back_to_card"), encode(Op.DECIDE, CARD, visit.id))]
        if visit.photos:
            looks.append((r.t("ops.evidence"), encode(Op.DECIDE, EVIDENCE, visit.id)))
        grid = tuple(tuple(numbers[i : i + 8]) for i in range(0, len(numbers), 8))
        shown = [title, "", *lines, *(["", r.t("ops.correct_hint")] if numbers else [])]
        return r.out(edit=Reply("\n".join(shown), (*grid, tuple(looks))))

    def _asking(self, r: Request, checklist: Checklist) -> Asking:
        return Asking(r.t, self.setting.clock.today(), checklist.channel.value)

    def _correct(self, r: Request, fields: tuple[int, ...]) -> Outcome:
        """``rc:<visit>:<item>:-1`` offers the answers the item takes; ``rc:…:<code>``
        asks for the reason to change the answer to that one."""
        visit_id, index, code = fields
        visit = _under_review(r, visit_id)
        if visit is None:
            return r.out(toast=r.t("ops.not_pending"), alert=True)
        screen = drafts.submitted(Records(r.session), visit, self.setting.clock)
        checklist, result = screen.checklist, screen.result
        assert result is not None
        asking = self._asking(r, checklist)
        item = checklist.items[index] if 0 <= index < len(checklist.items) else None
        if item is None or not result.items[item.id].visible or not _correctable(item, asking):
            return r.out(toast=r.t("error.bad_button"), alert=True)
        row = next((a for a in visit.answers if a.item_id == item.id), None)
        now = show_answer(item, answer_value(row), r.t) if row else r.t("review.no_answer")
        name = escape(item.standard_name(r.t.language))
        if code == ASK:
            rows = tuple(
                tuple((label, encode(Op.CORRECT, visit.id, index, c)) for label, c in row_)
                for row_ in item.kind.buttons(item, asking)
            )
            if item.na:
                na = encode(Op.CORRECT, visit.id, index, NOT_APPLICABLE)
                rows += (((r.t("answer.na"), na),),)
            back = ((r.t("ops.back_to_answers"), encode(Op.DECIDE, ANSWERS, visit.id)),)
            key = "ops.correct_choose"
            if item.kind.typed:  # or typed: the admin's next message is the right answer
                asked = {"visit_id": visit.id, "item_id": item.id}
                await_text(r, PendingKind.CORRECTION_VALUE, asked)
                key = "ops.correct_type_or_choose" if rows else "ops.correct_type"
            text = r.t(key, standard=name, answer=escape(now))
            return r.out(edit=Reply(text, (*rows, back)))
        if code == NOT_APPLICABLE and item.na:
            return self._ask_reason(r, visit, item, scoring.Answer(na=True), row)
        try:
            value = check_value(item, item.kind.button_value(item, code), today=asking.today)
        except AnswerRejected:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        return self._ask_reason(r, visit, item, scoring.Answer(value), row)

    def _ask_reason(
        self,
        r: Request,
        visit: Visit,
        item: Item,
        answer: scoring.Answer,
        row: StoredAnswer | None,
    ) -> Outcome:
        """The right answer is chosen: the reason for the change is typed next."""
        if row is not None and answer_value(row) == answer:
            return r.out(toast=r.t("ops.correct_same"), alert=True)
        payload: dict[str, object] = {"visit_id": visit.id, "item_id": item.id}
        payload.update({"na": True} if answer.na else {"value": answer.value})
        await_text(r, PendingKind.CORRECTION_REASON, payload)
        now = show_answer(item, answer_value(row), r.t) if row else r.t("review.no_answer")
        new = show_answer(item, answer, r.t)
        name = escape(item.standard_name(r.t.language))
        text = r.t("ops.correct_reason", standard=name, answer=escape(now), new=escape(new))
        back = ((r.t("ops.back_to_answers"), encode(Op.DECIDE, ANSWERS, visit.id)),)
        return r.out(edit=Reply(text, (back,)))

    def correction_value(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The right answer an admin typed for a typed question (a number, seconds, a date,
        text): checked as a shopper's would be, then the reason is asked."""
        payload = waiting.payload
        visit = _under_review(r, int(payload["visit_id"]))
        if visit is None:
            r.session.delete(waiting)
            return r.say("ops.not_pending")
        checklist = definition(visit.checklist_version)
        item = checklist.item(str(payload["item_id"]))
        try:
            value = check_value(item, text, today=self.setting.clock.today())
        except AnswerRejected as rejected:  # still waiting for a right answer
            return r.say(f"reject.{rejected.reason}", **rejected.params)
        row = next((a for a in visit.answers if a.item_id == item.id), None)
        asked = self._ask_reason(r, visit, item, scoring.Answer(value), row)
        return asked.as_messages()

    def correction_reason(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The reason an admin typed for correcting an answer: the answer changes, the visit
        is scored again, and its card comes back."""
        assert r.person is not None
        if not text.strip():  # still waiting: the answer is not changed without a reason
            return r.say("ops.correction_reason_required")
        r.session.delete(waiting)
        payload = waiting.payload
        visit_id, item_id = int(payload["visit_id"]), str(payload["item_id"])
        answer = scoring.Answer(na=True) if payload.get("na") else scoring.Answer(payload["value"])
        try:
            visit, _ = integrity.correct(
                r.session,
                visit_id,
                item_id,
                answer,
                text,
                r.person.id,
                self.setting.clock.now(),
                rules=self.setting.rules,
                today=self.setting.clock.today(),
            )
        except integrity.ReviewError as error:
            return r.say(f"ops.{error.reason}")
        item = definition(visit.checklist_version).item(item_id)
        done = r.t(
            "ops.corrected",
            standard=escape(item.standard_name(r.t.language)),
            score=percent(visit.score, r.t),
        )
        return r.out(send=[Reply(done), self._card(r, visit_id, 0)])

    def _missing(self, r: Request, visit: Visit) -> list[str]:
        """The standards a visit lacks an answer or its evidence for, by name: after a
        correction showed a question or asked for a comment, it cannot count as it is."""
        screen = drafts.submitted(Records(r.session), visit, self.setting.clock)
        return [screen.checklist.item(i).standard_name(r.t.language) for i in screen.missing]

    def reason(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The reason an admin typed for returning or voiding a visit."""
        r.session.delete(waiting)
        if not text.strip():
            return r.say("ops.reason_required")
        payload = waiting.payload
        decided = self.decide(r, int(payload["visit_id"]), Decision(payload["decision"]), text)
        return decided.as_messages()

    def decide(self, r: Request, visit_id: int, decision: Decision, reason: str) -> Outcome:
        assert r.person is not None
        visit = r.session.get(Visit, visit_id)
        disputed = visit is not None and visit.review_status != ReviewStatus.PENDING
        if disputed and decision == Decision.VOID:  # not flagged: voided after a dispute
            return self._settle(r, visit_id, DisputeOutcome.VOIDED, reason)
        setting = self.setting
        now = setting.clock.now()
        try:
            visit = integrity.decide(
                r.session,
                visit_id,
                decision,
                reason,
                r.person.id,
                setting.rules,
                now,
                setting.clock.today(),
            )
        except integrity.ReviewError as error:
            return r.out(toast=r.t(f"ops.{error.reason}"), alert=True)
        outcome = r.out(
            toast=r.t(f"ops.decided_{decision}", visit=visit_id),
            edit=self._card(r, visit_id, 1),
            outbox_due=True,
        )
        if decision != Decision.ACCEPTED:
            self._tell_shopper(r, visit, decision, reason, now)
        return outcome

    def _tell_shopper(
        self, r: Request, visit: Visit, decision: Decision, reason: str, now: datetime
    ) -> None:
        """The shopper told that their visit was returned (until when) or voided, and why:
        a notice added with the decision, sent once by the outbox."""
        shopper, setting = visit.evaluator, self.setting
        st = translator_for(setting, shopper)
        deadline = (visit.resubmit_until or now).astimezone(setting.clock.zone)
        key = (
            "ops.returned_to_shopper" if decision == Decision.REJECTED else "ops.voided_to_shopper"
        )
        text = st(
            key,
            visit=visit.id,
            store=escape(visit.store.name),
            reason=escape(reason.strip()),
            until=f"{deadline:%d.%m.%Y %H:%M}",
        )
        notices.add(r.session, shopper, text)

    def _card(self, r: Request, visit_id: int, step: int) -> Reply:
        """The card of a visit waiting for review: ``step`` places from ``visit_id`` in the
        queue (longest waiting first, round the end); the first when that one is decided."""
        t = r.t
        waiting = reviews.pending_reviews(r.session)
        if not waiting:
            return Reply(t("ops.nothing_to_review"))
        ids = [v.id for v in waiting]
        index = (ids.index(visit_id) + step) % len(ids) if visit_id in ids else 0
        visit = waiting[index]
        flags = reviews.flags_of(r.session, visit.id)
        checklist = definition(visit.checklist_version)
        missing = self._missing(r, visit)
        lines = [
            t(
                "ops.review_card",
                visit=visit.id,
                store=escape(visit.store.name),
                checklist=escape(checklist.title.get(t.language)),
                shopper=visit.evaluator.pseudonym,
                score=percent(visit.score, t),
                position=index + 1,
                count=len(waiting),
            ),
            *self._served_by(visit, t),
            *_time_taken(visit, t),
            *([t("ops.missing", standards=escape(", ".join(missing)))] if missing else []),
            "",
            *(f"⚑ {t('flag.' + f.kind)}: {escape(_facts(f, checklist, t))}" for f in flags),
        ]
        disputes = cards.disputes_of(r.session, visit.id)
        for dispute in disputes:
            lines.append(
                t(
                    "ops.disputed",
                    manager=escape(dispute.manager.name or dispute.manager.pseudonym),
                    reason=escape(dispute.dispute_reason or ""),
                )
            )
        looks: list[Button] = [(t("ops.answers"), encode(Op.DECIDE, ANSWERS, visit.id))]
        if visit.photos:
            looks.append((t("ops.evidence"), encode(Op.DECIDE, EVIDENCE, visit.id)))
        decisions: tuple[Button, ...] = (
            (t("ops.accept"), encode(Op.DECIDE, "a", visit.id)),
            (t("ops.reject"), encode(Op.DECIDE, "r", visit.id)),
            (t("ops.void"), encode(Op.DECIDE, "v", visit.id)),
        )
        if visit.review_status != ReviewStatus.PENDING:
            decisions = (
                (t("ops.uphold"), encode(Op.DECIDE, UPHOLD, visit.id)),
                (t("ops.void"), encode(Op.DECIDE, "v", visit.id)),
            )
        buttons: tuple[tuple[Button, ...], ...] = (decisions, tuple(looks))
        if len(waiting) > 1:
            buttons += (
                (
                    (t("button.previous"), encode(Op.DECIDE, PREVIOUS, visit.id)),
                    (t("button.next"), encode(Op.DECIDE, NEXT, visit.id)),
                ),
            )
        return Reply("\n".join(lines), buttons)

    def _served_by(self, visit: Visit, t: Translator) -> list[str]:
        """Who served the shopper, when the deployment collects it."""
        if not self.setting.employee_names or not visit.asks_employee:
            return []
        if visit.employee is not None:
            return [t("ops.review_employee", employee=escape(visit.employee.name))]
        described = short(visit.employee_description or "", 80)
        return [t("ops.review_described", description=escape(described))] if described else []


def _correctable(item: Item, asking: Asking) -> bool:
    """An answer an admin can correct: by a button (yes/no, a choice, a scale, a count, N/A)
    or typed (a number, seconds, a date, text); not several ticks, and not the evidence."""
    kind = item.kind
    if kind.toggles or kind.photos or kind.recordings:
        return False
    return kind.typed or bool(kind.buttons(item, asking)) or item.na


def _time_taken(visit: Visit, t: Translator) -> list[str]:
    """How long the shopper took, from opening the visit to submitting it."""
    if visit.submitted_at is None:
        return []
    minutes = max(0, round((visit.submitted_at - visit.started_at).total_seconds() / 60))
    return [t("ops.review_took", minutes=minutes)]


def _under_review(r: Request, visit_id: int) -> Visit | None:
    """The visit if it waits for review (flagged or disputed); a shopper's draft, say, is
    nobody's to look at."""
    visit = r.session.get(Visit, visit_id)
    if visit is None or not integrity.under_review(r.session, visit):
        return None
    return visit


def _button(pressed: Pressed | None) -> tuple[str, int] | None:
    """The decision word and the visit of a review button, or None if forged."""
    return pressed.word_and_id(Op.DECIDE, (*DECISIONS, *LOOKS)) if pressed else None


def _facts(flag: VisitFlag, checklist: Checklist, t: Translator) -> str:
    """A flag's facts in the reader's language (flags from before they were kept as values
    are shown as they were written)."""
    params = dict(flag.params or {})
    if not params:
        return str(flag.details)
    if "items" in params:
        items = [str(i) for i in params["items"]]
        params["items"] = ", ".join(_name(checklist, i, t.language) for i in items)
    if "metres" in params:
        params["metres"] = format_decimal(params["metres"], locale=t.language)
    return t(f"flag.{flag.kind}.details", **params)


def _name(checklist: Checklist, item_id: str, language: str) -> str:
    try:
        return checklist.item(item_id).standard_name(language)
    except KeyError:
        return item_id
