"""A store manager's card of a visit that counts: score, pass, the standards not met with the
shopper's comments, the photos and recordings on a button, and ✔ Seen / ⚑ Dispute.

The shopper is shown by pseudonym only. A card is the manager's own: its buttons carry the
card's id, and a press on anyone else's card (a forged button) is refused like a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, object_session

from bot.callbacks import Op, Pressed, encode
from bot.i18n import Translator
from bot.service.base import Request, Setting, await_text, evidence, forget_text, translator_for
from bot.service.outcome import Button, Outcome, Reply, rows
from bot.service.screens import COMMENT_LIMIT, not_met_lines, percent, short
from checklists.schema import Checklist
from checklists.scoring import VisitScore
from storage import actions, cards, notices, visits
from storage.checklist_versions import definition
from storage.models import (
    DisputeOutcome,
    PendingInput,
    PendingKind,
    Role,
    Visit,
    VisitCard,
)

SEEN, DISPUTE, EVIDENCE = "s", "d", "l"
"""The words of a card's buttons."""
LEFT_BY_A_PRESS = (
    PendingKind.DISPUTE_REASON,
    PendingKind.ACTION_DONE,
    PendingKind.ACTION_PHOTO,
)
"""What a card's button leaves untyped: a dispute's reason, a closing half done."""


@dataclass
class Cards:
    setting: Setting

    def for_manager(self, session: Session, card_id: int) -> Reply:
        """The card as its manager sees it now, in the manager's language."""
        card = session.get(VisitCard, card_id)
        assert card is not None
        return self._reply(card, translator_for(self.setting, card.manager))

    def press(self, r: Request, pressed: Pressed | None) -> Outcome:
        """``mc:<word>:<card>``: seen, dispute (its reason is typed next), the evidence."""
        if r.person is None or r.person.role != Role.MANAGER:
            return r.refuse_button("ops.managers_only")
        forget_text(r, *LEFT_BY_A_PRESS)
        word, card_id = _button(pressed) or ("", -1)
        try:
            card = cards.own_card(r.session, card_id, r.person) if word else None
        except cards.CardError as error:
            return r.out(toast=r.t(f"card.{error.reason}"), alert=True)
        if card is None:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        now = self.setting.clock.now()
        if word == SEEN:
            cards.see(card, now)
            return r.out(toast=r.t("card.seen_toast"), edit=self._reply(card, r.t))
        if word == EVIDENCE:
            return evidence(r, card.visit)
        if card.disputed_at is not None:
            return r.out(toast=r.t("card.already_disputed"), alert=True)
        await_text(r, PendingKind.DISPUTE_REASON, {"card_id": card.id})
        return r.out(send=[Reply(r.t("card.type_dispute", visit=card.visit_id))])

    def dispute_reason(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The reason a manager typed for disputing a visit: the dispute goes to the admins."""
        assert r.person is not None
        try:
            card = cards.own_card(r.session, int(waiting.payload["card_id"]), r.person)
            cards.dispute(r.session, card, text, self.setting.clock.now())
        except cards.CardError as error:
            if error.reason in ("dispute_reason_required", "dispute_too_long"):
                return r.say(f"card.{error.reason}", max=cards.MAX_REASON)  # still waiting
            r.session.delete(waiting)
            return r.say(f"card.{error.reason}")
        r.session.delete(waiting)
        return r.say("card.dispute_sent", visit=card.visit_id)

    def tell_decision(self, session: Session, card: VisitCard) -> None:
        """A notice telling the disputing manager what the admin decided."""
        manager = card.manager
        t = translator_for(self.setting, manager)
        visit, because = card.visit, card.decision_reason or ""
        params = {"visit": card.visit_id, "store": escape(visit.store.name)}
        if card.dispute_outcome == DisputeOutcome.UPHELD:
            text = t("card.upheld", **params, score=percent(visit.score, t))
            text += f" {escape(because)}" if because else ""
        else:
            text = t("card.voided", **params, reason=escape(because))
        notices.add(session, manager, text)

    def _reply(self, card: VisitCard, t: Translator) -> Reply:
        visit = card.visit
        checklist = definition(visit.checklist_version)
        zone = self.setting.clock.zone
        result = visits.score_of(visit)
        lines = [*_headline(visit, result, checklist, t, zone), *self._people(visit, t)]
        comments = {a.item_id: a.comment for a in visit.answers if a.comment}
        lines += not_met_lines(result, checklist, t, comments)
        lines += _opened(card, checklist, t)
        lines += self._state(card, t)
        buttons: list[Button] = []
        if card.seen_at is None:
            buttons.append((t("card.seen"), encode(Op.CARD, SEEN, card.id)))
        if card.disputed_at is None:
            buttons.append((t("card.dispute"), encode(Op.CARD, DISPUTE, card.id)))
        looks: list[Button] = []
        if visit.photos:
            label = t("card.evidence", count=len(visit.photos))
            looks.append((label, encode(Op.CARD, EVIDENCE, card.id)))
        return Reply("\n".join(lines), rows(buttons, looks))

    def _people(self, visit: Visit, t: Translator) -> list[str]:
        """Who served (when the deployment collects it) and the shopper's pseudonym."""
        lines = []
        if self.setting.employee_names and visit.asks_employee:
            if visit.employee is not None:
                lines.append(t("ops.review_employee", employee=escape(visit.employee.name)))
            elif visit.employee_description:
                described = escape(short(visit.employee_description, 80))
                lines.append(t("ops.review_described", description=described))
        return [*lines, t("card.shopper", pseudonym=visit.evaluator.pseudonym)]

    def _state(self, card: VisitCard, t: Translator) -> list[str]:
        """What the manager did with the card, and what became of a dispute."""
        lines = []
        if card.disputed_at is not None:
            reason = escape(short(card.dispute_reason or "", COMMENT_LIMIT))
            lines.append(t("card.disputed_at", when=self._when(card.disputed_at), reason=reason))
            if card.dispute_outcome is None:
                lines.append(t("card.dispute_waiting"))
            else:
                lines.append(t(f"card.dispute_{card.dispute_outcome}"))
        elif card.seen_at is not None:
            lines.append(t("card.seen_at", when=self._when(card.seen_at)))
        return ["", *lines] if lines else []

    def _when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.setting.clock.zone):%d.%m %H:%M}"


def _headline(
    visit: Visit, result: VisitScore, checklist: Checklist, t: Translator, zone: ZoneInfo
) -> list[str]:
    """The visit (the store first: a notification's preview shows it), its critical
    failures (what a manager must act on), and the score against the pass mark."""
    assert visit.submitted_at is not None
    lines = [
        t(
            "card.title",
            visit=visit.id,
            checklist=escape(checklist.title.get(t.language)),
            store=escape(visit.store.name),
            when=f"{visit.submitted_at.astimezone(zone):%d.%m.%Y %H:%M}",
        )
    ]
    if result.critical_failures:
        names = [checklist.item(i).standard_name(t.language) for i in result.critical_failures]
        key = "card.critical" if len(names) == 1 else "card.critical_many"
        lines.append(t(key, items=escape(", ".join(names))))
    score, mark = percent(result.score, t), percent(checklist.pass_mark, t)
    if result.score is None:
        lines.append(t("card.unscored"))
    else:
        key = "card.passed" if result.passed else "card.failed"
        lines.append(t(key, score=score, pass_mark=mark))
    return lines


def _opened(card: VisitCard, checklist: Checklist, t: Translator) -> list[str]:
    """The corrective actions the visit opened for the store, and those it reopened (the
    standard failed again after a manager closed its action), and by when."""
    session = object_session(card)
    assert session is not None
    lines = []
    for key, found in (
        ("card.actions", actions.opened_by(session, card.visit_id)),
        ("card.reopened", actions.reopened_by(session, card.visit_id)),
    ):
        if found:
            names = ", ".join(actions.standard_name(a, t.language) for a in found)
            due = f"{min(a.due_on for a in found):%d.%m.%Y}"
            lines.append(t(key, count=len(found), due=due, standards=escape(names)))
    return ["", *lines] if lines else []


def _button(pressed: Pressed | None) -> tuple[str, int] | None:
    """The word and the card of a card's button, or None if forged."""
    return pressed.word_and_id(Op.CARD, (SEEN, DISPUTE, EVIDENCE)) if pressed else None
