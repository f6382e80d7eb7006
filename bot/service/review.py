"""An admin's review of flagged visits: the card, and accepting, returning or voiding."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from babel.numbers import format_decimal

from bot.callbacks import Op, Pressed, encode
from bot.i18n import Translator
from bot.service.alerts import critical_alerts
from bot.service.base import Request, Setting, await_text, translator_for
from bot.service.outcome import Button, Outcome, Reply
from bot.service.screens import percent
from checklists.schema import Checklist
from storage import reviews
from storage.checklist_versions import definition
from storage.models import (
    AttachmentKind,
    Decision,
    PendingInput,
    PendingKind,
    ReviewStatus,
    Role,
    Visit,
    VisitFlag,
    VisitStatus,
)
from visits import integrity

DECISIONS = {"a": Decision.ACCEPTED, "r": Decision.REJECTED, "v": Decision.VOID}
"""The word a review button carries for each decision; ``n`` shows the next visit, ``l``
sends its recordings to listen to."""
NEXT, LISTEN = "n", "l"


@dataclass
class Review:
    setting: Setting

    def start(self, r: Request) -> Outcome:
        """``/review``: the first flagged visit waiting."""
        if r.person is None or r.person.role != Role.ADMIN:
            return r.refuse("ops.admins_only")
        return r.out(send=[self._card(r, after=0)])

    def press(self, r: Request, pressed: Pressed | None) -> Outcome:
        """``rv:<a|r|v|n>:<visit>``: accept, ask a reason to return or void, or show the next."""
        if r.person is None or r.person.role != Role.ADMIN:
            return r.refuse_button("ops.admins_only")
        button = _button(pressed)
        if button is None:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        word, visit_id = button
        if word == NEXT:
            return r.out(edit=self._card(r, after=visit_id))
        if word == LISTEN:
            return self._recordings(r, visit_id)
        if DECISIONS[word] == Decision.ACCEPTED:
            return self.decide(r, visit_id, Decision.ACCEPTED, "")
        visit = r.session.get(Visit, visit_id)
        if visit is None or visit.review_status != ReviewStatus.PENDING:
            return r.out(toast=r.t("ops.not_pending"), alert=True)
        await_text(
            r, PendingKind.REVIEW_REASON, {"visit_id": visit_id, "decision": DECISIONS[word]}
        )
        return r.out(edit=Reply(r.t("ops.type_reason", visit=visit_id)))

    def _recordings(self, r: Request, visit_id: int) -> Outcome:
        """The voice notes, audio files and video notes of the visit under review, to listen
        to; a visit not waiting for review (a shopper's draft, say) is nobody's to hear."""
        visit = r.session.get(Visit, visit_id)
        if visit is None or (visit.status, visit.review_status) != (
            VisitStatus.SUBMITTED,
            ReviewStatus.PENDING,
        ):
            return r.out(toast=r.t("ops.not_pending"), alert=True)
        found = [p for p in visit.photos if p.kind != AttachmentKind.PHOTO]
        if not found:
            return r.out(toast=r.t("ops.no_recordings"), alert=True)
        return r.out(media=[(str(p.kind), p.file_id) for p in found])

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
        setting = self.setting
        now = setting.clock.now()
        try:
            visit = integrity.decide(
                r.session, visit_id, decision, reason, r.person.id, setting.rules, now
            )
        except integrity.ReviewError as error:
            return r.out(toast=r.t(f"ops.{error.reason}"), alert=True)
        outcome = r.out(
            toast=r.t(f"ops.decided_{decision}", visit=visit_id),
            edit=self._card(r, after=visit_id),
        )
        shopper = visit.evaluator
        if decision != Decision.ACCEPTED and shopper.telegram_id is not None and shopper.active:
            st = translator_for(setting, shopper)
            deadline = (visit.resubmit_until or now).astimezone(setting.clock.zone)
            key = (
                "ops.returned_to_shopper"
                if decision == Decision.REJECTED
                else "ops.voided_to_shopper"
            )
            text = st(
                key,
                visit=visit_id,
                store=escape(visit.store.name),
                reason=escape(reason.strip()),
                until=f"{deadline:%d.%m.%Y %H:%M}",
            )
            outcome.notify.append((shopper.telegram_id, text))
        outcome.notify += critical_alerts(r.session, visit, setting)
        return outcome

    def _card(self, r: Request, after: int) -> Reply:
        t = r.t
        waiting = reviews.pending_reviews(r.session)
        pending = [v for v in waiting if v.id > after] or waiting
        if not pending:
            return Reply(t("ops.nothing_to_review"))
        visit = pending[0]
        flags = reviews.flags_of(r.session, visit.id)
        checklist = definition(visit.checklist_version)
        lines = [
            t(
                "ops.review_card",
                visit=visit.id,
                store=escape(visit.store.name),
                checklist=escape(checklist.title.get(t.language)),
                shopper=visit.evaluator.pseudonym,
                score=percent(visit.score, t),
                count=len(waiting),
            ),
            "",
            *(f"⚑ {t('flag.' + f.kind)}: {escape(_facts(f, checklist, t))}" for f in flags),
        ]
        buttons: tuple[tuple[Button, ...], ...] = (
            (
                (t("ops.accept"), encode(Op.DECIDE, "a", visit.id)),
                (t("ops.reject"), encode(Op.DECIDE, "r", visit.id)),
            ),
            (
                (t("ops.void"), encode(Op.DECIDE, "v", visit.id)),
                (t("button.next"), encode(Op.DECIDE, NEXT, visit.id)),
            ),
        )
        if any(p.kind != AttachmentKind.PHOTO for p in visit.photos):
            buttons += (((t("ops.listen"), encode(Op.DECIDE, LISTEN, visit.id)),),)
        return Reply("\n".join(lines), buttons)


def _button(pressed: Pressed | None) -> tuple[str, int] | None:
    """The decision word and the visit of a review button, or None if forged."""
    if pressed is None or pressed.op != Op.DECIDE:
        return None
    word, visit_id = pressed.fields
    if not isinstance(word, str) or not isinstance(visit_id, int):
        return None
    return (word, visit_id) if word in (*DECISIONS, NEXT, LISTEN) and visit_id >= 0 else None


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
