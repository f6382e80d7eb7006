"""A shopper inside a visit: starting one, every answer, comment, photo and check-in, and
submitting it (the store managers' cards follow)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from bot.callbacks import Op, Pressed, Route, encode
from bot.i18n import Translator
from bot.service import drafts
from bot.service.base import VISIT_ROLES, Request, Setting, translator_in
from bot.service.outcome import Outcome, Reply, Rows
from bot.service.pickers import Pickers, Picking, Start
from bot.service.screens import percent, render, submitted
from checklists.answers import AnswerRejected
from checklists.schema import Channel, Item
from storage import visits
from storage.checklist_versions import definition
from storage.meter import Stopwatch
from storage.models import AttachmentKind, Awaiting, ReviewStatus, Visit, VisitStatus
from storage.people import TelegramIdentity
from storage.quick_drafts import Asker, NotQuick, QuickDraft
from storage.quick_pickers import QuickShelf
from visits.flow import MAX_COMMENT, MAX_DESCRIPTION, FlowError, VisitFlow
from visits.submission import submit_visit

log = logging.getLogger(__name__)
HISTORY = 10
"""Visits ``/visits`` lists."""

Action = Callable[[Request, VisitFlow | None], Outcome]


@dataclass
class Visiting:
    setting: Setting
    pickers: Pickers

    def _as_evaluator(self, r: Request, act: Action) -> Outcome:
        """Run ``act`` for a registered shopper with their draft.

        An update seen before (Telegram redelivers after a crash) only shows the current
        screen again: its effect was committed with its id.
        """
        refused = drafts.refusal(r)
        if refused is not None:
            return refused
        settled = drafts.settle(r, self.setting)
        draft = drafts.current(r, self.setting, settled=settled)
        if r.repeated(self.setting.clock):
            return r.out(send=[render(draft.screen(), r.t)] if draft else [])
        return act(r, draft)

    def new_visit(self, r: Request) -> Outcome:
        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            if draft is not None:
                return r.out(send=[_unfinished(draft, r.t)])
            return r.out(send=[self.pickers.store_page(self.pickers.picking(r), 0)])

        return self._as_evaluator(r, act)

    def resume(self, r: Request) -> Outcome:
        return self._with_draft(r, "visit.nothing_to_resume", VisitFlow.keep)

    def cancel(self, r: Request) -> Outcome:
        return self._with_draft(r, "visit.nothing_to_cancel", VisitFlow.ask_cancel)

    def _with_draft(self, r: Request, nothing: str, step: Callable[[VisitFlow], None]) -> Outcome:
        """Apply ``step`` to the shopper's draft and show it, or say there is none."""

        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            if draft is None:
                return r.out(send=[Reply(r.t(nothing), menu=True)])
            step(draft)
            return r.out(send=[render(draft.screen(), r.t)])

        return self._as_evaluator(r, act)

    def history(self, r: Request) -> Outcome:
        """``/visits``: the shopper's latest visits, with their score and where each stands."""

        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            assert r.person is not None
            found = visits.recent_of(r.session, r.person.id, HISTORY)
            if not found:
                return r.out(send=[Reply(r.t("visits.none"), menu=True)])
            lines = [r.t("visits.title", count=len(found))]
            lines += [self._history_line(r, visit) for visit in found]
            return r.out(send=[Reply("\n".join(lines), menu=True)])

        return self._as_evaluator(r, act)

    def _history_line(self, r: Request, visit: Visit) -> str:
        t, zone = r.t, self.setting.clock.zone
        when = (visit.submitted_at or visit.started_at).astimezone(zone)
        title = definition(visit.checklist_version).title.get(t.language)
        if visit.status == VisitStatus.VOIDED:
            status = t("visits.voided", reason=escape(visit.void_reason or ""))
        elif visit.status == VisitStatus.DRAFT:
            status = t("visits.draft")
        elif visit.review_status == ReviewStatus.REJECTED and visit.resubmit_until:
            until = visit.resubmit_until.astimezone(zone)
            status = t("visits.returned", until=f"{until:%d.%m %H:%M}")
        else:
            status = t(f"visits.{visit.review_status or 'counted'}")
        score = percent(visit.score, t) if visit.status != VisitStatus.DRAFT else "—"
        return t(
            "visits.line",
            visit=visit.id,
            date=f"{when:%d.%m}",
            store=escape(visit.store.name),
            checklist=escape(title),
            score=score,
            status=status,
        )

    def location(self, r: Request, latitude: float, longitude: float) -> Outcome:
        """A shared location: the check-in of an open visit, or nearby stores to start one."""

        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            assert r.person is not None
            now = self.setting.clock.now()
            r.person.last_latitude, r.person.last_longitude = latitude, longitude
            r.person.last_location_at = now
            if draft is not None:
                if draft.checklist.channel != Channel.STORE:
                    # A call or a chat is made from anywhere: its place means nothing.
                    unneeded = Reply(r.t("visit.checkin_not_needed"))
                    return r.out(send=[unneeded, render(draft.screen(), r.t)])
                draft.check_in(latitude, longitude, now)
                saved = Reply(r.t("visit.checkin_saved"))
                return r.out(send=[saved, render(draft.screen(), r.t)])
            return r.out(send=[self.pickers.nearest(r, latitude, longitude)])

        return self._as_evaluator(r, act)

    def text(self, r: Request, text: str) -> Outcome:
        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            if draft is None:
                return r.out(send=[Reply(r.t("visit.use_buttons_or_visit"), menu=True)])
            return typed(draft, text, r.t)

        return self._as_evaluator(r, act)

    def attachment(
        self,
        r: Request,
        kind: AttachmentKind,
        file_id: str,
        unique_id: str,
        caption: str = "",
        duration: int | None = None,
    ) -> Outcome:
        """A photo or a recording (a voice note, an audio file, a video note) for the
        question now asked, or the visit on the review; its caption becomes the question's
        comment."""
        caption = caption.replace("\x00", "")

        def act(r: Request, draft: VisitFlow | None) -> Outcome:
            if draft is None:
                return r.out(send=[Reply(r.t("visit.file_without_visit"), menu=True)])
            if draft.visit.awaiting not in (None, Awaiting.COMMENT):
                explanation = Reply(r.t("visit.file_not_now"))
                return r.out(send=[explanation, render(draft.screen(), r.t)])
            try:
                cut = draft.attach(kind, file_id, unique_id, caption, duration)
            except FlowError as error:
                explanation = Reply(r.t(f"error.{error.reason}", **error.params))
                return r.out(send=[explanation, render(draft.screen(), r.t)])
            notice = [Reply(r.t("visit.text_cut", max=MAX_COMMENT))] if cut else []
            return r.out(send=[*notice, render(draft.screen(), r.t)])

        return self._as_evaluator(r, act)

    def press(self, r: Request, data: str, pressed: Pressed | None) -> Outcome:
        """A button of the pickers or of a visit (``pressed`` is None when no button of the
        bot's sends ``data``)."""
        refused = drafts.refusal(r)
        if refused is not None:
            text = refused.send[0].text
            return r.out(toast=text, alert=True)
        assert r.person is not None
        settled = drafts.settle(r, self.setting)
        if r.repeated(self.setting.clock):
            draft = drafts.current(r, self.setting, settled=settled)
            return r.out(edit=render(draft.screen(), r.t) if draft else None)
        if pressed is None:
            log.warning("forged or unknown callback data %r from %s", data, r.who.telegram_id)
            return drafts.refuse(r, self.setting, "error.bad_button")
        if pressed.route == Route.PICKER:
            return self.pickers.press(r, pressed)
        return self._visit_action(r, pressed, settled)

    def _visit_action(self, r: Request, pressed: Pressed, settled: list[Visit]) -> Outcome:
        assert r.person is not None
        visit_id, index, *args = pressed.numbers()
        draft = drafts.current(r, self.setting, visit_id, settled)
        if draft is None:
            visit = r.session.get(Visit, visit_id)
            mine = visit is not None and visit.evaluator_id == r.person.id
            if not mine:
                log.warning(
                    "button for visit %s pressed by %s, who does not own it",
                    visit_id,
                    r.person.id,
                )
            reason = "error.visit_finished" if mine else "error.bad_button"
            return drafts.refuse(r, self.setting, reason)
        try:
            return self._apply(r, draft, pressed.op, index, args)
        except AnswerRejected as rejected:
            return drafts.refuse(r, self.setting, f"reject.{rejected.reason}", **rejected.params)
        except FlowError as error:
            return drafts.refuse(r, self.setting, f"error.{error.reason}", **error.params)

    def _apply(self, r: Request, draft: VisitFlow, op: Op, index: int, args: list[int]) -> Outcome:
        match op:
            case Op.CHANGE_EMPLOYEE:
                return r.out(edit=self.pickers.change_employee(r, draft, index))
            case Op.SUBMIT:
                return self._submit(r, draft)
            case Op.CANCEL_CONFIRMED:
                draft.cancel()
                return r.out(edit=Reply(r.t("visit.cancelled"), menu=True))
        stepped = step(draft, op, index, args, r.t)
        return r.out(toast=stepped.toast, edit=render(draft.screen(), r.t, hint=stepped.hint))

    def quick_press(
        self, who: TelegramIdentity, pressed: Pressed, update_id: int, *, wait: bool = True
    ) -> Outcome | None:
        """A press that only moves the shopper's draft on (``QUICK_OPS``), by the quick path
        (``storage.quick_drafts``); None when it needs the full path — a stranger, a
        repeated update, a refusal, a draft to settle — and then nothing was changed.
        ``wait=False``: ``WouldWait`` rather than wait for another writer
        (``Database.write_driver``)."""
        if pressed.op not in QUICK_OPS:
            return None
        visit_id, index, *args = pressed.numbers()

        def act(draft: VisitFlow, t: Translator, asker: Asker) -> Outcome:
            try:
                stepped = step(draft, pressed.op, index, args, t)
            except (AnswerRejected, FlowError) as refused:
                raise NotQuick("a refusal, which the full path words") from refused
            edit = render(draft.screen(), t, hint=stepped.hint)
            return Outcome(language=t.language, toast=stepped.toast, edit=edit)

        return self._quick_draft(who, update_id, visit_id, act, wait)

    def quick_text(
        self, who: TelegramIdentity, text: str, update_id: int, *, wait: bool = True
    ) -> Outcome | None:
        """Typed text inside the shopper's draft (an answer, a comment, the employee's
        description) by the quick path; None as from ``quick_press``."""

        def act(draft: VisitFlow, t: Translator, asker: Asker) -> Outcome:
            if asker.awaited:
                raise NotQuick("the text answers what was asked outside the visit")
            return typed(draft, text, t)

        return self._quick_draft(who, update_id, None, act, wait)

    def quick_pick(
        self,
        who: TelegramIdentity,
        pressed: Pressed | None,
        update_id: int | None,
        *,
        wait: bool = True,
    ) -> Outcome | None:
        """``/visit`` (``pressed`` None: the first page of stores) or a picker's press by a
        shopper with no draft, by the quick path (``storage.quick_pickers``); None when it
        needs the full path — a draft or a returned visit to look at first, a refusal — and
        then nothing was changed. The last choice starts the visit and shows its first
        screen. A page is built among its reads, so the meter counts all but the first
        screen as the database's."""

        def act(connection: Any, work: Stopwatch) -> Outcome:
            shelf = QuickShelf(connection, self.setting.database.engine.dialect)
            person = shelf.load(who.telegram_id, update_id, self.setting.clock.now(), VISIT_ROLES)
            p = Picking(translator_in(self.setting, person.language), person.id, shelf)
            if pressed is None:
                return Outcome(language=p.t.language, send=[self.pickers.store_page(p, 0)])
            match self.pickers.pick(p, pressed):
                case Reply() as page:
                    return Outcome(language=p.t.language, edit=page)
                case Start(store, version, employee):
                    records = QuickDraft(connection, self.setting.database.engine.dialect)
                    flow = self.pickers.start(records, person, store, version, employee)
                    with work:
                        screen = render(flow.screen(), p.t)
                    records.save(flow.visit)
                    return Outcome(language=p.t.language, edit=screen)
            raise NotQuick("a refusal, which the full path words")

        return self._quick(act, wait)

    def _quick_draft(
        self,
        who: TelegramIdentity,
        update_id: int,
        visit_id: int | None,
        act: Callable[[VisitFlow, Translator, Asker], Outcome],
        wait: bool,
    ) -> Outcome | None:
        """``act`` on the shopper's draft by the quick path (``storage.quick_drafts``)."""

        def on_draft(connection: Any, work: Stopwatch) -> Outcome:
            quick = QuickDraft(connection, self.setting.database.engine.dialect)
            asker, visit = quick.load(
                who.telegram_id, update_id, visit_id, self.setting.clock.now(), VISIT_ROLES
            )
            with work:
                t = translator_in(self.setting, asker.language)
                outcome = act(VisitFlow(quick, visit, self.setting.clock), t, asker)
            quick.save(visit)
            return outcome

        return self._quick(on_draft, wait)

    def _quick(self, act: Callable[[Any, Stopwatch], Outcome], wait: bool) -> Outcome | None:
        """``act`` in one transaction on the driver's connection, or None (nothing done) if
        it raised ``NotQuick``. Its CPU, less what it timed as ``work`` (the flow's and the
        screens'), goes to the meter as the database's."""
        database, clock = self.setting.database, time.thread_time
        began, work = clock(), Stopwatch()
        try:
            with database.write_driver(wait=wait) as connection:
                outcome = act(connection, work)
        except NotQuick:
            database.cpu.add(database.cpu.full, clock() - began, count=False)
            return None
        database.cpu.add(database.cpu.quick, clock() - began - work.seconds)
        return outcome

    def _submit(self, r: Request, draft: VisitFlow) -> Outcome:
        if draft.visit.current_item is not None or draft.visit.awaiting is not None:
            raise FlowError("stale")
        screen = draft.review_screen()  # what is missing, and the score
        if screen.missing:
            raise FlowError("missing_answers", count=len(screen.missing))
        scored, setting = screen.result, self.setting
        assert scored is not None  # a review screen holds the score
        submission = submit_visit(
            r.session, draft.visit.id, setting.rules, setting.clock, scored=scored
        )
        result = submission.score if submission is not None else scored
        reply = submitted(screen, result, r.t)
        if submission is not None and submission.flags:
            reply = Reply(reply.text + "\n\n" + r.t("done.review_pending"), menu=reply.menu)
        return r.out(edit=reply, outbox_due=True)


QUICK_OPS = frozenset(
    {
        Op.ANSWER,
        Op.NOT_APPLICABLE,
        Op.SKIP,
        Op.BACK,
        Op.KEEP_ANSWER,
        Op.HINT,
        Op.TIMER_START,
        Op.TIMER_STOP,
        Op.COMMENT,
        Op.RESUME,
        Op.KEEP,
        Op.TOGGLE,
        Op.DONE,
        Op.REVIEW,
        Op.EDIT,
        Op.CANCEL,
    }
)
"""The presses that change nothing but the draft's place and its answers: ``step``'s."""


@dataclass(frozen=True)
class Stepped:
    toast: str | None = None
    hint: bool = False
    """Show the question with its hint open."""


def step(draft: VisitFlow, op: Op, index: int, args: list[int], t: Translator) -> Stepped:
    """One of ``QUICK_OPS`` applied to the draft; ``FlowError`` or ``AnswerRejected`` when
    it does not fit the draft as it stands."""
    match op:
        case Op.ANSWER:
            item = draft.check_current(index)
            draft.answer(item, item.kind.button_value(item, args[0]))
        case Op.NOT_APPLICABLE:
            draft.not_applicable(draft.check_current(index))
        case Op.SKIP:
            draft.skip(draft.check_current(index))
        case Op.BACK:
            if index >= 0:
                draft.check_current(index)
            elif draft.visit.current_item is not None:
                raise FlowError("stale")
            draft.back()
        case Op.KEEP_ANSWER:
            draft.keep_answer(draft.check_current(index))
        case Op.HINT:
            draft.check_current(index)
            return Stepped(hint=True)
        case Op.TIMER_START:
            draft.start_timer(draft.check_current(index))
        case Op.TIMER_STOP:
            seconds = draft.stop_timer(draft.check_current(index))
            return Stepped(toast=t("visit.timer_stopped", seconds=seconds))
        case Op.COMMENT:
            draft.ask_comment(draft.check_current(index))
        case Op.RESUME | Op.KEEP:
            draft.keep()
        case Op.TOGGLE:
            draft.toggle(draft.check_current(index), args[0])
        case Op.DONE:
            draft.done(draft.check_current(index))
        case Op.REVIEW:
            draft.check_current(index)
            draft.review()
        case Op.EDIT:
            draft.edit(index)
        case Op.CANCEL:
            draft.ask_cancel()
        case _:
            raise FlowError("bad_button")
    return Stepped()


def typed(draft: VisitFlow, text: str, t: Translator) -> Outcome:
    """Typed text in a draft: the employee's description, a comment, or the answer to the
    question asked; what does not fit is explained, with the question again."""
    out = functools.partial(Outcome, language=t.language)
    try:
        cut = 0
        if draft.visit.awaiting == Awaiting.DESCRIPTION:
            cut = MAX_DESCRIPTION if draft.describe_employee(text) else 0
        elif draft.visit.awaiting == Awaiting.COMMENT:
            cut = MAX_COMMENT if draft.comment(text) else 0
        elif draft.visit.awaiting == Awaiting.CANCEL or draft.visit.current_item is None:
            return out(send=[Reply(t("visit.use_buttons")), render(draft.screen(), t)])
        else:
            item = draft.checklist.item(draft.visit.current_item)
            if not item.kind.typed:
                return out(send=[Reply(t("visit.use_buttons")), render(draft.screen(), t)])
            cut = _answer_typed(draft, item, text)
    except AnswerRejected as rejected:
        explanation = t(f"reject.{rejected.reason}", **rejected.params)
    except FlowError as error:
        explanation = t(f"error.{error.reason}", **error.params)
    else:
        notice = [Reply(t("visit.text_cut", max=cut))] if cut else []
        return out(send=[*notice, render(draft.screen(), t)])
    return out(send=[Reply(explanation), render(draft.screen(), t)])


def _unfinished(draft: VisitFlow, t: Translator) -> Reply:
    visit = draft.visit
    buttons: Rows = (
        (
            (t("button.resume"), encode(Op.RESUME, visit.id, -1)),
            (t("button.cancel_visit"), encode(Op.CANCEL, visit.id, -1)),
        ),
    )
    return Reply(t("visit.unfinished", store=escape(visit.store.name)), buttons)


def _answer_typed(draft: VisitFlow, item: Item, text: str) -> int:
    """Answer with typed text; text over the item's limit is kept up to it. The limit when
    it was cut, else 0."""
    try:
        draft.answer(item, text)
    except AnswerRejected as rejected:
        limit = rejected.params.get("max")
        if rejected.reason != "text_too_long" or not isinstance(limit, int):
            raise
        draft.answer(item, text.strip()[:limit].rstrip())
        return limit
    return 0
